package dev.herd.runtime.fs;

import dev.herd.host.Errno;
import dev.herd.host.HostKernel;
import dev.herd.host.HostSyscall;
import dev.herd.memory.Prot;
import dev.herd.runtime.syscall.SyscallContext;
import dev.herd.runtime.syscall.SyscallTable;

/**
 * File descriptors the kernel fills on its own: timerfd (expirations as counters) and inotify
 * (file-system events). Both are host objects behind guest fds; reads, polls and epoll go through
 * the ordinary fd paths. inotify paths are resolved inside {@code --rootfs} first and handed to
 * the host as the resolved file ({@code /proc/self/fd/N}), so a watch cannot name a host file
 * outside the root.
 */
final class NotificationFdSyscalls {
    private NotificationFdSyscalls() {}

    private static final int O_NONBLOCK = 04000, O_CLOEXEC = 02000000;
    private static final int ITIMERSPEC = 32;
    private static final long IN_DONT_FOLLOW = 0x02000000L;

    static void register(SyscallTable t) {
        t.passThrough("timerfd_create", "clockid hex", (ctx, clock, flags, c, d, e, f) -> {
            if ((flags & ~(O_NONBLOCK | O_CLOEXEC)) != 0) return -Errno.EINVAL;
            return Sys.install(ctx, ctx.host(), ctx.host().call(HostSyscall.TIMERFD_CREATE, clock, flags | O_CLOEXEC), (flags & O_CLOEXEC) != 0);
        });
        t.passThrough("timerfd_settime", "fd hex ptr ptr", (ctx, fd, flags, nw, old, e, f) -> {
            ctx.memory().read(nw, ITIMERSPEC); // Linux copies the new value in before the fd
            return Sys.onFd(ctx, HostSyscall.TIMERFD_SETTIME, Sys.fd(ctx, fd), flags,
                    ctx.memory().hostPointer(nw, ITIMERSPEC),
                    old == 0 ? 0 : ctx.memory().hostPointer(old, ITIMERSPEC));
        });
        t.passThrough("timerfd_gettime", "fd ptr", (ctx, fd, cur, c, d, e, f) ->
                Sys.onFd(ctx, HostSyscall.TIMERFD_GETTIME, Sys.fd(ctx, fd), ctx.memory().hostPointer(cur, ITIMERSPEC)));

        t.passThrough("inotify_init", "", (ctx, a, b, c, d, e, f) ->
                Sys.install(ctx, ctx.host(), ctx.host().call(HostSyscall.INOTIFY_INIT1, O_CLOEXEC), false));
        t.passThrough("inotify_init1", "hex", (ctx, flags, b, c, d, e, f) -> {
            if ((flags & ~(O_NONBLOCK | O_CLOEXEC)) != 0) return -Errno.EINVAL;
            return Sys.install(ctx, ctx.host(), ctx.host().call(HostSyscall.INOTIFY_INIT1, flags | O_CLOEXEC), (flags & O_CLOEXEC) != 0);
        });
        t.define("inotify_add_watch", "fd path hex", NotificationFdSyscalls::addWatch);
        t.passThrough("inotify_rm_watch", "fd int", (ctx, fd, wd, c, d, e, f) ->
                Sys.onFd(ctx, HostSyscall.INOTIFY_RM_WATCH, Sys.fd(ctx, fd), wd));
        // Every host call of these runs on the side of its fds or the call's host (kernel proxy).
        t.forwardable("timerfd_create", "timerfd_settime", "timerfd_gettime", "inotify_init", "inotify_init1", "inotify_rm_watch");
    }

    private static boolean isInotify(int hostFd) {
        try {
            return java.nio.file.Files.readSymbolicLink(java.nio.file.Path.of("/proc/self/fd/" + hostFd)).toString()
                    .equals("anon_inode:inotify");
        } catch (java.io.IOException | UnsupportedOperationException e) {
            return true; // let the host decide
        }
    }


    private static long addWatch(SyscallContext ctx, long fd, long pathPtr, long mask, long d, long e, long f) {
        // Linux's order: the mask (EINVAL), the fd (EBADF), then the path (EFAULT, ENOENT...)
        long all = 0xfffL | 0xe000L | 0x01000000L | 0x02000000L | 0x04000000L | 0x10000000L | 0x20000000L | 0x40000000L | 0x80000000L;
        if ((mask & all & 0xffffffffL) == 0) return -Errno.EINVAL;
        if ((mask & 0x20000000L) != 0 && (mask & 0x10000000L) != 0) return -Errno.EINVAL;
        int inotify = Sys.fd(ctx, fd);
        if (!isInotify(inotify)) return -Errno.EINVAL; // not an inotify fd: before the path
        boolean follow = (mask & IN_DONT_FOLLOW) == 0;
        try (PathResolver.Target target = PathSyscalls.target(ctx, PathResolver.AT_FDCWD, pathPtr, 0, follow)) {
            String hostPath = PathResolver.procFd(target.dirFd()) + (target.isEmptyName() ? "" : "/" + target.name());
            Scratch s = Scratch.get();
            int m = s.mark();
            try {
                return Sys.onFd(ctx, HostSyscall.INOTIFY_ADD_WATCH, inotify, s.cstr(hostPath), mask);
            } finally {
                s.release(m);
            }
        }
    }
}
