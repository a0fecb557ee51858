package dev.herd.runtime.process;

import java.util.concurrent.atomic.AtomicReference;

/**
 * A process's warm fork spare ({@link ForkSpare}): none until its first fork (which goes cold),
 * then one started in the background after each fork, so the next fork finds a booted child Herd.
 * {@code HERD_FORK_SPARE=off} disables it. Thread-safe; {@link #close} ends an unused spare.
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
        if (!s.booted()) {
            if (!ForkSpare.awaitBoot()) return null;
            // Waited for, it boots at the normal policy: under SCHED_IDLE on a busy machine its
            // boot took longer than a test's whole time budget.
            SpareScheduling.allThreads(s.pid(), SpareScheduling.SCHED_OTHER);
            if (!s.bootedWithin(SPARE_WAIT_MS)) return null;
        }
        return ready.compareAndSet(s, null) ? s : null;
    }

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
            if (closed) return;
            ForkSpare s = ForkSpare.start(herd, cwd, machine, budget.fd());
            if (s == null) return;
            if (closed || !ready.compareAndSet(null, s)) s.close();
            else if (closed && ready.compareAndSet(s, null)) s.close();
        });
    }

    @Override
    public void close() {
        closed = true;
        ForkSpare s = ready.getAndSet(null);
        if (s != null) s.close();
    }
}
