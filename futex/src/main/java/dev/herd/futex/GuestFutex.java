package dev.herd.futex;

import dev.herd.host.Errno;
import dev.herd.host.HostKernel;
import dev.herd.host.HostSyscall;
import dev.herd.memory.GuestMemory;
import dev.herd.memory.Prot;

/**
 * A guest futex is the host futex at {@code hostBase + uaddr}: the guest's memory is host memory
 * shared by every engine, so the host kernel's futex hash, wait queues, PI chains and timeouts
 * work unchanged, and guest TIDs (host TIDs) keep FUTEX_LOCK_PI's owner words meaningful. The call
 * is made by the guest thread itself, so it blocks exactly that thread.
 *
 * <p>This class only translates pointers: which arguments are guest addresses depends on the op.
 */
public final class GuestFutex {
    private GuestFutex() {}

    public static final int FUTEX_WAIT = 0, FUTEX_WAKE = 1, FUTEX_FD = 2, FUTEX_REQUEUE = 3, FUTEX_CMP_REQUEUE = 4,
            FUTEX_WAKE_OP = 5, FUTEX_LOCK_PI = 6, FUTEX_UNLOCK_PI = 7, FUTEX_TRYLOCK_PI = 8, FUTEX_WAIT_BITSET = 9,
            FUTEX_WAKE_BITSET = 10, FUTEX_WAIT_REQUEUE_PI = 11, FUTEX_CMP_REQUEUE_PI = 12, FUTEX_LOCK_PI2 = 13;
    public static final int FUTEX_PRIVATE_FLAG = 128, FUTEX_CLOCK_REALTIME = 256;
    private static final int CMD_MASK = ~(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME);
    private static final long TIMESPEC = 16;

    /**
     * futex(2) for a guest: returns the host result or {@code -errno}.
     *
     * @param timeoutOrVal2 a guest {@code struct timespec *} for waiting ops, a plain count (val2)
     *                      for REQUEUE, CMP_REQUEUE, WAKE_OP and CMP_REQUEUE_PI
     */
    public static long futex(GuestMemory memory, long uaddr, int op, int val, long timeoutOrVal2, long uaddr2, int val3) {
        return futex(memory, uaddr, op, val, timeoutOrVal2, uaddr2, val3, 0, null);
    }

    /**
     * As {@link #futex(GuestMemory, long, int, int, long, long, int)} for a guest whose
     * CLOCK_REALTIME runs {@code realtimeShiftNanos} ahead of the host's: an absolute deadline on
     * that clock (WAIT_BITSET, LOCK_PI2 and WAIT_REQUEUE_PI with FUTEX_CLOCK_REALTIME, LOCK_PI
     * always) is moved back by the shift into {@code scratch} (16 bytes) before the host waits.
     */
    public static long futex(GuestMemory memory, long uaddr, int op, int val, long timeoutOrVal2, long uaddr2, int val3,
                             long realtimeShiftNanos, java.lang.foreign.MemorySegment scratch) {
        int cmd = op & CMD_MASK;
        // Pointers go to the host unchecked (GuestMemory#hostPointer: host protection mirrors the
        // guest's), so the host kernel checks op, alignment and addresses in Linux's order.
        long hostUaddr = memory.hostPointer(uaddr, 4);
        long arg4 = timeoutOrVal2;
        long hostUaddr2 = 0;
        switch (cmd) {
            case FUTEX_WAIT, FUTEX_WAIT_BITSET, FUTEX_LOCK_PI, FUTEX_LOCK_PI2 ->
                    arg4 = pointer(memory, timeoutOrVal2);
            case FUTEX_WAIT_REQUEUE_PI -> {
                arg4 = pointer(memory, timeoutOrVal2);
                hostUaddr2 = word(memory, uaddr2);
            }
            case FUTEX_REQUEUE, FUTEX_CMP_REQUEUE, FUTEX_WAKE_OP, FUTEX_CMP_REQUEUE_PI -> hostUaddr2 = word(memory, uaddr2);
            case FUTEX_WAKE, FUTEX_WAKE_BITSET, FUTEX_UNLOCK_PI, FUTEX_TRYLOCK_PI -> { }
            // FUTEX_FD (removed in 2.6.26) and unknown commands: the host answers (ENOSYS, EINVAL)
            default -> { }
        }
        if (realtimeShiftNanos != 0 && arg4 != 0 && absoluteRealtime(cmd, op)) {
            long sec = memory.readLong(timeoutOrVal2), nsec = memory.readLong(timeoutOrVal2 + 8);
            if (nsec >= 0 && nsec < NANOS && sec >= 0) { // invalid values stay the host's to reject
                long t = Math.max(0, sec * NANOS + nsec - realtimeShiftNanos);
                scratch.set(java.lang.foreign.ValueLayout.JAVA_LONG, 0, t / NANOS);
                scratch.set(java.lang.foreign.ValueLayout.JAVA_LONG, 8, t % NANOS);
                arg4 = scratch.address();
            }
        }
        return HostKernel.call(HostSyscall.FUTEX, hostUaddr, op, val, arg4, hostUaddr2, val3);
    }

    private static final long NANOS = 1_000_000_000L;

    private static boolean absoluteRealtime(int cmd, int op) {
        boolean realtimeFlag = (op & FUTEX_CLOCK_REALTIME) != 0;
        return switch (cmd) {
            case FUTEX_LOCK_PI -> true;
            case FUTEX_WAIT_BITSET, FUTEX_LOCK_PI2, FUTEX_WAIT_REQUEUE_PI -> realtimeFlag;
            default -> false;
        };
    }

    /** Wakes up to {@code count} waiters on the guest word at {@code uaddr} (thread exit's CLEARTID wake). */
    public static long wake(GuestMemory memory, long uaddr, int count) {
        return futex(memory, uaddr, FUTEX_WAKE, count, 0, 0, 0);
    }

    private static long pointer(GuestMemory memory, long timeout) {
        return timeout == 0 ? 0 : memory.hostPointer(timeout, TIMESPEC);
    }

    private static long word(GuestMemory memory, long uaddr2) {
        return memory.hostPointer(uaddr2, 4);
    }
}
