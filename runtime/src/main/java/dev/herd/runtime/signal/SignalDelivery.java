package dev.herd.runtime.signal;

import dev.herd.host.Errno;
import dev.herd.host.ErrnoException;
import dev.herd.runtime.process.GuestProcess;
import dev.herd.runtime.process.ProcessExit;
import dev.herd.runtime.syscall.SyscallContext;
import dev.herd.signals.ProcessSignals;
import dev.herd.signals.SigInfo;
import dev.herd.signals.SignalAction;
import dev.herd.signals.SignalFrames;
import dev.herd.signals.SignalQueue;
import dev.herd.signals.Signals;
import dev.herd.signals.ThreadSignalState;
import dev.herd.threads.GuestThread;

import java.io.PrintStream;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Linux signal semantics for one process: sending (queueing on the process or a thread and
 * waking a thread that can take it), and delivery at a thread's safe point (default actions,
 * handler frames, the restart or EINTR of an interrupted syscall, rt_sigreturn), following
 * kernel/signal.c and arch/x86/kernel/signal.c.
 *
 * <p>All pending sets of the process are guarded by {@link ProcessSignals#lock()}. Delivery runs
 * on the receiving thread with its engine stopped.
 */
public final class SignalDelivery {
    private static final int MAX_FRAMES_PER_SAFE_POINT = 64;

    private final GuestProcess process;
    private final SignalFrames frames;
    /** restart_syscall's number: what an ERESTART_RESTARTBLOCK restart re-executes. */
    private final long nrRestartSyscall;
    private final PrintStream diagnostics;
    private final AtomicBoolean stopWarned = new AtomicBoolean();
    private final AtomicBoolean reported = new AtomicBoolean();
    private final SignalFds signalFds;

    public SignalDelivery(GuestProcess process, SignalFrames frames, PrintStream diagnostics) {
        this.process = process;
        this.frames = frames;
        this.nrRestartSyscall = process.arch().numbering().number("restart_syscall");
        this.diagnostics = diagnostics;
        this.signalFds = new SignalFds(process, this);
    }

    /** The process's signalfds (their readiness follows every pending set here). */
    public SignalFds signalFds() { return signalFds; }

    private static SyscallContext ctx(GuestThread t) { return (SyscallContext) t.kernelState(); }

    // ------------------------------------------------------------------ sending

    /**
     * Sends {@code info} to one thread ({@code target} non-null: tgkill, faults) or to the process
     * (null: kill, sigqueue). Returns 0 or -EAGAIN (real-time queue limit).
     */
    public long send(GuestThread target, SigInfo info) {
        long r = post(target, info);
        return r < 0 ? r : 0;
    }

    /**
     * Like {@link #send} but tells whether {@code info} itself went into a pending set: 1 queued,
     * 0 not (discarded as ignored, coalesced with a pending standard signal, or SIGKILL), or
     * -EAGAIN. A POSIX timer needs to know whether its one instance is pending.
     */
    long post(GuestThread target, SigInfo info) {
        int sig = info.signo();
        if (sig == 0) return 0;
        if (sig == Signals.SIGKILL) {
            process.exitGroup(ProcessExit.killed(Signals.SIGKILL));
            return 0;
        }
        ProcessSignals ps = process.signals();
        ps.lock().lock();
        try {
            discardOpposites(sig);
            SignalAction action = ps.actions().get(sig);
            if (ignored(sig, action) && (target == null || (ctx(target).signals().blocked() & Signals.bit(sig)) == 0)) {
                return 0; // an ignored, unblocked signal is discarded at once, as in the kernel
            }
            SignalQueue queue = target != null ? ctx(target).signals().pending() : ps.shared();
            if (sig >= Signals.SIGRTMIN && queue.queuedRealtime() >= realtimeLimit()) return -Errno.EAGAIN;
            boolean queued = queue.enqueue(info);
            if (queued) signalFds.changedLocked(sig);
            GuestThread wake = target != null ? target : chooseThread(sig);
            if (wake != null && (ctx(wake).signals().blocked() & Signals.bit(sig)) == 0) wake.requestSafePoint();
            return queued ? 1 : 0;
        } finally {
            ps.lock().unlock();
        }
    }

    /** After a thread's mask changed: if something became deliverable, come to the safe point. */
    public void recheck(SyscallContext ctx) {
        ProcessSignals ps = process.signals();
        ps.lock().lock();
        try {
            long blocked = ctx.signals().blocked();
            if (ctx.signals().pending().next(blocked) != 0 || ps.shared().next(blocked) != 0) {
                ctx.thread().requestSafePoint();
            }
        } finally {
            ps.lock().unlock();
        }
    }

    /**
     * Runs a wait with a temporary signal mask (ppoll, pselect6, epoll_pwait), as the kernel does:
     * the mask is in force during the wait; if the wait is interrupted the original mask comes back
     * only after the handler's frame has saved it (so the handler runs under the temporary mask),
     * otherwise at once.
     */
    public long withTemporaryMask(SyscallContext ctx, long mask, java.util.function.LongSupplier wait) {
        ThreadSignalState state = ctx.signals();
        long old = state.blocked();
        state.setBlocked(mask);
        long r = hasDeliverable(ctx, state.blocked()) ? -Errno.EINTR : wait.getAsLong();
        if (r == -Errno.EINTR) ctx.saveSigmaskForRestore(old);
        else state.setBlocked(old);
        return r;
    }

    /** Pending signals of the thread and the process (rt_sigpending). */
    public long pendingSet(SyscallContext ctx) {
        ProcessSignals ps = process.signals();
        ps.lock().lock();
        try {
            return ctx.signals().pending().pending() | ps.shared().pending();
        } finally {
            ps.lock().unlock();
        }
    }

    /** Whether a signal outside {@code blocked} is pending for this thread. */
    public boolean hasDeliverable(SyscallContext ctx, long blocked) {
        ProcessSignals ps = process.signals();
        ps.lock().lock();
        try {
            return ctx.signals().pending().next(blocked) != 0 || ps.shared().next(blocked) != 0;
        } finally {
            ps.lock().unlock();
        }
    }

    /** Dequeues a pending signal in {@code set} for this thread (sigtimedwait), or null. */
    public SigInfo dequeueFrom(SyscallContext ctx, long set) {
        return dequeueExcept(ctx, ~set);
    }

    /**
     * Dequeues the next signal not in {@code excluded}: the thread's own queue first, then the
     * process's; signalfd readiness follows. Null if none.
     */
    private SigInfo dequeueExcept(SyscallContext ctx, long excluded) {
        ProcessSignals ps = process.signals();
        ps.lock().lock();
        try {
            int sig = ctx.signals().pending().next(excluded);
            SigInfo info = null;
            if (sig != 0) {
                info = dequeued(ctx.signals().pending().dequeue(sig));
            } else {
                sig = ps.shared().next(excluded);
                if (sig != 0) info = dequeued(ps.shared().dequeue(sig));
            }
            if (info != null) signalFds.changedLocked();
            return info;
        } finally {
            ps.lock().unlock();
        }
    }

    /**
     * kernel/signal.c prepare_signal: a stop signal drops a pending SIGCONT, and SIGCONT drops every
     * pending stop signal, from the process and all its threads (lock held).
     */
    private void discardOpposites(int sig) {
        boolean cont = sig == Signals.SIGCONT;
        if (!cont && Signals.defaultAction(sig) != Signals.DefaultAction.STOP) return;
        for (int other : cont ? STOP_SIGNALS : new int[]{Signals.SIGCONT}) {
            process.signals().shared().discard(other, this::dequeued);
            for (GuestThread t : process.threads().threads()) {
                if (t.kernelState() instanceof SyscallContext c) c.signals().pending().discard(other, this::dequeued);
            }
        }
        signalFds.changedLocked();
    }

    private static final int[] STOP_SIGNALS = {Signals.SIGSTOP, Signals.SIGTSTP, Signals.SIGTTIN, Signals.SIGTTOU};

    /** rt_sigaction installed SIG_IGN (or a default-ignore SIG_DFL): pending instances are dropped. */
    public void discardIfIgnored(int sig) {
        ProcessSignals ps = process.signals();
        ps.lock().lock();
        try {
            if (!ignored(sig, ps.actions().get(sig))) return;
            ps.shared().discard(sig, this::dequeued);
            for (GuestThread t : process.threads().threads()) {
                if (t.kernelState() instanceof SyscallContext c) c.signals().pending().discard(sig, this::dequeued);
            }
            signalFds.changedLocked();
        } finally {
            ps.lock().unlock();
        }
    }

    /**
     * Every instance leaving a pending set passes here (under the signal lock): a POSIX timer's
     * instance gets its overrun count, as the kernel fills it in when it dequeues a timer's signal.
     */
    private SigInfo dequeued(SigInfo info) {
        return info != null && info.code() == SigInfo.SI_TIMER ? process.timers().dequeued(info) : info;
    }

    /** A thread that does not block {@code sig}: the caller's own thread first, as Linux prefers. */
    private GuestThread chooseThread(int sig) {
        long bit = Signals.bit(sig);
        GuestThread main = null;
        for (GuestThread t : process.threads().threads()) {
            if (!(t.kernelState() instanceof SyscallContext c) || t.exitRequested()) continue;
            if ((c.signals().blocked() & bit) != 0) continue;
            if (t.tid() == process.pid()) return t;
            if (main == null) main = t;
        }
        return main;
    }

    private long realtimeLimit() {
        long limit = process.limits().soft(11 /* RLIMIT_SIGPENDING */);
        return limit < 0 ? Long.MAX_VALUE : limit;
    }

    private static boolean ignored(int sig, SignalAction a) {
        if (a.handler() == SignalAction.SIG_IGN) return true;
        return a.handler() == SignalAction.SIG_DFL
                && Signals.defaultAction(sig) == Signals.DefaultAction.IGNORE;
    }

    // ------------------------------------------------------------------ delivery

    /** The thread's safe point: sigreturn, then signal delivery, then syscall restart. */
    public void atSafePoint(SyscallContext ctx) {
        GuestThread thread = ctx.thread();
        ThreadSignalState state = ctx.signals();
        if (ctx.sigreturnPending()) {
            ctx.sigreturnPending(false);
            try {
                long mask = frames.restoreFrame(thread.engine(), ctx.memory(), state);
                state.setBlocked(mask);
            } catch (ErrnoException e) {
                forceDefault(ctx, SigInfo.kernel(Signals.SIGSEGV), "bad signal frame at rt_sigreturn");
                return;
            }
        }
        for (int n = 0; n < MAX_FRAMES_PER_SAFE_POINT && !thread.exitRequested(); n++) {
            SigInfo info = dequeueDeliverable(ctx);
            if (info == null) break;
            int sig = info.signo();
            SignalAction action = process.signals().actions().get(sig);
            if (action.handler() == SignalAction.SIG_IGN) continue;
            if (action.handler() == SignalAction.SIG_DFL) {
                if (!defaultAction(sig)) return;
                continue;
            }
            handle(ctx, info, action, null);
        }
        finishRestart(ctx);
    }

    /**
     * A synchronous fault (SIGSEGV, SIGILL, SIGFPE, SIGTRAP, SIGBUS) of the running thread, raised
     * with the PC on the faulting instruction: like the kernel's force_sig_info, a blocked or
     * ignored signal is unblocked and reset to SIG_DFL first, then it is delivered at once.
     *
     * @param trap   {trap number, error code, fault address} for the frame's sigcontext
     * @param report the one-line description printed if the fault kills the process
     */
    public void forceFault(SyscallContext ctx, SigInfo info, long[] trap, String report) {
        ctx.lastTrap(trap);
        int sig = info.signo();
        ProcessSignals ps = process.signals();
        SignalAction action;
        ps.lock().lock();
        try {
            action = ps.actions().get(sig);
            long bit = Signals.bit(sig);
            boolean blocked = (ctx.signals().blocked() & bit) != 0;
            if (blocked || action.handler() == SignalAction.SIG_IGN) {
                action = SignalAction.DEFAULT;
                ps.actions().set(sig, action);
                if (blocked) ctx.signals().setBlocked(ctx.signals().blocked() & ~bit);
            }
        } finally {
            ps.lock().unlock();
        }
        if (action.handler() == SignalAction.SIG_DFL) {
            terminate(sig, report);
            return;
        }
        handle(ctx, info, action, trap);
    }

    private SigInfo dequeueDeliverable(SyscallContext ctx) {
        return dequeueExcept(ctx, ctx.signals().blocked());
    }

    /** SIG_DFL; returns false when the process is ending. */
    private boolean defaultAction(int sig) {
        switch (Signals.defaultAction(sig)) {
            case IGNORE, CONTINUE -> {
                return true;
            }
            case STOP -> {
                // The whole process stops: bin/herd stops its JVM with the same signal (the host
                // then tells the parent, a shell or a parent Herd, and SIGCONT resumes it). An
                // embedding JVM has no such hook and must not stop: there the signal is ignored.
                java.util.function.IntConsumer stop = process.hostStop();
                if (stop != null) {
                    stop.accept(sig);
                } else if (stopWarned.compareAndSet(false, true)) {
                    diagnostics.println("herd: warning: signal " + sig + " would stop the process; an embedded run"
                            + " does not stop its JVM, the signal is ignored");
                    diagnostics.flush();
                }
                return true;
            }
            default -> {
                terminate(sig, null);
                return false;
            }
        }
    }

    private void terminate(int sig, String report) {
        // One report line per process, as Linux kills it once: a second thread faulting at the
        // same moment only joins the exit.
        if (report != null && reported.compareAndSet(false, true)) {
            diagnostics.println("herd: " + report);
            diagnostics.flush();
        }
        process.exitGroup(ProcessExit.killed(sig));
    }

    /** Sets up a handler frame for {@code info}, after resolving an interrupted syscall. */
    private void handle(SyscallContext ctx, SigInfo info, SignalAction action, long[] trap) {
        ThreadSignalState state = ctx.signals();
        int sig = info.signo();
        int restart = ctx.restartCode();
        if (restart != 0) {
            ctx.clearRestart();
            boolean again = restart == Errno.ERESTARTNOINTR
                    || (restart == Errno.ERESTARTSYS && (action.flags() & Signals.SA_RESTART) != 0);
            if (again) frames.restartSyscall(ctx.thread().engine(), ctx.restartNr(), ctx.restartArg0());
            else ctx.thread().arch().writeSyscallResult(ctx.thread().engine(), -Errno.EINTR);
        }
        long saved = state.blocked();
        if (ctx.restoreSigmaskPending()) {
            saved = ctx.savedSigmask();
            ctx.clearRestoreSigmask();
        }
        try {
            if (trap == null) trap = ctx.lastTrap(); // an asynchronous signal records the last fault's facts
            if (trap != null) {
                frames.setupFaultFrame(ctx.thread().engine(), ctx.memory(), action, info, saved, state, trap[0], trap[1], trap[2]);
            } else {
                frames.setupFrame(ctx.thread().engine(), ctx.memory(), action, info, saved, state);
            }
        } catch (ErrnoException e) {
            // The kernel forces SIGSEGV when it cannot write the frame (force_sigsegv).
            forceDefault(ctx, SigInfo.kernel(Signals.SIGSEGV), "guest fault: SIGSEGV: cannot write the frame for signal "
                    + sig + " at its stack");
            return;
        }
        long blocked = state.blocked() | action.mask();
        if ((action.flags() & Signals.SA_NODEFER) == 0) blocked |= Signals.bit(sig);
        state.setBlocked(blocked);
        if ((action.flags() & Signals.SA_RESETHAND) != 0) {
            // SA_RESETHAND resets the handler only; flags and mask stay as they were (get_signal()).
            process.signals().actions().set(sig, new SignalAction(SignalAction.SIG_DFL, action.flags(), action.restorer(),
                    action.mask()));
        }
    }

    /** No handler ran: an interrupted syscall restarts transparently, as in the kernel. */
    private void finishRestart(SyscallContext ctx) {
        int restart = ctx.restartCode();
        if (restart != 0) {
            ctx.clearRestart();
            long nr = restart == Errno.ERESTART_RESTARTBLOCK ? nrRestartSyscall : ctx.restartNr();
            frames.restartSyscall(ctx.thread().engine(), nr, ctx.restartArg0());
        }
        if (ctx.restoreSigmaskPending()) {
            ctx.clearRestoreSigmask();
            ctx.signals().setBlocked(ctx.savedSigmask());
        }
    }

    private void forceDefault(SyscallContext ctx, SigInfo info, String report) {
        process.signals().actions().set(info.signo(), SignalAction.DEFAULT);
        terminate(info.signo(), report);
    }
}
