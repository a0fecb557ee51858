package dev.herd.memory;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Immutable, sorted, non-overlapping table of guest mappings ({@link Vma}s) with Linux-style
 * splitting and merging. A pure data structure: no host calls, no locking; every mutation returns
 * a new table. Lookups are binary searches. Adjacent entries that {@link Vma#canMerge} are always
 * merged, so the representation of a given page map is canonical.
 */
final class MappingTable {
    static final MappingTable EMPTY = new MappingTable(new Vma[0]);

    private final Vma[] v;

    private MappingTable(Vma[] v) { this.v = v; }

    int size() { return v.length; }
    Vma get(int i) { return v[i]; }

    List<Vma> all() { return List.of(v); }

    /** Index of the first entry with end > addr, or size() if none. */
    int firstEndingAfter(long addr) {
        int lo = 0, hi = v.length;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (v[mid].end() > addr) hi = mid; else lo = mid + 1;
        }
        return lo;
    }

    /** Index of the entry containing addr, or -1. */
    int indexOf(long addr) {
        int i = firstEndingAfter(addr);
        return i < v.length && v[i].start() <= addr ? i : -1;
    }

    Vma find(long addr) {
        int i = indexOf(addr);
        return i < 0 ? null : v[i];
    }

    /** True if any page of [s, e) is mapped. */
    boolean anyMapped(long s, long e) {
        int i = firstEndingAfter(s);
        return i < v.length && v[i].start() < e;
    }

    /** End of the gap-free mapped run starting at s, clipped to e; s if s is unmapped. */
    long mappedPrefixEnd(long s, long e) {
        int i = firstEndingAfter(s);
        long pos = s;
        while (pos < e && i < v.length && v[i].start() <= pos) {
            pos = v[i].end();
            i++;
        }
        return Math.min(pos, e);
    }

    boolean fullyMapped(long s, long e) { return mappedPrefixEnd(s, e) >= e; }

    /** The entries intersecting [s, e), clipped to it. */
    List<Vma> slice(long s, long e) {
        List<Vma> out = new ArrayList<>();
        for (int i = firstEndingAfter(s); i < v.length && v[i].start() < e; i++) out.add(v[i].clip(s, e));
        return out;
    }

    /** The table without [s, e); entries straddling the edges are split. */
    MappingTable remove(long s, long e) {
        int i = firstEndingAfter(s);
        if (i >= v.length || v[i].start() >= e) return this;
        int j = i;
        List<Vma> mid = new ArrayList<>(2);
        while (j < v.length && v[j].start() < e) {
            Vma x = v[j];
            if (x.start() < s) mid.add(x.withRange(x.start(), s));
            if (x.end() > e) mid.add(x.withRange(e, x.end()));
            j++;
        }
        return splice(i, j, mid);
    }

    /** The table with m inserted, replacing whatever overlapped it, merged with its neighbours. */
    MappingTable insert(Vma m) {
        MappingTable t = remove(m.start(), m.end());
        int i = t.firstEndingAfter(m.start());
        return t.splice(i, i, List.of(m)).mergeAround(m.start(), m.end());
    }

    /** Sets prot on the mapped parts of [s, e), splitting and merging as needed. */
    MappingTable protect(long s, long e, int prot) {
        int i = firstEndingAfter(s);
        int j = i;
        List<Vma> mid = new ArrayList<>();
        while (j < v.length && v[j].start() < e) {
            Vma x = v[j];
            if (x.start() < s) mid.add(x.withRange(x.start(), s));
            mid.add(x.clip(s, e).withProt(prot));
            if (x.end() > e) mid.add(x.withRange(e, x.end()));
            j++;
        }
        if (i == j) return this;
        return splice(i, j, mid).mergeAround(s, e);
    }

    /** Replaces v[i, j) with mid (which must keep the order). */
    private MappingTable splice(int i, int j, List<Vma> mid) {
        Vma[] n = new Vma[v.length - (j - i) + mid.size()];
        System.arraycopy(v, 0, n, 0, i);
        for (int k = 0; k < mid.size(); k++) n[i + k] = mid.get(k);
        System.arraycopy(v, j, n, i + mid.size(), v.length - j);
        return new MappingTable(n);
    }

    /** Merges mergeable neighbours among entries touching [s-1, e+1). */
    private MappingTable mergeAround(long s, long e) {
        int i = Math.max(0, firstEndingAfter(s) - 1);
        int j = Math.min(v.length, firstEndingAfter(e) + 1);
        List<Vma> out = new ArrayList<>(j - i);
        for (int k = i; k < j; k++) {
            Vma x = v[k];
            if (!out.isEmpty() && out.getLast().canMerge(x)) {
                Vma p = out.removeLast();
                out.add(new Vma(p.start(), x.end(), p.prot(), p.flags(), p.name(), p.fileOffset(), p.kind(), p.file()));
            } else {
                out.add(x);
            }
        }
        if (out.size() == j - i) return this;
        return splice(i, j, out);
    }

    /** Highest page-aligned a with [a, a+len) free, low <= a, a+len <= high; -1 if none. */
    long findFreeTopDown(long len, long low, long high) {
        if (high - low < len) return -1;
        int i = firstEndingAfter(high) ; // first entry with end > high: gaps are below v[i]
        // walk down: the gap above entry k-1 and below limit
        long limit = high;
        int k = i;
        if (k < v.length && v[k].start() < high) limit = v[k].start();
        while (true) {
            long gapLow = k > 0 ? Math.max(low, v[k - 1].end()) : low;
            if (limit - gapLow >= len) return limit - len;
            if (k == 0) return -1;
            k--;
            limit = Math.min(limit, v[k].start());
            if (limit <= low) return -1;
        }
    }

    /** Lowest a >= low with [a, a+len) free and a+len <= high; -1 if none. */
    long findFreeBottomUp(long len, long low, long high) {
        long pos = low;
        int i = firstEndingAfter(low);
        while (true) {
            long next = i < v.length ? Math.min(v[i].start(), high) : high;
            if (next - pos >= len) return pos;
            if (i >= v.length || v[i].end() >= high) return -1;
            pos = Math.max(pos, v[i].end());
            i++;
        }
    }

    @Override public String toString() { return Arrays.toString(v); }
}
