package dev.herd.runtime.process;

import java.util.concurrent.atomic.AtomicReference;

/**
 * A process's warm fork spare ({@link ForkSpare}): none until its first fork (which goes cold),
 * then one for the next fork. A child whose guest exits leaving its JVM as it found it comes
 * back as the spare ({@link #offer}: its JVM resets and waits for the next fork, already warm);
 * if none has come back a while after a fork ({@link #RETURN_LINGER_MS}), a new spare is started
 * in the background. Back-to-back forks (a shell loop) so reuse one JVM after another instead of
 * starting one per fork, which leaves a booting spare no CPU. {@code HERD_FORK_SPARE=off}
 * disables spares. Thread-safe; {@link #close} ends an unused spare.
 */
public final class ForkSpares implements AutoCloseable {
    private final AtomicReference<ForkSpare> ready = new AtomicReference<>();
    private volatile boolean closed;

    /**
     * The spare, now the caller's, if it has booted; else null (the caller forks cold and the
     * spare goes on booting for a later fork). Handing a fork to a spare that is still booting
     * made it wait for the whole boot: a shell loop of fork+exec took ~450 ms per round with
     * spares against ~300 ms without.
     */
    ForkSpare take() {
        if (ForkSpare.awaitBoot()) {
            // HERD_FORK_SPARE=wait (tests, benchmarks): the spare being started is waited for.
            Thread t = starting;
            if (t != null) {
                try {
                    t.join(SPARE_WAIT_MS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }
        ForkSpare s = ready.get();
        if (s == null) return null;
        if (!s.booted() && s.returning()) {
            // A child's JVM resetting itself (it reported its exit a moment ago): worth the wait.
            if (!s.bootedWithin(ForkSpare.awaitBoot() ? SPARE_WAIT_MS : RETURN_WAIT_MS)) return null;
        } else if (!s.booted()) {
            if (!ForkSpare.awaitBoot()) return null;
            // Waited for, it boots at the normal policy: under SCHED_IDLE on a busy machine its
            // boot took longer than a test's whole time budget.
            SpareScheduling.allThreads(s.pid(), SpareScheduling.SCHED_OTHER);
            if (!s.bootedWithin(SPARE_WAIT_MS)) return null;
        }
        if (!ready.compareAndSet(s, null)) return null;
        // A fork's child is in its parent's session, and the spare joins the parent's group at the
        // handover, which setpgid allows only within the session: a spare left in another (the
        // process moved since it started the spare) is no use.
        if (!s.inSessionOfCaller()) {
            endLater(s);
            return null;
        }
        return s;
    }

    /**
     * How long a fork waits for a returning child's JVM to finish its reset (measured: a few ms;
     * a cold fork instead costs a JVM start).
     */
    private static final int RETURN_WAIT_MS = 300;

    /**
     * How long after a fork a new spare waits for the child to come back as one before it starts
     * (a shell's command children end within this; a longer-lived child leaves the next fork a
     * spare started this much later).
     */
    static final int RETURN_LINGER_MS = 300;

    /** How long {@code HERD_FORK_SPARE=wait} waits for a spare to start and boot. */
    private static final int SPARE_WAIT_MS = 60_000;

    /** The thread starting the next spare, while it does. */
    private volatile Thread starting;

    /**
     * Starts a spare in the background if none is ready. {@code used}: the spare that just became
     * child {@code childPid} (0: it did not), whose socket goes to the process's children for
     * the child's exit report.
     */
    void replenish(ChildHerd herd, byte[] cwd, int machine, GuestProcess process, ForkSpare used, int childPid) {
        if (closed || ready.get() != null || !ForkSpare.enabled()) {
            if (used != null) used.handOver(process.children(), childPid);
            return;
        }
        // No spare JVM when the run is at its process limit anyway.
        ProcessBudget budget = process.budget();
        if (Long.compareUnsigned(budget.count() + 1L, ProcessBudget.limit(process.limits())) >= 0) {
            if (used != null) used.handOver(process.children(), childPid);
            return;
        }
        starting = Thread.ofPlatform().daemon().name("herd-fork-spare").start(() -> {
            // The next spare boots once the last one's child runs (the spare says so, or gives up
            // after a second): two JVMs starting at once would slow that child's start.
            if (used != null) {
                used.awaitRunning(1000);
                used.handOver(process.children(), childPid);
            }
            if (closed || returned()) return;
            ForkSpare s = ForkSpare.start(herd, cwd, machine, budget.fd());
            if (s == null) return;
            if (closed || !ready.compareAndSet(null, s)) s.close();
            else if (closed && ready.compareAndSet(s, null)) s.close();
        });
    }

    /**
     * Whether a child came back as the spare within {@link #RETURN_LINGER_MS} and is ready to
     * serve; one that ends instead (it found itself unfit, {@code SpareRecycling}) is dropped, so
     * that a new spare starts now rather than the next fork finding it gone.
     */
    private boolean returned() {
        if (!awaitReturn()) return false;
        ForkSpare back = ready.get();
        if (back == null || !back.returning() || !back.endsWithin(ForkSpare.awaitBoot() ? SPARE_WAIT_MS : RETURN_WAIT_MS)) {
            return true; // another spare, or this one ready (or still resetting: the fork waits for it)
        }
        if (ready.compareAndSet(back, null)) endLater(back);
        return closed;
    }

    /** Waits up to {@link #RETURN_LINGER_MS} for a child to come back as the spare; whether one has. */
    private synchronized boolean awaitReturn() {
        long end = System.nanoTime() + RETURN_LINGER_MS * 1_000_000L;
        try {
            while (ready.get() == null && !closed) {
                long left = end - System.nanoTime();
                if (left <= 0) return false;
                wait(Math.max(1, left / 1_000_000));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return true;
    }

    /**
     * A child's JVM that exited its guest and goes on as a spare (GuestChildren's report): host
     * process {@code hostPid}, whose ready message comes on {@code socket} once it has reset. It
     * becomes the spare unless a booted one is there already (then it is ended); a spare still
     * booting makes way for it. Does not block.
     */
    void offer(int hostPid, int socket) {
        ForkSpare back = new ForkSpare(hostPid, socket, true);
        while (true) {
            ForkSpare current = ready.get();
            if (closed || !ForkSpare.enabled() || (current != null && current.booted())) {
                endLater(back);
                return;
            }
            if (ready.compareAndSet(current, back)) {
                if (current != null) endLater(current);
                if (closed && ready.compareAndSet(back, null)) endLater(back);
                synchronized (this) {
                    notifyAll();
                }
                return;
            }
        }
    }

    /** Ends a spare on another thread (its reap waits for a JVM's exit); {@link #close} waits for those. */
    private void endLater(ForkSpare s) {
        Thread t = Thread.ofPlatform().daemon().name("herd-spare-end").unstarted(new SpareEnd(s, ending));
        ending.add(t);
        t.start();
    }

    /** Ends one spare, then leaves {@code ending}. */
    private record SpareEnd(ForkSpare spare, java.util.Set<Thread> ending) implements Runnable {
        @Override
        public void run() {
            try {
                spare.close();
            } finally {
                ending.remove(Thread.currentThread());
            }
        }
    }

    /** Threads of {@link #endLater}, so that a run leaves no spare behind. */
    private final java.util.Set<Thread> ending = java.util.concurrent.ConcurrentHashMap.newKeySet();

    /** How long {@link #close} waits for each spare being ended (a JVM's exit after SIGKILL). */
    private static final int END_WAIT_MS = 5_000;

    @Override
    public void close() {
        closed = true;
        synchronized (this) {
            notifyAll();
        }
        ForkSpare s = ready.getAndSet(null);
        if (s != null) s.close();
        for (Thread t : ending) {
            try {
                t.join(END_WAIT_MS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }
}
