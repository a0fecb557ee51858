package dev.herd.memory;

import dev.herd.unicorn.Unicorn;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * One engine's view of the shared guest address space. {@link #sync()} brings the engine's
 * Unicorn regions to the address space's current {@link RegionPlan} by diffing against what the
 * engine already has (unmap regions that are gone, re-protect regions whose permissions changed,
 * {@code uc_mem_map_ptr} new ones at {@code hostBase + start}), and drops translated code for
 * every range logged as invalidated since the engine's last sync (the whole cache if the log no
 * longer reaches back that far). It also ends an engine's plain atomics once the space has
 * {@link GuestAddressSpace#concurrentAccess() concurrent access}.
 *
 * <p><b>Lazy data regions.</b> Only executable regions are mapped eagerly. A region without EXEC is
 * mapped when the engine first touches it ({@link #mapOnDemand}, called from the engine's
 * unmapped-memory hook), so an engine maps the handful of regions its thread uses instead of one
 * per thread stack of the whole process: Unicorn's map costs O(regions), so eager mapping made
 * creating the N-th thread cost O(N²). Non-executable regions hold no translated code, so lazy
 * mapping cannot resurrect stale translations; executable regions keep the eager rule below.
 *
 * <p>Translation drops are issued both before and after the region changes, clipped to what is
 * mapped in the engine at that moment: {@code uc_ctl_remove_cache} in 2.0.1 translates the start
 * address through the engine's memory map and silently does nothing for an unmapped start, while
 * {@code uc_mem_unmap} keeps stale blocks for the address (DESIGN fact 5).
 *
 * <p>Not thread-safe: call only on the engine's own thread while the engine is stopped.
 */
public final class EngineMemoryView {
    private final GuestAddressSpace as;
    private final Unicorn engine;
    private List<RegionPlan.Region> current = List.of();
    private long synced = -1;
    private long[] fastPairs = new long[32];

    public EngineMemoryView(GuestAddressSpace as, Unicorn engine) {
        this.as = as;
        this.engine = engine;
    }

    /** The table version this engine last synced to (-1 before the first sync). */
    public long syncedVersion() { return synced; }

    /** The engine that this view drives. */
    public Unicorn engine() { return engine; }

    /** The regions this engine currently has mapped (as last synced). */
    public List<RegionPlan.Region> regions() { return current; }

    /** True when the address space has published a version this engine has not synced to. */
    public boolean isStale() { return as.version() != synced; }

    /** Brings the engine to the current plan; returns the version synced to. */
    public long sync() {
        RegionPlan plan = as.regionPlan();
        long v = plan.version();
        if (v == synced) return v;
        // The plan is read first: a version that published concurrent access is seen with it.
        // Every block translated so far may hold plain atomics: drop them all.
        if (as.concurrentAccess() && engine.resumeTranslatorAtomics()) engine.dropTranslations();
        List<long[]> drops = new ArrayList<>();
        boolean flush = false;
        if (synced >= 0) {
            flush = !as.invalidations.since(synced, v, (s, e) -> drops.add(new long[] {s, e}));
        }
        if (flush) engine.dropTranslations(); // not a TB flush: see Unicorn.dropTranslations
        else dropClipped(drops, current);

        Map<Long, RegionPlan.Region> wanted = new HashMap<>();
        for (RegionPlan.Region r : plan.regions()) wanted.put(r.start(), r);
        List<RegionPlan.Region> keep = new ArrayList<>();
        for (RegionPlan.Region old : current) {
            RegionPlan.Region w = wanted.get(old.start());
            if (w != null && w.end() == old.end()) {
                keep.add(old);
                continue;
            }
            engine.memUnmap(old.start(), old.length());
        }
        Map<Long, RegionPlan.Region> have = new HashMap<>();
        for (RegionPlan.Region k : keep) have.put(k.start(), k);
        List<RegionPlan.Region> mapped = new ArrayList<>();
        for (RegionPlan.Region r : plan.regions()) {
            RegionPlan.Region h = have.get(r.start());
            if (h == null) {
                if ((r.perms() & Prot.EXEC) == 0) continue; // data: mapped on first touch
                engine.memMapPtr(r.start(), r.length(), r.perms(), as.hostBase() + r.start());
            } else if (h.perms() != r.perms()) {
                engine.memProtect(r.start(), r.length(), r.perms());
            }
            mapped.add(r);
        }
        current = List.copyOf(mapped);
        publishFastStores();
        if (flush) engine.dropTranslations(); // not a TB flush: see Unicorn.dropTranslations
        else dropClipped(drops, current);
        synced = v;
        return v;
    }

    /**
     * Maps the current plan's region containing {@code address} into the engine, if there is one;
     * returns whether it did (the access can then be retried). Called from the engine's
     * unmapped-memory hook on the engine's own thread, so the engine has no region at
     * {@code address}. The region comes from the newest plan; a concurrent change that removes it
     * again is applied by the next {@link #sync()}, which the coherence barrier forces before host
     * pages go away.
     *
     * <p><b>Stale neighbours.</b> The engine may run with regions older than the newest plan (a
     * change by another thread is published before that thread kicks this engine to sync). Plan
     * regions are maximal runs of equal protection, so such a change can move region boundaries
     * around pages that did not change: the newest region containing {@code address} may then
     * overlap a region the engine still holds from an older plan (e.g. the engine holds
     * {@code [a, b)}, a neighbour's mprotect makes {@code [a, c)} one region, and the thread touches
     * {@code [b, c)}). Such an overlapping region cannot be in the newest plan (plan regions are
     * disjoint, and the engine does not hold {@code address}), so it is stale: it is dropped
     * (with its translations, if executable) and the newest region is mapped in its place. The
     * engine's regions stay within what the newest plan allows, so host protection still covers
     * them. Refusing instead made the access a spurious SIGSEGV on mapped memory (issue 9).
     */
    public boolean mapOnDemand(long address) {
        RegionPlan plan = as.regionPlan();
        RegionPlan.Region r = plan.find(address);
        if (r == null) return false;
        List<RegionPlan.Region> next = new ArrayList<>(current.size() + 1);
        for (RegionPlan.Region m : current) {
            if (m.start() < r.end() && r.start() < m.end()) {
                if (m.start() <= address && address < m.end()) return false; // bookkeeping disagrees with the engine: not ours to fix here
                // remove_cache is a no-op for an unmapped start and unmap keeps translations (DESIGN fact 5)
                if ((m.perms() & Prot.EXEC) != 0) engine.removeCache(m.start(), m.end());
                engine.memUnmap(m.start(), m.length());
                continue;
            }
            next.add(m);
        }
        engine.memMapPtr(r.start(), r.length(), r.perms(), as.hostBase() + r.start());
        if ((r.perms() & Prot.EXEC) != 0) {
            // Executable regions are normally mapped eagerly at sync; one that appears between syncs
            // may have stale translations from an earlier mapping of the same addresses.
            engine.removeCache(r.start(), r.end());
        }
        next.add(r);
        next.sort(RegionPlan.Region.BY_START);
        current = List.copyOf(next);
        publishFastStores();
        return true;
    }

    /**
     * Tells the engine which pages may take the store fast path (DESIGN fact 11): those in its
     * mapped regions that are writable and not executable. The engine's own regions are the right
     * source: they never allow more than the host pages do (host reductions wait until every engine
     * synced), and executable pages must keep the slow path that catches self-modifying code.
     */
    private void publishFastStores() {
        if (!engine.fastStoresEnabled()) return;
        int n = 0;
        for (RegionPlan.Region r : current) {
            if ((r.perms() & Prot.WRITE) == 0 || (r.perms() & Prot.EXEC) != 0) continue;
            if (n > 0 && fastPairs[2 * n - 1] == r.start()) {
                fastPairs[2 * n - 1] = r.end();
                continue;
            }
            if (2 * n + 2 > fastPairs.length) fastPairs = java.util.Arrays.copyOf(fastPairs, fastPairs.length * 2);
            fastPairs[2 * n] = r.start();
            fastPairs[2 * n + 1] = r.end();
            n++;
        }
        engine.setFastStoreRanges(fastPairs, n);
    }

    /** removeCache for each range, clipped to the given (sorted) mapped regions. */
    private void dropClipped(List<long[]> ranges, List<RegionPlan.Region> mapped) {
        for (long[] r : ranges) {
            for (RegionPlan.Region m : mapped) {
                long s = Math.max(r[0], m.start()), e = Math.min(r[1], m.end());
                if (s < e) engine.removeCache(s, e);
            }
        }
    }
}
