package dev.herd.memory;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * Mutable map from disjoint [start, end) ranges to values (absent = null), with adjacent equal
 * values coalesced. Used for host-side state (actual host protection, file overlays). Not
 * thread-safe: guarded by the address space's lock.
 */
final class RangeMap<V> {
    record Seg<V>(long start, long end, V value) {}

    private final TreeMap<Long, Seg<V>> map = new TreeMap<>();

    /** Sets [s, e) to value (null removes). */
    void put(long s, long e, V value) {
        if (s >= e) return;
        Map.Entry<Long, Seg<V>> lower = map.lowerEntry(s);
        if (lower != null && lower.getValue().end > s) {
            Seg<V> l = lower.getValue();
            map.put(l.start, new Seg<>(l.start, s, l.value));
            if (l.end > e) map.put(e, new Seg<>(e, l.end, l.value));
        }
        // segments starting inside [s, e)
        for (Seg<V> x : new ArrayList<>(map.subMap(s, true, e, false).values())) {
            map.remove(x.start);
            if (x.end > e) map.put(e, new Seg<>(e, x.end, x.value));
        }
        if (value != null) {
            long ns = s, ne = e;
            Map.Entry<Long, Seg<V>> before = map.lowerEntry(s);
            if (before != null && before.getValue().end == s && Objects.equals(before.getValue().value, value)) {
                ns = before.getKey();
                map.remove(ns);
            }
            Seg<V> after = map.get(e);
            if (after != null && Objects.equals(after.value, value)) {
                ne = after.end;
                map.remove(e);
            }
            map.put(ns, new Seg<>(ns, ne, value));
        }
    }

    /** Segments intersecting [s, e), clipped to it. */
    List<Seg<V>> segments(long s, long e) {
        List<Seg<V>> out = new ArrayList<>();
        Map.Entry<Long, Seg<V>> lower = map.lowerEntry(s);
        if (lower != null && lower.getValue().end > s) {
            Seg<V> l = lower.getValue();
            out.add(new Seg<>(s, Math.min(e, l.end), l.value));
        }
        for (Seg<V> x : map.subMap(s, true, e, false).values()) out.add(new Seg<>(x.start, Math.min(e, x.end), x.value));
        return out;
    }

    List<Seg<V>> all() { return new ArrayList<>(map.values()); }

    boolean isEmpty() { return map.isEmpty(); }

    void clear() { map.clear(); }
}
