package dev.herd.runtime.fs;

import dev.herd.host.HostFd;

import dev.herd.host.HostSyscall;

import dev.herd.host.Errno;
import dev.herd.host.HostKernel;
import dev.herd.runtime.syscall.SyscallContext;
import dev.herd.runtime.syscall.SyscallTable;

/**
 * epoll_create, epoll_create1, epoll_ctl, epoll_wait, epoll_pwait, epoll_pwait2 on a host epoll
 * instance.
 *
 * <p>The interest list holds host fds, which is what the kernel needs; the guest never sees fd
 * numbers in results, only its own {@code epoll_data}, which passes through untouched. x86_64's
 * {@code struct epoll_event} is packed (12 bytes) on guest and host alike, so event arrays are used
 * in place. Closing a guest fd closes its host fd, which leaves the interest list as in Linux (when
 * no duplicate keeps the file open). The temporary masks of epoll_pwait/epoll_pwait2 are in force
 * during the wait, like ppoll's.
 */
final class EpollSyscalls {
    private EpollSyscalls() {}

    private static final int EPOLL_CLOEXEC = 02000000;
    private static final int EPOLL_CTL_ADD = 1, EPOLL_CTL_DEL = 2, EPOLL_CTL_MOD = 3;
    /** The host's (x86_64, packed) struct epoll_event; a guest's may differ (GuestAbi.epollDataOffset). */
    private static final int EVENT_SIZE = 12;
    /** Events one wait of a converting guest collects at most (epoll_wait may return fewer than are ready). */
    private static final int CONVERTED_WAIT_MAX = 1024;
    /** fs/eventpoll.c: EP_MAX_EVENTS = INT_MAX / sizeof(struct epoll_event). */

    private static final int SIGSET_SIZE = 8;

    static void register(SyscallTable t) {
        t.define("epoll_create", "int", (ctx, size, b, c, d, e, f) -> {
            if ((int) size <= 0) return -Errno.EINVAL;
            return create(ctx, 0);
        });
        t.define("epoll_create1", "hex", (ctx, flags, b, c, d, e, f) -> {
            if ((flags & ~EPOLL_CLOEXEC) != 0) return -Errno.EINVAL;
            return create(ctx, (int) flags);
        });
        t.define("epoll_ctl", "fd int fd ptr", EpollSyscalls::ctl);
        t.define("epoll_wait", "fd ptr int int", (ctx, epfd, events, max, timeout, e, f) ->
                wait(ctx, epfd, events, max, msToTimespec((int) timeout), 0, 0));
        t.define("epoll_pwait", "fd ptr int int ptr size", (ctx, epfd, events, max, timeout, mask, size) ->
                wait(ctx, epfd, events, max, msToTimespec((int) timeout), mask, size));
        t.define("epoll_pwait2", "fd ptr int ptr ptr size", (ctx, epfd, events, max, tsp, mask, size) ->
                wait(ctx, epfd, events, max, Sys.timeout(ctx, tsp), mask, size));
        // Every host call of these runs on the side of its fds or the call's host (kernel proxy).
        t.forwardable("epoll_create", "epoll_create1", "epoll_ctl", "epoll_wait", "epoll_pwait", "epoll_pwait2");
    }

    private static long create(SyscallContext ctx, int flags) {
        long r = ctx.host().call(HostSyscall.EPOLL_CREATE1, EPOLL_CLOEXEC);
        return Sys.install(ctx, ctx.host(), r, (flags & EPOLL_CLOEXEC) != 0);
    }

    private static long ctl(SyscallContext ctx, long epfd, long op, long fd, long event, long e, long f) {
        // Linux copies the event in before looking at the fds or the op (except for DEL, where it
        // may be NULL).
        int dataOffset = ctx.process().arch().abi().epollDataOffset();
        byte[] guestEvent = (int) op != EPOLL_CTL_DEL ? ctx.memory().read(event, dataOffset + 8) : null;
        int hostEp = Sys.fd(ctx, epfd);
        int hostFd = Sys.sideOf(ctx, hostEp, Sys.fd(ctx, fd));
        if ((int) op != EPOLL_CTL_ADD && (int) op != EPOLL_CTL_DEL && (int) op != EPOLL_CTL_MOD) return -Errno.EINVAL;
        if (guestEvent == null || dataOffset == 4) {
            long ev = guestEvent == null ? 0 : Sys.in(ctx, event, EVENT_SIZE);
            return Sys.onFd(ctx, HostSyscall.EPOLL_CTL, hostEp, (int) op, HostFd.number(hostFd), ev);
        }
        Scratch s = Scratch.get();
        int m = s.mark();
        try {
            long ev = s.alloc(EVENT_SIZE);
            java.nio.ByteBuffer g = java.nio.ByteBuffer.wrap(guestEvent).order(java.nio.ByteOrder.LITTLE_ENDIAN);
            Scratch.putInt(ev, g.getInt(0));
            Scratch.putLong(ev + 4, g.getLong(dataOffset));
            return Sys.onFd(ctx, HostSyscall.EPOLL_CTL, hostEp, (int) op, HostFd.number(hostFd), ev);
        } finally {
            s.release(m);
        }
    }

