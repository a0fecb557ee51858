package dev.herd.threads;

import java.util.Collection;
import java.util.Collections;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The live threads of one process and their TIDs, without anything engine-specific: what
 * {@link GuestThreads} keeps, apart so that its concurrency can be tested on its own (the jcstress
 * tests {@code ThreadRegistry*Test} in stress-tests).
 *
 * <p><b>Life cycle.</b> A thread is {@linkplain #add added} before it runs, so that whoever walks
 * {@link #all()} (memory barriers, exit_group) sees it from the start; once it runs and knows its
 * TID it is {@linkplain #started registered} under it; when it ends it is {@linkplain #remove
 * removed}, with the TID it was registered under (0 if it never started).
 *
 * <p><b>Concurrency contract.</b> Every method is safe from any thread, without locks: two maps
 * ({@link ConcurrentHashMap}), one for the set of threads and one from TID to thread. They are
 * independent, so the class gives no atomic snapshot of both. Each of {@link #add},
 * {@link #started}, {@link #byTid} and each of the two steps of {@link #remove} is linearizable:
 * it takes effect atomically at one point during the call, and what it wrote is visible to (and
 * happens-before) every call that takes effect later.
 * <ul>
 *   <li>{@link #byTid} returns {@code null} or a thread that was registered under that TID; never
 *       a thread registered under another TID. A registration racing with the lookup may or may
 *       not be seen; a lookup of a TID whose registration has completed (happens-before) sees it,
 *       or a later registration of that TID.</li>
 *   <li>{@link #remove(int, Object)} unregisters a TID only if it still maps to the thread being
 *       removed (an atomic compare-and-remove): a newer thread that already reuses the TID (host
 *       TIDs are recycled) stays registered whatever the interleaving.</li>
 *   <li>{@link #all()} is a live, weakly consistent view: an iteration never throws
 *       {@link java.util.ConcurrentModificationException}, yields every thread that stays in the
 *       registry for the whole iteration exactly once, yields each thread at most once, and may or
 *       may not yield threads added or removed meanwhile.</li>
 *   <li>{@link #count()} is exact when nothing changes concurrently; otherwise an estimate: with
 *       one add or remove in flight, the count before or after it (it is updated just after the
 *       set, so an iteration may already yield a thread that the count does not include yet);
 *       with several, a value between. It never counts a thread twice.</li>
 *   <li>A thread is removed from {@link #all()} before its TID is unregistered, so
 *       {@link #byTid} may still return, briefly, a thread that {@link #all()} no longer holds.</li>
 * </ul>
 *
 * <p>Threads are compared with {@code equals}/{@code hashCode}; {@link GuestThread} keeps
 * {@link Object}'s identity, which is what a registry of threads wants.
 *
 * @param <T> the thread type
 */
public final class ThreadRegistry<T> {
    private final ConcurrentHashMap<Integer, T> byTid = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<T, Boolean> all = new ConcurrentHashMap<>();
    private final Set<T> view = Collections.unmodifiableSet(all.keySet());

    /** Adds a thread before it runs; it is in {@link #all()} and {@link #count()} from now on. */
    public void add(T thread) { all.put(thread, Boolean.TRUE); }

    /** Registers a running thread under its TID (replacing whatever the TID mapped to). */
    public void started(int tid, T thread) { byTid.put(tid, thread); }

    /**
     * Removes a thread that ends (or never ran): from {@link #all()}, then from the TID map if
     * {@code tid} (the TID it was registered under; 0 if none) still maps to it.
     */
    public void remove(int tid, T thread) {
        all.remove(thread);
        if (tid != 0) byTid.remove(tid, thread);
    }

    /** The thread registered under {@code tid}, or {@code null}. */
    public T byTid(int tid) { return byTid.get(tid); }

    /** The threads added and not yet removed: a live, weakly consistent, read-only view. */
    public Collection<T> all() { return view; }

    /** The number of threads added and not yet removed. */
    public int count() { return all.size(); }
}
