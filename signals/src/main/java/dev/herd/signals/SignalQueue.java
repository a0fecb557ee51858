package dev.herd.signals;

import java.util.ArrayDeque;

/**
 * One pending set (a thread's, or the process's shared one): standard signals coalesce (a second
 * instance while one is pending is dropped, keeping the first siginfo), real-time signals queue
 * every instance with its value, in FIFO order per signal. Guarded by the owning
 * {@link ProcessSignals#lock()}; not thread-safe on its own.
 */
public final class SignalQueue {
    /** The signals whose default action comes from the CPU: the kernel dequeues these first. */
    private static final long SYNCHRONOUS = Signals.bit(Signals.SIGSEGV) | Signals.bit(Signals.SIGBUS)
            | Signals.bit(Signals.SIGILL) | Signals.bit(Signals.SIGTRAP) | Signals.bit(Signals.SIGFPE)
            | Signals.bit(Signals.SIGSYS);

    private long pending;
    private final SigInfo[] standard = new SigInfo[Signals.SIGRTMIN];
    @SuppressWarnings("unchecked")
    private final ArrayDeque<SigInfo>[] realtime = new ArrayDeque[Signals.MAX + 1];

    /** Pending signals as a sigset bitmask. */
    public long pending() { return pending; }

    /** Queues {@code info}; false when a standard signal was already pending (coalesced). */
    public boolean enqueue(SigInfo info) {
        int sig = info.signo();
        long bit = Signals.bit(sig);
        if (sig < Signals.SIGRTMIN) {
            if ((pending & bit) != 0) return false;
            standard[sig] = info;
        } else {
            if (realtime[sig] == null) realtime[sig] = new ArrayDeque<>();
            realtime[sig].addLast(info);
        }
        pending |= bit;
        return true;
    }

    /** The signal the kernel would dequeue next among those not in {@code blocked}, or 0. */
    public int next(long blocked) {
        long ready = pending & ~blocked;
        if (ready == 0) return 0;
        long sync = ready & SYNCHRONOUS;
        return Long.numberOfTrailingZeros(sync != 0 ? sync : ready) + 1;
    }

    /** Removes one instance of {@code sig} (which must be pending) and returns its siginfo. */
    public SigInfo dequeue(int sig) {
        long bit = Signals.bit(sig);
        if ((pending & bit) == 0) return null;
        if (sig < Signals.SIGRTMIN) {
            SigInfo info = standard[sig];
            standard[sig] = null;
            pending &= ~bit;
            return info;
        }
        SigInfo info = realtime[sig].pollFirst();
        if (realtime[sig].isEmpty()) pending &= ~bit;
        return info;
    }

    /**
     * Drops every pending instance of {@code sig} (the signal became ignored).
     *
     * @param dropped told of each instance dropped (a timer's instance frees its timer to send again)
     */
    public void discard(int sig, java.util.function.Consumer<SigInfo> dropped) {
        for (SigInfo info; (info = dequeue(sig)) != null; ) dropped.accept(info);
    }

    /** How many real-time instances are queued (for RLIMIT_SIGPENDING). */
    public int queuedRealtime() {
        int n = 0;
        for (ArrayDeque<SigInfo> q : realtime) if (q != null) n += q.size();
        return n;
    }
}
