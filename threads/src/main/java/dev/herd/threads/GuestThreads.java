package dev.herd.threads;

import dev.herd.memory.GuestAddressSpace;

import java.util.Collection;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.LockSupport;

/**
 * The live guest threads of one process, and the operations that concern all of them: bringing
 * every engine in line with the address space before a memory syscall returns, and stopping them
 * all for exit_group.
 */
public final class GuestThreads {
    /** How long to wait between kicks of an engine that has not acknowledged a request yet. */
    private static final long REKICK_NANOS = 50_000;

    private final GuestAddressSpace addressSpace;
    private final ConcurrentHashMap<Integer, GuestThread> byTid = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<GuestThread, Boolean> all = new ConcurrentHashMap<>();

    public GuestThreads(GuestAddressSpace addressSpace) {
        this.addressSpace = addressSpace;
    }

    /** Adds a thread before it starts, so that barriers and exit_group see it from the start. */
    void add(GuestThread t) { all.put(t, Boolean.TRUE); }

    /** Records the thread's TID once it runs. */
    void started(GuestThread t) { byTid.put(t.tid(), t); }

    void remove(GuestThread t) {
        all.remove(t);
        if (t.tid() != 0) byTid.remove(t.tid(), t);
    }

    public GuestThread byTid(int tid) { return byTid.get(tid); }

    public Collection<GuestThread> threads() { return all.keySet(); }

    public int count() { return all.size(); }

    /**
     * Returns once no engine other than {@code self}'s can execute guest code with a view of memory
     * older than {@code version}: every other thread has synced to it, or is outside guest code
     * (in a syscall, blocked, not started) and will sync before it re-enters. Then the host-side
     * reductions of the change are applied. Engines still in guest code are kicked, repeatedly,
     * because a kick can be lost (DESIGN fact 6).
     */
    public void awaitCoherent(GuestThread self, long version) {
        for (GuestThread t : all.keySet()) {
            if (t == self) continue;
            while (t.runsGuestCodeOlderThan(version)) {
                t.kick();
                LockSupport.parkNanos(REKICK_NANOS);
            }
        }
        addressSpace.releaseDeferred();
    }

    /** exit_group: every thread stops at its next safe point and ends. */
    public void exitAll() {
        for (GuestThread t : all.keySet()) t.requestExit();
    }
}
