package dev.herd.signals;

import java.util.concurrent.locks.ReentrantLock;

/**
 * A process's signal state shared by its threads: dispositions, and the process-directed pending
 * set. One lock (the kernel's siglock) guards every pending set of the process, the shared one and
 * each thread's, so that choosing a target thread and queueing are one atomic step.
 */
public final class ProcessSignals {
    private final ReentrantLock lock = new ReentrantLock();
    private final SignalActions actions = new SignalActions();
    private final SignalQueue shared = new SignalQueue();

    public ReentrantLock lock() { return lock; }
    public SignalActions actions() { return actions; }
    /** Process-directed pending signals (kill, rt_sigqueueinfo, timers without a thread id). */
    public SignalQueue shared() { return shared; }
}
