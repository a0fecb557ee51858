package dev.herd.signals;

import dev.herd.host.Errno;
import dev.herd.host.ErrnoException;

/**
 * One guest thread's signal state: its blocked mask and alternate signal stack.
 * Owned by the thread; other threads will only read the mask (volatile).
 */
public final class ThreadSignalState implements AltStack {
    public static final int SIG_BLOCK = 0, SIG_UNBLOCK = 1, SIG_SETMASK = 2;
    public static final int SS_ONSTACK = 1, SS_DISABLE = 2, SS_AUTODISARM = 1 << 31;

    private volatile long blocked;
    private final SignalQueue pending = new SignalQueue();

    /** Thread-directed pending signals (tgkill, faults, SIGEV_THREAD_ID); guarded by the process lock. */
    public SignalQueue pending() { return pending; }
    private long altStackBase;
    private long altStackSize;
    private int altStackFlags = SS_DISABLE;

    public long blocked() { return blocked; }

    /** rt_sigprocmask: applies {@code how} with {@code set} and returns the old mask. */
    public long changeMask(int how, long set) {
        long old = blocked;
        long next = switch (how) {
            case SIG_BLOCK -> old | set;
            case SIG_UNBLOCK -> old & ~set;
            case SIG_SETMASK -> set;
            default -> throw new ErrnoException(Errno.EINVAL);
        };
        blocked = next & ~Signals.UNBLOCKABLE;
        return old;
    }

    public void setBlocked(long mask) { blocked = mask & ~Signals.UNBLOCKABLE; }

    @Override public long altStackBase() { return altStackBase; }
    @Override public long altStackSize() { return altStackSize; }
    /** The flags sigaltstack reports (SS_DISABLE, or 0 / SS_AUTODISARM); SS_ONSTACK is computed by the caller. */
    @Override public int altStackFlags() { return altStackFlags; }

    @Override public void restoreAltStack(long base, long size, int flags) {
        altStackBase = base;
        altStackSize = size;
        altStackFlags = flags;
    }

    /** sigaltstack's set half: validates like Linux (EINVAL bad flags, ENOMEM too small). */
    public void setAltStack(long base, int flags, long size, long minSize) {
        int mode = flags & ~SS_AUTODISARM;
        if (mode != 0 && mode != SS_DISABLE && mode != SS_ONSTACK) throw new ErrnoException(Errno.EINVAL);
        if (mode == SS_DISABLE) {
            altStackBase = 0;
            altStackSize = 0;
            altStackFlags = SS_DISABLE;
            return;
        }
        if (size < minSize) throw new ErrnoException(Errno.ENOMEM);
        altStackBase = base;
        altStackSize = size;
        altStackFlags = flags & SS_AUTODISARM;
    }
}
