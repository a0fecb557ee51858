package dev.herd.runtime.process;

import dev.herd.host.Errno;
import dev.herd.host.HostKernel;
import dev.herd.host.HostSyscall;
import dev.herd.memory.GuestMemory;
import dev.herd.memory.Prot;
import dev.herd.runtime.syscall.SyscallContext;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import dev.herd.futex.GuestFutex;
import dev.herd.runtime.syscall.SyscallTable;

/** futex and friends, on the host kernel's own futexes (see {@link GuestFutex}). */
public final class FutexSyscalls {
    private FutexSyscalls() {}

    public static void register(SyscallTable t) {
        t.define("futex", "ptr hex int ptr ptr hex", (ctx, uaddr, op, val, timeout, uaddr2, val3) ->
                GuestFutex.futex(ctx.memory(), uaddr, (int) op, (int) val, timeout, uaddr2, (int) val3,
                        ctx.process().clock().realtimeOffsetNanos(), ctx.scratch()));
        t.define("futex_waitv", "ptr uint hex ptr clockid", FutexSyscalls::futexWaitv);
    }

    /** struct futex_waitv: u64 val, u64 uaddr, u32 flags, u32 reserved. */
    private static final int WAITV_ENTRY = 24, FUTEX_WAITV_MAX = 128, TIMESPEC = 16;
    private static final long NANOS = 1_000_000_000L;

    /**
     * futex_waitv (Linux 5.16): the host's call on a copy of the waiter vector whose guest
     * addresses are translated (a bad one is EFAULT, as the kernel's copy would be); an absolute
     * CLOCK_REALTIME timeout is moved into host terms like the other realtime deadlines.
     */
    private static long futexWaitv(SyscallContext ctx, long waiters, long countArg, long flags, long timeout, long clock, long f) {
        long count = countArg & 0xffffffffL; // an unsigned int: a negative long was an internal error
        if ((int) flags != 0 || waiters == 0 || count == 0 || count > FUTEX_WAITV_MAX) return -Errno.EINVAL;
        GuestMemory m = ctx.memory();
        // Linux (futex2_setup_timeout) takes the timeout before the waiters: the clock id
        // (EINVAL), the timespec (EFAULT), its range (EINVAL); only then the vector (EFAULT)
        long sec = 0, nsec = 0;
        if (timeout != 0) {
            if ((int) clock != 0 && (int) clock != 1) return -Errno.EINVAL; // CLOCK_REALTIME, CLOCK_MONOTONIC
            sec = m.readLong(timeout);
            nsec = m.readLong(timeout + 8);
            if (sec < 0 || nsec < 0 || nsec >= NANOS) return -Errno.EINVAL;
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment copy = arena.allocate(count * WAITV_ENTRY, 8);
            byte[] raw = m.read(waiters, (int) (count * WAITV_ENTRY));
            MemorySegment.copy(MemorySegment.ofArray(raw), 0, copy, 0, raw.length);
            for (int i = 0; i < count; i++) {
                long uaddr = copy.get(ValueLayout.JAVA_LONG, i * (long) WAITV_ENTRY + 8);
                copy.set(ValueLayout.JAVA_LONG, i * (long) WAITV_ENTRY + 8, m.hostPointer(uaddr, 4));
            }
            long ts = 0;
            if (timeout != 0) {
                MemorySegment t = arena.allocate(TIMESPEC, 8);
                long shift = GuestClock.isRealtime(clock) ? ctx.process().clock().realtimeOffsetNanos() : 0;
                if (shift != 0 && sec >= 0 && nsec >= 0 && nsec < NANOS) {
                    long host = Math.max(0, sec * NANOS + nsec - shift);
                    sec = host / NANOS;
                    nsec = host % NANOS;
                }
                t.set(ValueLayout.JAVA_LONG, 0, sec);
                t.set(ValueLayout.JAVA_LONG, 8, nsec);
                ts = t.address();
            }
            return HostKernel.call(HostSyscall.FUTEX_WAITV, copy.address(), count, 0, ts, clock);
        }
    }
}
