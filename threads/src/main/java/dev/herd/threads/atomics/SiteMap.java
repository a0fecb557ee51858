package dev.herd.threads.atomics;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/**
 * Immutable open-addressing map pc → {@link Site} (linear probing, power-of-two table at most
 * half full). Lookups are allocation-free and need no synchronisation; updates build a new map.
 */
final class SiteMap {
    static final SiteMap EMPTY = new SiteMap(new long[2], new Site[2], 0);

    private final long[] keys;
    private final Site[] vals;
    private final int mask;
    private final int size;

    private SiteMap(long[] keys, Site[] vals, int size) {
        this.keys = keys;
        this.vals = vals;
        this.mask = keys.length - 1;
        this.size = size;
    }

    static SiteMap of(Collection<Site> sites) {
        int cap = 2;
        while (cap < sites.size() * 2 + 2) cap <<= 1;
        long[] k = new long[cap];
        Site[] v = new Site[cap];
        int n = 0;
        for (Site s : sites) {
            int i = hash(s.pc) & (cap - 1);
            while (v[i] != null && k[i] != s.pc) i = (i + 1) & (cap - 1);
            if (v[i] == null) n++;
            k[i] = s.pc;
            v[i] = s;
        }
        return new SiteMap(k, v, n);
    }

    private static int hash(long pc) {
        long h = pc * 0x9E3779B97F4A7C15L;
        return (int) (h >>> 32);
    }

    Site get(long pc) {
        long[] k = keys;
        Site[] v = vals;
        int i = hash(pc) & mask;
        while (true) {
            Site s = v[i];
            if (s == null) return null;
            if (k[i] == pc) return s;
            i = (i + 1) & mask;
        }
    }

    int size() { return size; }

    List<Site> sites() {
        List<Site> out = new ArrayList<>(size);
        for (Site s : vals) if (s != null) out.add(s);
        return out;
    }
}