    /** epoll_wait's milliseconds as {sec, nsec}; null (wait forever) for a negative timeout. */
    private static long[] msToTimespec(int ms) {
        return ms < 0 ? null : new long[]{ms / 1000, (ms % 1000) * 1_000_000L};
    }

    private static long wait(SyscallContext ctx, long epfd, long events, long maxArg, long[] timeout,
                             long maskPtr, long maskSize) {
        int max = (int) maxArg;
        int dataOffset = ctx.process().arch().abi().epollDataOffset(), guestSize = dataOffset + 8;
        if (max <= 0 || max > Integer.MAX_VALUE / guestSize) return -Errno.EINVAL; // EP_MAX_EVENTS
        int hostEp = Sys.fd(ctx, epfd);
        long out = Sys.out(ctx, events, (long) max * guestSize);
        java.util.function.LongSupplier waitOnce;
        if (dataOffset == 4) {
            waitOnce = () -> hostWait(ctx, hostEp, out, max, timeout);
        } else {
            waitOnce = () -> convertedWait(ctx, hostEp, events, Math.min(max, CONVERTED_WAIT_MAX), timeout, dataOffset);
        }
        if (maskPtr == 0) return waitOnce.getAsLong();
        if (maskSize != SIGSET_SIZE) return -Errno.EINVAL;
        long mask = ctx.memory().readLong(maskPtr);
        return ctx.process().delivery().withTemporaryMask(ctx, mask, waitOnce::getAsLong);
    }

    /** A wait into host-layout scratch memory, the events then rewritten in the guest's layout. */
    private static long convertedWait(SyscallContext ctx, int hostEp, long events, int max, long[] timeout, int dataOffset) {
        Scratch s = Scratch.get();
        int m = s.mark();
        try {
            long buf = s.alloc((long) max * EVENT_SIZE);
            long r = hostWait(ctx, hostEp, buf, max, timeout);
            if (r <= 0) return r;
            java.nio.ByteBuffer g = java.nio.ByteBuffer.allocate((int) r * (dataOffset + 8)).order(java.nio.ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < r; i++) {
                g.putInt(i * (dataOffset + 8), Scratch.getInt(buf + (long) i * EVENT_SIZE));
                g.putLong(i * (dataOffset + 8) + dataOffset, Scratch.getLong(buf + (long) i * EVENT_SIZE + 4));
            }
            ctx.memory().write(events, g.array());
            return r;
        } finally {
            s.release(m);
        }
    }

    private static long hostWait(SyscallContext ctx, int hostEp, long out, int max, long[] timeout) {
        Scratch s = Scratch.get();
        int m = s.mark();
        try {
            long ts = 0;
            if (timeout != null) {
                ts = s.alloc(16);
                Scratch.putLong(ts, timeout[0]);
                Scratch.putLong(ts + 8, timeout[1]);
            }
            // epoll_pwait2 with no mask: the host's own mask stays (Herd's threads block nothing the
            // guest cares about; guest masks are Herd's business).
            long r = Sys.onFd(ctx, HostSyscall.EPOLL_PWAIT2, hostEp, out, max, ts, 0, SIGSET_SIZE);
            if (r != -Errno.ENOSYS) return r;
            // A host kernel before 5.11: milliseconds, rounded up as the kernel rounds timeouts.
            long ms = timeout == null ? -1 : Math.min(Integer.MAX_VALUE, timeout[0] * 1000 + (timeout[1] + 999_999) / 1_000_000);
            return Sys.onFd(ctx, HostSyscall.EPOLL_PWAIT, hostEp, out, max, ms, 0, SIGSET_SIZE);
        } finally {
            s.release(m);
        }
    }
}
