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
        ProcFiles.Own own = ProcFiles.names(abs.replaceAll("/+", "/"), ctx);
        if (own != null) return ProcFiles.open(ctx, own, flags);
        String dirLink = ownDirLink(abs.replaceAll("/+", "/"), ctx.process().pid());
        if (dirLink != null) {
            // The guest's root and cwd, resolved confined (the host's links name the JVM's).
            return ctx.process().paths().openIn(AT_FDCWD, dirLink.equals("root") ? "/" : ".", flags, 0);
        }
        String target = hostTarget(ctx, abs);
        if (target == null) target = standardDevice(ctx, abs.replaceAll("/+", "/"));
        if (target == null) return -1;
        if ((flags & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL)) throw new ErrnoException(Errno.EEXIST);
        try (Arena arena = Arena.ofConfined()) {
            long r = HostKernel.call(HostSyscall.OPENAT, AT_FDCWD, arena.allocateFrom(target).address(),
                    (flags & ~O_CREAT) | O_CLOEXEC, 0);
            if (r < 0) throw new ErrnoException((int) -r);
            return (int) r;
        }
    }

    /**
     * The target of a magic link as the guest's kernel would report it, or null when {@code abs}
     * is not one Herd answers: {@code /proc/self} (the guest pid), {@code /proc/thread-self}
     * ({@code PID/task/TID}), and {@code /proc/self/fd/N} (the file behind guest fd N, as the host
     * names it: a path, {@code pipe:[...]}, {@code socket:[...]}). {@code /proc/self/exe} is
     * answered by {@link PathResolver#readlink}.
     */
    static byte[] readlink(SyscallContext ctx, String abs) {
        String n = abs.replaceAll("/+", "/");
        long pid = ctx.process().pid();
        if (n.equals("/proc/self")) return Long.toString(pid).getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        if (n.equals("/proc/thread-self")) {
            return (pid + "/task/" + ctx.thread().tid()).getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        }
        if (n.startsWith("/dev/")) return null; // only the /proc spellings are answered here
        String own = ownDirLink(n, pid);
        if (own != null) {
            // Seen from the process itself: its root is "/", its cwd what getcwd says.
            return own.equals("root") ? new byte[]{'/'} : ctx.process().paths().getcwdBytes();
        }
        int host = hostFdOfLink(ctx, n);
        if (host == NOT_A_LINK) return null;
        String target = ctx.process().paths().guestNameOfHostPath(PathResolver.readlinkProcFd(host));
        return target.getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
    }

    private static final int NOT_A_LINK = -1;

    /**
     * Whether {@code abs} is one of the magic links Herd answers for the guest (its exe, fd, root
     * and cwd links, /dev/fd/N, /dev/std*), which RESOLVE_NO_MAGICLINKS refuses with ELOOP.
     */
    static boolean isMagic(SyscallContext ctx, String abs) {
        String n = abs.replaceAll("/+", "/");
        long pid = ctx.process().pid();
        if (PathResolver.isOwnExe(n, pid) || ownDirLink(n, pid) != null) return true;
        if (n.equals("/dev/stdin") || n.equals("/dev/stdout") || n.equals("/dev/stderr")) return true;
        Matcher m = FD_LINK.matcher(n);
        if (!m.matches()) return false;
        return !n.startsWith("/proc/") || n.startsWith("/proc/self/") || n.startsWith("/proc/thread-self/")
                || n.startsWith("/proc/" + pid + "/");
    }
    private static final Pattern DIR_LINK = Pattern.compile("/proc/(self|thread-self|\\d+)/(root|cwd)");

    /** "root" or "cwd" for the process's own /proc/PID/root and /proc/PID/cwd links, else null. */
    private static String ownDirLink(String n, long pid) {
        Matcher m = DIR_LINK.matcher(n);
        if (!m.matches()) return null;
        String who = m.group(1);
        if (!who.equals("self") && !who.equals("thread-self") && !who.equals(Long.toString(pid))) return null;
        return m.group(2);
    }

    /**
     * The host fd behind a guest fd link ({@code /proc/self/fd/N}, thread-self, the guest's own pid,
     * {@code /dev/fd/N}), NOT_A_LINK for any other path; ENOENT when N is not an open guest fd.
     */
    private static int hostFdOfLink(SyscallContext ctx, String n) {
        Matcher m = FD_LINK.matcher(n);
        if (!m.matches()) return NOT_A_LINK;
        if (n.startsWith("/proc/") && !n.startsWith("/proc/self/") && !n.startsWith("/proc/thread-self/")
                && !n.startsWith("/proc/" + ctx.process().pid() + "/")) {
            return NOT_A_LINK;
        }
        if (m.group(1).length() > 9) throw new ErrnoException(Errno.ENOENT);
        return hostFdOf(ctx, Integer.parseInt(m.group(1)));
    }

    private static int hostFdOf(SyscallContext ctx, int guestFd) {
        int host = ctx.process().fds().hostOrMinus1(guestFd);
        if (host < 0) throw new ErrnoException(Errno.ENOENT);
        return host;
    }

    /**
     * The devices every Linux process can count on (what container runtimes put in a fresh
     * /dev): when the guest's rootfs is not the host's and has no such file (a root file system
     * unpacked from packages has no device nodes), the host's device of that name. A rootfs that
     * has its own wins.
     */
    private static final java.util.Set<String> STANDARD_DEVICES =
            java.util.Set.of("/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty");

    private static String standardDevice(SyscallContext ctx, String n) {
        if (!STANDARD_DEVICES.contains(n)) return null;
        PathResolver paths = ctx.process().paths();
        if (paths.rootHostPath().equals("/")) return null;
        try {
            int fd = paths.openIn(AT_FDCWD, n, PathResolver.O_PATH, 0);
            HostKernel.call(HostSyscall.CLOSE, fd);
            return null; // the rootfs has it
        } catch (ErrnoException e) {
            return e.errno() == Errno.ENOENT ? n : null;
        }
    }

    private static String hostTarget(SyscallContext ctx, String abs) {
        String n = abs.replaceAll("/+", "/");
        if (PathResolver.isOwnExe(n, ctx.process().pid())) return ctx.process().exePath();
        int host = switch (n) {
            case "/dev/stdin" -> hostFdOf(ctx, 0);
            case "/dev/stdout" -> hostFdOf(ctx, 1);
            case "/dev/stderr" -> hostFdOf(ctx, 2);
            default -> hostFdOfLink(ctx, n);
        };
        if (host == NOT_A_LINK) return null;
        return PathResolver.procFd(host);
    }
}
