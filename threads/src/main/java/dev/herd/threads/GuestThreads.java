package dev.herd.threads;

import dev.herd.memory.GuestAddressSpace;

import java.util.Collection;
import java.util.concurrent.locks.LockSupport;

/**
 * The live guest threads of one process, and the operations that concern all of them: bringing
 * every engine in line with the address space before a memory syscall returns, and stopping them
 * all for exit_group. The threads and their TIDs are kept in a {@link ThreadRegistry}, whose
 * concurrency contract applies to {@link #byTid}, {@link #threads()} and {@link #count()}.
 */
public final class GuestThreads {
    /** How long to wait between kicks of an engine that has not acknowledged a request yet. */
    private static final long REKICK_NANOS = 50_000;

    private final GuestAddressSpace addressSpace;
    private final ThreadRegistry<GuestThread> registry = new ThreadRegistry<>();
    private final ExclusiveSection exclusive = new ExclusiveSection();

    public GuestThreads(GuestAddressSpace addressSpace) {
        this.addressSpace = addressSpace;
    }

    /**
     * Adds a thread before it starts, so that barriers and exit_group see it from the start. With
     * engines that run at once ({@code concurrentEngines}: not serial mode), the second thread
     * makes guest atomics host atomics in every engine ({@link GuestAddressSpace#markConcurrentAccess}):
     * the one other thread there was is in the clone that creates this one, so it syncs before it
     * runs guest code again. (A vfork child is no thread: it runs on its parent's.)
     */
    void add(GuestThread t, boolean concurrentEngines) {
        registry.add(t);
        if (concurrentEngines && registry.count() > 1) addressSpace.markConcurrentAccess();
    }

    /** Records the thread's TID once it runs. */
    void started(GuestThread t) { registry.started(t.tid(), t); }

    /** Drops an ended (or never started) thread; a newer thread reusing its TID stays registered. */
    void remove(GuestThread t) { registry.remove(t.tid(), t); }

    public GuestThread byTid(int tid) { return registry.byTid(tid); }

    /** The live threads: a weakly consistent, read-only view ({@link ThreadRegistry#all()}). */
    public Collection<GuestThread> threads() { return registry.all(); }

    public int count() { return registry.count(); }

    /** The section in which one thread runs while no other executes guest code. */
    ExclusiveSection exclusive() { return exclusive; }

    /**
     * Runs {@code step} on {@code self}'s thread while no other guest thread executes guest code:
     * takes the section (outside guest code), then kicks every other engine in guest code until
     * it has left (a thread entering meanwhile sees the owner and waits outside). {@code self}
     * re-enters guest code itself (memory synced) before the step and stays in it afterwards.
     */
    void runExclusive(GuestThread self, Runnable step) {
        self.leaveGuestCode();
        exclusive.acquire(self);
        try {
            self.enterGuestCode();
            kickOthersOut(self);
            step.run();
        } finally {
            exclusive.release(self);
        }
    }

    /**
     * Runs {@code step} while no guest thread executes guest code: a fork's snapshot of memory.
     * Called by {@code self} from a syscall (outside guest code); every other thread in guest code
     * is kicked out and waits outside until the step is done (threads in host calls go on there).
     */
    public void whileGuestCodeStopped(GuestThread self, Runnable step) {
        exclusive.acquire(self);
        try {
            kickOthersOut(self);
            step.run();
        } finally {
            exclusive.release(self);
        }
    }

    /** With the section held: kicks every other engine in guest code, then waits until each has left. */
    private void kickOthersOut(GuestThread self) {
        for (GuestThread t : registry.all()) {
            if (t != self && t.inGuestCode()) t.kick();
        }
        for (GuestThread t : registry.all()) {
            if (t == self) continue;
            while (t.inGuestCode()) {
                LockSupport.parkNanos(REKICK_NANOS);
                if (t.inGuestCode()) t.kick(); // a kick can be lost: re-kick
            }
        }
    }

    /**
     * Returns once no engine other than {@code self}'s can execute guest code with a view of memory
     * older than {@code version}: every other thread has synced to it, or is outside guest code
     * (in a syscall, blocked, not started) and will sync before it re-enters. Then the host-side
     * reductions of the change are applied. Engines still in guest code are kicked, repeatedly,
     * because a kick can be lost (DESIGN fact 6).
     */
    public void awaitCoherent(GuestThread self, long version) {
        // Kick every stale engine first, then wait: the stops (20-80 µs each, DESIGN fact 6) overlap
        // instead of adding up thread by thread.
        for (GuestThread t : registry.all()) {
            if (t != self && t.runsGuestCodeOlderThan(version)) t.kick();
        }
        for (GuestThread t : registry.all()) {
            if (t == self) continue;
            while (t.runsGuestCodeOlderThan(version)) {
                LockSupport.parkNanos(REKICK_NANOS);
                if (t.runsGuestCodeOlderThan(version)) t.kick(); // a kick can be lost: re-kick
            }
        }
        addressSpace.releaseDeferred();
    }

    private volatile boolean preciseFaults;

    /** Whether engines keep the exact PC for faults (see {@link EngineSlot#enablePreciseFaults}). */
    public boolean preciseFaults() { return preciseFaults; }

    /**
     * From now on every engine, current and future, reports faults at their exact PC: called when
     * the guest installs a handler for a fault signal. One-way; idempotent.
     */
    public void enablePreciseFaults() {
        if (preciseFaults) return;
        preciseFaults = true;
        for (GuestThread t : threads()) t.enablePreciseFaults();
    }

    /** exit_group: every thread stops at its next safe point and ends. */
    public void exitAll() {
        for (GuestThread t : registry.all()) t.requestExit();
    }
}
