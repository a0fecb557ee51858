package dev.herd.memory;

import java.util.List;

/**
 * The Unicorn regions every engine should have for one table version: sorted, disjoint,
 * page-aligned {@link Region}s with non-zero Unicorn permissions (same bits as {@link Prot}).
 * Exact (maximal runs of adjacent mapped pages with equal non-zero protection) unless
 * {@code coalesced}, in which case the region count was capped by {@link RegionPlanner}: some
 * neighbouring runs were merged with the union of their permissions, possibly spanning unmapped
 * gaps or PROT_NONE pages (which then are accessible to the engine and to host syscalls).
 */
public record RegionPlan(long version, List<Region> regions, boolean coalesced) {
    /** One Unicorn region [start, end) with perms. */
    public record Region(long start, long end, int perms) {
        /**
         * Regions by start address. A class, not a lambda: a lambda's first use spins a class
         * (~1-4 ms), paid again by every fork's child (see SpareWarmUp).
         */
        public static final java.util.Comparator<Region> BY_START = new ByStart();

        private static final class ByStart implements java.util.Comparator<Region> {
            @Override
            public int compare(Region a, Region b) { return Long.compare(a.start, b.start); }
        }

        public long length() { return end - start; }
    }

    public RegionPlan {
        regions = List.copyOf(regions);
    }

    /** The region containing addr, or null. */
    public Region find(long addr) {
        int lo = 0, hi = regions.size();
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (regions.get(mid).end() > addr) hi = mid; else lo = mid + 1;
        }
        return lo < regions.size() && regions.get(lo).start() <= addr ? regions.get(lo) : null;
    }
}
