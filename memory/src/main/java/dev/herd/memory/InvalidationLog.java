package dev.herd.memory;

/**
 * Bounded log of guest ranges whose translated code must be dropped by every engine, each tagged
 * with the table version that made it stale (unmapped, lost or gained EXEC, or had its contents
 * replaced while executable). Oldest entries are dropped when full; a reader that last synced
 * before a dropped entry must flush its whole translation cache. Thread-safe.
 */
final class InvalidationLog {
    /** Receives one logged range. */
    interface Sink { void range(long start, long end); }

    private final long[] versions, starts, ends;
    private int head, count;
    private long droppedThrough;

    InvalidationLog(int capacity) {
        versions = new long[capacity];
        starts = new long[capacity];
        ends = new long[capacity];
    }

    synchronized void add(long version, long start, long end) {
        if (start >= end) return;
        int cap = versions.length;
        if (count == cap) {
            droppedThrough = Math.max(droppedThrough, versions[head]);
            head = (head + 1) % cap;
            count--;
        }
        int idx = (head + count) % cap;
        versions[idx] = version;
        starts[idx] = start;
        ends[idx] = end;
        count++;
    }

    /**
     * Feeds every range logged with after < version <= upTo to sink. Returns false (feeding
     * nothing) when entries newer than {@code after} were dropped: the caller must flush everything.
     */
    synchronized boolean since(long after, long upTo, Sink sink) {
        if (droppedThrough > after) return false;
        for (int k = 0; k < count; k++) {
            int idx = (head + k) % versions.length;
            if (versions[idx] > after && versions[idx] <= upTo) sink.range(starts[idx], ends[idx]);
        }
        return true;
    }
}
