package dev.herd.runtime.fs;

import dev.herd.host.Errno;
import dev.herd.host.HostKernel;
import dev.herd.host.HostSyscall;
import dev.herd.memory.GuestMemory;
import dev.herd.memory.Prot;
import dev.herd.runtime.process.GuestClock;
import dev.herd.runtime.syscall.SyscallContext;
import dev.herd.runtime.syscall.SyscallTable;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * POSIX message queues: host queues (the kernel's mqueue file system, names global like the
 * host's) behind guest fds, pointers translated. mq_notify passes through for SIGEV_NONE and for
 * glibc's SIGEV_THREAD (a netlink socket, whose guest fd is translated, and a 32-byte cookie);
 * SIGEV_SIGNAL would have the host signal the JVM, not the guest, and is not provided (ENOSYS).
 * Absolute timeouts are on the guest's CLOCK_REALTIME ({@link GuestClock}).
 */
final class MessageQueueSyscalls {
    private MessageQueueSyscalls() {}

    private static final int O_CREAT = 0100, O_CLOEXEC = 02000000, MQ_ATTR = 64, SIGEVENT = 64, TIMESPEC = 16,
            NOTIFY_COOKIE_LEN = 32;
    private static final int SIGEV_SIGNAL = 0, SIGEV_NONE = 1, SIGEV_THREAD = 2;
    private static final long NANOS = 1_000_000_000L;

    static void register(SyscallTable t) {
        t.passThrough("mq_open", "str hex mode ptr", (ctx, name, oflag, mode, attr, e, f) -> {
            if (attr != 0) ctx.memory().read(attr, MQ_ATTR); // copied in first, O_CREAT or not
            Scratch s = Scratch.get();
            int m = s.mark();
            try {
                long hostAttr = (oflag & O_CREAT) != 0 && attr != 0 ? ctx.memory().hostPointer(attr, MQ_ATTR) : 0;
                long r = HostKernel.call(HostSyscall.MQ_OPEN, s.cstr(Sys.path(ctx, name)), oflag | O_CLOEXEC, mode, hostAttr);
                if (r < 0) return r;
                return Sys.fds(ctx).install((int) r, (oflag & O_CLOEXEC) != 0);
            } finally {
                s.release(m);
            }
        });
        t.passThrough("mq_unlink", "str", (ctx, name, b, c, d, e, f) -> {
            Scratch s = Scratch.get();
            int m = s.mark();
            try {
                return HostKernel.call(HostSyscall.MQ_UNLINK, s.cstr(Sys.path(ctx, name)));
            } finally {
                s.release(m);
            }
        });
        t.passThrough("mq_timedsend", "fd ptr size int ptr", (ctx, fd, msg, len, prio, timeout, f) ->
                withDeadline(ctx, timeout, ts -> HostKernel.call(HostSyscall.MQ_TIMEDSEND, Sys.fd(ctx, fd),
                        ctx.memory().hostPointer(msg, len), len, prio, ts)));
        t.passThrough("mq_timedreceive", "fd ptr size ptr ptr", (ctx, fd, msg, len, prio, timeout, f) ->
                withDeadline(ctx, timeout, ts -> HostKernel.call(HostSyscall.MQ_TIMEDRECEIVE, Sys.fd(ctx, fd),
                        ctx.memory().hostPointer(msg, len), len,
                        prio == 0 ? 0 : ctx.memory().hostPointer(prio, 4), ts)));
        t.passThrough("mq_getsetattr", "fd ptr ptr", (ctx, fd, nw, old, d, e, f) -> {
            if (nw != 0) ctx.memory().read(nw, MQ_ATTR); // the new attributes are copied in before the fd
            return HostKernel.call(HostSyscall.MQ_GETSETATTR, Sys.fd(ctx, fd),
                    nw == 0 ? 0 : ctx.memory().hostPointer(nw, MQ_ATTR),
                    old == 0 ? 0 : ctx.memory().hostPointer(old, MQ_ATTR));
        });
        t.passThrough("mq_notify", "fd ptr", MessageQueueSyscalls::notify);
    }

    interface HostCall {
        long call(long hostTimespec);
    }

    /** An absolute CLOCK_REALTIME deadline of the guest, moved into host terms (NULL: none). */
    private static long withDeadline(SyscallContext ctx, long timeout, HostCall call) {
        if (timeout == 0) return call.call(0);
        GuestMemory m = ctx.memory();
        m.read(timeout, (int) TIMESPEC); // Linux copies the timeout in before it looks at the fd
        long shift = ctx.process().clock().realtimeOffsetNanos();
        if (shift == 0) return call.call(m.hostPointer(timeout, TIMESPEC));
        long sec = m.readLong(timeout), nsec = m.readLong(timeout + 8);
        if (sec < 0 || nsec < 0 || nsec >= NANOS) return call.call(m.hostPointer(timeout, TIMESPEC));
        long host = Math.max(0, sec * NANOS + nsec - shift);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment ts = arena.allocate(TIMESPEC, 8);
            ts.set(ValueLayout.JAVA_LONG, 0, host / NANOS);
            ts.set(ValueLayout.JAVA_LONG, 8, host % NANOS);
            return call.call(ts.address());
        }
    }

    /** struct sigevent: sigev_value (8), sigev_signo (4), sigev_notify (4), ... (64 bytes). */
    private static long notify(SyscallContext ctx, long fd, long sevp, long c, long d, long e, long f) {
        if (sevp != 0) ctx.memory().read(sevp, SIGEVENT); // the sigevent is copied in before the fd
        int host = Sys.fd(ctx, fd);
        if (sevp == 0) return HostKernel.call(HostSyscall.MQ_NOTIFY, host, 0);
        GuestMemory m = ctx.memory();
        byte[] sev = m.read(sevp, SIGEVENT);
        MemorySegment given = MemorySegment.ofArray(sev);
        int notify = given.get(ValueLayout.JAVA_INT_UNALIGNED, 12);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment copy = arena.allocate(SIGEVENT, 8);
            MemorySegment.copy(given, 0, copy, 0, SIGEVENT);
            switch (notify) {
                case SIGEV_NONE -> { }
                case SIGEV_THREAD -> {
                    // glibc: sigev_signo is a netlink socket, sigev_value the cookie it receives
                    copy.set(ValueLayout.JAVA_INT, 8, Sys.fd(ctx, given.get(ValueLayout.JAVA_INT_UNALIGNED, 8)));
                    long cookie = given.get(ValueLayout.JAVA_LONG_UNALIGNED, 0);
                    copy.set(ValueLayout.JAVA_LONG, 0, m.hostPointer(cookie, NOTIFY_COOKIE_LEN));
                }
                case SIGEV_SIGNAL -> { return -Errno.ENOSYS; }
                default -> { return -Errno.EINVAL; }
            }
            return HostKernel.call(HostSyscall.MQ_NOTIFY, host, copy.address());
        }
    }
}
