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
 * longer reaches back that far).
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
        List<long[]> drops = new ArrayList<>();
        boolean flush = false;
        if (synced >= 0) {
            flush = !as.invalidations.since(synced, v, (s, e) -> drops.add(new long[] {s, e}));
        }
        if (flush) engine.flushTranslations();
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
        for (RegionPlan.Region r : plan.regions()) {
            RegionPlan.Region h = have.get(r.start());
            if (h == null) {
                engine.memMapPtr(r.start(), r.length(), r.perms(), as.hostBase() + r.start());
            } else if (h.perms() != r.perms()) {
                engine.memProtect(r.start(), r.length(), r.perms());
            }
        }
        current = plan.regions();
        if (flush) engine.flushTranslations();
        else dropClipped(drops, current);
        synced = v;
        return v;
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
