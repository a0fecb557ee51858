package dev.herd.runtime.fs;

import dev.herd.host.Errno;
import dev.herd.host.ErrnoException;
import dev.herd.host.HostKernel;
import dev.herd.host.HostSyscall;
import dev.herd.runtime.syscall.SyscallContext;

import java.lang.foreign.Arena;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Opening the kernel's "magic links" as the guest means them. The host's versions describe the
 * JVM ({@code /proc/self/exe} is java, {@code /proc/self/fd/3} is a JVM fd) and openat2's
 * RESOLVE_IN_ROOT refuses to follow them anyway, so Herd answers them itself:
 * {@code /proc/self/exe} (and thread-self, own pid) opens the guest program; {@code /proc/self/fd/N},
 * {@code /dev/fd/N} and {@code /dev/stdin|stdout|stderr} reopen the file behind guest fd N, which is
 * what Linux does (a new open file description of the same file).
 */
final class ProcLinks {
    private ProcLinks() {}

    private static final Pattern FD_LINK = Pattern.compile("/(?:proc/(?:self|thread-self|\\d+)/fd|dev/fd)/(\\d+)");
    private static final int AT_FDCWD = -100, O_CLOEXEC = 0x80000, O_CREAT = 0x40, O_EXCL = 0x80;

    /** A host fd for a magic link, or -1 when {@code abs} (a normalised guest path) is not one. */
    static int open(SyscallContext ctx, String abs, int flags) {
        String target = hostTarget(ctx, abs);
        if (target == null) return -1;
        if ((flags & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL)) throw new ErrnoException(Errno.EEXIST);
        try (Arena arena = Arena.ofConfined()) {
            long r = HostKernel.call(HostSyscall.OPENAT, AT_FDCWD, arena.allocateFrom(target).address(),
                    (flags & ~O_CREAT) | O_CLOEXEC, 0);
            if (r < 0) throw new ErrnoException((int) -r);
            return (int) r;
        }
    }

    private static String hostTarget(SyscallContext ctx, String abs) {
        String n = abs.replaceAll("/+", "/");
        if (PathResolver.isOwnExe(n, ctx.process().pid())) return ctx.process().exePath();
        int guestFd = switch (n) {
            case "/dev/stdin" -> 0;
            case "/dev/stdout" -> 1;
            case "/dev/stderr" -> 2;
            default -> {
                Matcher m = FD_LINK.matcher(n);
                if (!m.matches()) yield -1;
                if (n.startsWith("/proc/") && !n.startsWith("/proc/self/") && !n.startsWith("/proc/thread-self/")
                        && !n.startsWith("/proc/" + ctx.process().pid() + "/")) yield -1;
                yield m.group(1).length() > 9 ? Integer.MAX_VALUE : Integer.parseInt(m.group(1));
            }
        };
        if (guestFd < 0) return null;
        if (guestFd == Integer.MAX_VALUE) throw new ErrnoException(Errno.ENOENT);
        int host = ctx.process().fds().hostOrMinus1(guestFd);
        if (host < 0) throw new ErrnoException(Errno.ENOENT);
        return PathResolver.procFd(host);
    }
}
