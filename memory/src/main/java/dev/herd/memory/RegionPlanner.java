package dev.herd.memory;

import java.util.ArrayList;
import java.util.List;

/**
 * Derives the bounded Unicorn {@link RegionPlan} from a {@link MappingTable}. Pure function.
 *
 * <p>Step 1: maximal runs of adjacent mapped pages with equal non-zero protection. Step 2, only
 * when there are more runs than {@code cap}: merge {@code runs - cap} boundaries, cheapest first,
 * cheapest = smallest unmapped gap between the two runs (0 for touching runs). When touching
 * boundaries suffice, the merged ones are spread evenly among them (O(n), local regions);
 * otherwise all touching runs merge and then the smallest gaps. A merged region gets the
 * union of its runs' permissions. A boundary whose merge would give write permission to a
 * shared-file mapping whose file is read-only is avoided (ranked last); if it must still be
 * merged, the region loses write permission (a guest write there faults instead of the host
 * crashing on a read-only file page).
 */
final class RegionPlanner {
    private RegionPlanner() {}

    /** Default cap: far below Unicorn 2.0.1's abort limits (4,095 x86_64 / 1,023 aarch64 regions). */
    static final int DEFAULT_CAP = 512;

    private record Run(long start, long end, int perms, boolean noWrite) {}

    static RegionPlan plan(long version, MappingTable t, int cap) {
        List<Run> runs = new ArrayList<>();
        for (int i = 0; i < t.size(); i++) {
            Vma m = t.get(i);
            int p = Prot.effective(m.prot());
            if (p == 0) continue;
            boolean nw = m.kind() == Vma.SHARED_FILE && !m.file().writable;
            if (!runs.isEmpty()) {
                Run last = runs.getLast();
                if (last.end == m.start() && last.perms == p) {
                    runs.set(runs.size() - 1, new Run(last.start, m.end(), p, last.noWrite | nw));
                    continue;
                }
            }
            runs.add(new Run(m.start(), m.end(), p, nw));
        }
        if (runs.size() <= cap) {
            List<RegionPlan.Region> out = new ArrayList<>(runs.size());
            for (Run r : runs) out.add(new RegionPlan.Region(r.start, r.end, r.perms));
            return new RegionPlan(version, out, false);
        }
        int n = runs.size();
        int k = n - cap; // boundaries to merge
        long[] cost = new long[n - 1];
        int zero = 0;
        for (int b = 0; b < n - 1; b++) {
            Run a = runs.get(b), c = runs.get(b + 1);
            boolean conflict = (a.noWrite && (c.perms & Prot.WRITE) != 0) || (c.noWrite && (a.perms & Prot.WRITE) != 0);
            cost[b] = (c.start - a.end) + (conflict ? (1L << 56) : 0);
            if (cost[b] == 0) zero++;
        }
        boolean[] merge = new boolean[n - 1];
        if (zero >= k) {
            // only touching runs merge, spread evenly over the candidates (O(n), keeps regions local)
            int j = 0;
            for (int b = 0; b < n - 1; b++) {
                if (cost[b] != 0) continue;
                if ((long) (j + 1) * k / zero > (long) j * k / zero) merge[b] = true;
                j++;
            }
        } else {
            // all touching runs, then the smallest gaps (ties: lowest address)
            long[] sorted = cost.clone();
            java.util.Arrays.sort(sorted);
            long threshold = sorted[k - 1];
            int taken = 0;
            for (int b = 0; b < n - 1; b++) if (cost[b] < threshold) { merge[b] = true; taken++; }
            for (int b = 0; b < n - 1 && taken < k; b++) if (cost[b] == threshold) { merge[b] = true; taken++; }
        }
        List<RegionPlan.Region> out = new ArrayList<>(cap);
        int i = 0;
        while (i < n) {
            Run first = runs.get(i);
            int perms = first.perms;
            boolean nw = first.noWrite;
            int j = i;
            while (j < n - 1 && merge[j]) {
                j++;
                perms |= runs.get(j).perms;
                nw |= runs.get(j).noWrite;
            }
            if (nw) perms &= ~Prot.WRITE;
            out.add(new RegionPlan.Region(first.start, runs.get(j).end, perms));
            i = j + 1;
        }
        return new RegionPlan(version, out, true);
    }

    /** Host protection that lets Unicorn use a region of these perms: W→RW, R or X→R, else none. */
    static int hostProt(int perms) {
        if ((perms & Prot.WRITE) != 0) return Prot.READ | Prot.WRITE;
        if ((perms & (Prot.READ | Prot.EXEC)) != 0) return Prot.READ;
        return Prot.NONE;
    }
}
