package dev.herd.runtime.signal;

import dev.herd.host.Errno;
import dev.herd.host.HostKernel;
import dev.herd.host.HostSyscall;
import dev.herd.runtime.fs.PathResolver;
import dev.herd.runtime.syscall.SyscallContext;
import dev.herd.runtime.syscall.SyscallTable;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Process file descriptors. The guest is a set of threads inside the JVM's process, so a pidfd for
 * the guest's own pid is the host's pidfd of the JVM (it becomes readable when the process ends,
 * which is when the guest ends); a pidfd for any other pid is the host's. Herd recognises the JVM's
 * pidfd (and the {@code /proc/PID} directory of the guest's main thread) as the guest itself, so
 * signals sent through it are delivered by Herd and pidfd_getfd on it duplicates a guest fd.
 */
final class Pidfds {
    private Pidfds() {}

    private static final long JVM_PID = ProcessHandle.current().pid();
    private static final int O_NONBLOCK = 04000, PIDFD_THREAD = 0200, O_CLOEXEC = 02000000;
    private static final Pattern PROC_PID_DIR = Pattern.compile("/proc/(\\d+)");
    private static final Pattern FDINFO_PID = Pattern.compile("(?m)^Pid:\\s*(-?\\d+)$");

    static void register(SyscallTable t) {
        t.define("pidfd_open", "int hex", (ctx, pid, flags, c, d, e, f) -> {
            if ((flags & ~(O_NONBLOCK | PIDFD_THREAD)) != 0) return -Errno.EINVAL;
            if (pid <= 0 || pid > Integer.MAX_VALUE) return -Errno.EINVAL;
            boolean self = pid == ctx.process().pid();
            long r = HostKernel.call(HostSyscall.PIDFD_OPEN, self ? JVM_PID : pid, self ? flags & ~PIDFD_THREAD : flags);
            if (r < 0) return r;
            return ctx.process().fds().install((int) r, true); // pidfds are always close-on-exec
        });
        t.define("pidfd_getfd", "fd int hex", (ctx, pidfd, targetFd, flags, d, e, f) -> {
            if (flags != 0) return -Errno.EINVAL;
            int host = ctx.process().fds().hostOrMinus1((int) pidfd);
            if (host < 0) return -Errno.EBADF;
            int pid = pidOf(ctx, host);
            if (pid < 0) return -Errno.EBADF;
            if (pid == ctx.process().pid()) {
                if (ctx.process().fds().hostOrMinus1((int) targetFd) < 0) return -Errno.EBADF;
                return ctx.process().fds().dupMin((int) targetFd, 0, true);
            }
            long r = HostKernel.call(HostSyscall.PIDFD_GETFD, host, targetFd, 0);
            if (r < 0) return r;
            return ctx.process().fds().install((int) r, true);
        });
    }

    /**
     * The guest pid a host fd names as a process: a pidfd (the JVM's pidfd is the guest's pid) or
     * a {@code /proc/PID} directory; -1 for any other fd.
     */
    static int pidOf(SyscallContext ctx, int hostFd) {
        String link = PathResolver.readlinkProcFd(hostFd);
        Matcher dir = PROC_PID_DIR.matcher(link);
        if (dir.matches()) return dir.group(1).length() > 9 ? -1 : Integer.parseInt(dir.group(1));
        if (!link.contains("pidfd")) return -1;
        try {
            Matcher m = FDINFO_PID.matcher(Files.readString(Path.of("/proc/self/fdinfo/" + hostFd)));
            if (!m.find()) return -1;
            long pid = Long.parseLong(m.group(1));
            if (pid <= 0) return -1; // the process has ended (-1) or is in another namespace (0)
            return pid == JVM_PID ? (int) ctx.process().pid() : (int) pid;
        } catch (IOException | NumberFormatException e) {
            return -1;
        }
    }
}
