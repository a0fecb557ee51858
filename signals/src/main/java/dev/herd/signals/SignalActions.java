package dev.herd.signals;

import dev.herd.host.Errno;
import dev.herd.host.ErrnoException;

import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * The process-wide signal dispositions (shared by all threads, as with CLONE_SIGHAND).
 * Reads are lock-free; rt_sigaction's read-old-then-set is atomic per signal.
 */
public final class SignalActions {
    private final AtomicReferenceArray<SignalAction> actions = new AtomicReferenceArray<>(Signals.MAX + 1);

    public SignalActions() {
        for (int s = 1; s <= Signals.MAX; s++) actions.set(s, SignalAction.DEFAULT);
    }

    public SignalAction get(int sig) {
        if (!Signals.valid(sig)) throw new ErrnoException(Errno.EINVAL);
        return actions.get(sig);
    }

    /** rt_sigaction: installs {@code action} (non-null) and returns the previous one. */
    public SignalAction set(int sig, SignalAction action) {
        if (!Signals.valid(sig) || sig == Signals.SIGKILL || sig == Signals.SIGSTOP) throw new ErrnoException(Errno.EINVAL);
        SignalAction clean = new SignalAction(action.handler(), action.flags(), action.restorer(),
                action.mask() & ~Signals.UNBLOCKABLE);
        return actions.getAndSet(sig, clean);
    }
}
