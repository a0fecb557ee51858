package dev.herd.stresstests.jcstress;

import dev.herd.threads.ThreadRegistry;

/** ThreadRegistry fixtures for the jcstress states: plain objects stand for guest threads. */
final class Registries {
    private Registries() {}

    /** A stand-in guest thread; identity equality, as GuestThread. */
    static final class Guest {
        final String name;

        Guest(String name) { this.name = name; }

        @Override
        public String toString() { return name; }
    }

    /**
     * Adds and starts one thread per TID ({@code tids[i]} for {@code threads[i]}), as running
     * threads are before the actors race.
     */
    static Guest[] started(ThreadRegistry<Guest> r, int... tids) {
        Guest[] threads = new Guest[tids.length];
        for (int i = 0; i < tids.length; i++) {
            threads[i] = new Guest("t" + tids[i]);
            r.add(threads[i]);
            r.started(tids[i], threads[i]);
        }
        return threads;
    }

    /** TIDs 100, 101, ... ({@code n} of them), apart from the ones the tests race on. */
    static int[] tids(int n) {
        int[] tids = new int[n];
        for (int i = 0; i < n; i++) tids[i] = 100 + i;
        return tids;
    }

    /**
     * What a lookup returned: 0 = null, 1 = the expected thread, 2 = another thread.
     */
    static int seen(Guest found, Guest expected) {
        return found == null ? 0 : found == expected ? 1 : 2;
    }

    /** True if every thread of {@code threads} is still registered under its TID in {@code tids}. */
    static boolean allRegistered(ThreadRegistry<Guest> r, Guest[] threads, int[] tids) {
        for (int i = 0; i < threads.length; i++) {
            if (r.byTid(tids[i]) != threads[i] || !r.all().contains(threads[i])) return false;
        }
        return true;
    }
}
