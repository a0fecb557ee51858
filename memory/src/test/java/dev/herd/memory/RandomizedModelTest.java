package dev.herd.memory;

import dev.herd.host.Errno;
import dev.herd.host.ErrnoException;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Thousands of random mmap/munmap/mprotect/mremap/brk/write steps, each checked against a simple
 * page model (per page: prot and a data tag): table contents, canonical merging, region plan
 * (exact, or bounded and covering when capped), host protection covering the plan, and data.
 */
class RandomizedModelTest {
    static final long P = 4096;
    static final long W0 = 0x10000000L, W1 = 0x50000000L; // general window, brk window
    static final int WIN = 64;
    static final int ANON = MapFlags.PRIVATE | MapFlags.ANONYMOUS;

    /** page address -> {prot, data tag} */
    final TreeMap<Long, long[]> model = new TreeMap<>();
    GuestAddressSpace as;
    Random rnd;
    long brkStart = W1 + 3, brkCur = brkStart;
    String step;
    String lastOp = "";

    @ParameterizedTest(name = "seed {0} cap {1}")
    @CsvSource({"1,512", "2,512", "3,512", "4,4", "5,4", "6,2", "7,512", "8,16"})
    void randomSequences(long seed, int cap) {
        rnd = new Random(seed);
        as = GuestAddressSpace.create(1L << 36, cap);
        try {
            as.initBrk(brkStart);
            for (int i = 0; i < 2500; i++) {
                step = "seed " + seed + " step " + i + ": ";
                int op = rnd.nextInt(100);
                if (op < 25) opMmapFixed();
                else if (op < 32) opMmapHint();
                else if (op < 45) opMunmap();
                else if (op < 62) opMprotect();
                else if (op < 77) opMremap();
                else if (op < 85) opBrk();
                else if (op < 95) opTag();
                else as.releaseDeferred();
                check();
            }
            as.releaseDeferred();
            check();
            checkHostExact();
        } finally {
            as.close();
        }
    }

    // ------------------------------------------------------------------ random ops

    long winPage() { return W0 + rnd.nextInt(WIN) * P; }
    int randProt() { return rnd.nextInt(8); }

    void opMmapFixed() {
        boolean brkWin = rnd.nextInt(8) == 0;
        long a = brkWin ? W1 + (8 + rnd.nextInt(24)) * P : winPage();
        int n = 1 + rnd.nextInt(8);
        int prot = randProt();
        boolean noReplace = rnd.nextInt(4) == 0;
        int flags = ANON | (noReplace ? MapFlags.FIXED_NOREPLACE : MapFlags.FIXED);
        if (noReplace && anyMapped(a, a + n * P)) {
            expectErrno(Errno.EEXIST, () -> as.mmap(a, n * P, prot, flags, -1, 0));
            return;
        }
        lastOp = "mmapFixed " + Long.toHexString(a) + " n=" + n + " prot=" + prot;
        assertEquals(a, as.mmap(a, n * P, prot, flags, -1, 0), step);
        mapModel(a, n, prot);
    }

    void opMmapHint() {
        int n = 1 + rnd.nextInt(8);
        long hint = rnd.nextBoolean() ? 0 : W0 + rnd.nextInt(WIN - n) * P;
        int prot = randProt();
        long r = as.mmap(hint, n * P - rnd.nextInt(100), prot, ANON, -1, 0);
        if (hint != 0 && !anyMapped(hint, hint + n * P)) assertEquals(hint, r, step + "hint");
        assertEquals(0, r % P);
        assertTrue(r >= GuestAddressSpace.MMAP_MIN_ADDR);
        assertFalse(anyMapped(r, r + n * P), step + "result overlaps");
        mapModel(r, n, prot);
    }

    void opMunmap() {
        long a = rnd.nextInt(6) == 0 ? W1 + rnd.nextInt(32) * P : winPage();
        int n = 1 + rnd.nextInt(10);
        lastOp = "munmap " + Long.toHexString(a) + " n=" + n;
        as.munmap(a, n * P - rnd.nextInt((int) P));
        unmapModel(a, a + n * P);
    }

    void opMprotect() {
        long a = winPage();
        int n = 1 + rnd.nextInt(10);
        int prot = randProt();
        long e = a + n * P;
        lastOp = "mprotect " + Long.toHexString(a) + " n=" + n + " prot=" + prot;
        long okEnd = a;
        while (okEnd < e && model.containsKey(okEnd)) okEnd += P;
        for (long p = a; p < okEnd; p += P) model.get(p)[0] = prot;
        if (okEnd < e) expectErrno(Errno.ENOMEM, () -> as.mprotect(a, n * P, prot));
        else as.mprotect(a, n * P - rnd.nextInt(100), prot);
    }

    void opTag() {
        if (model.isEmpty()) return;
        Long[] keys = model.keySet().toArray(new Long[0]);
        long p = keys[rnd.nextInt(keys.length)];
        long tag = rnd.nextLong();
        byte[] b = new byte[8];
        for (int k = 0; k < 8; k++) b[k] = (byte) (tag >>> (8 * k));
        as.writeIgnoringProtection(p, b, 0, 8);
        model.get(p)[1] = tag;
        if ((model.get(p)[0] & Prot.WRITE) != 0) {
            long t2 = rnd.nextLong();
            as.memory().writeLong(p, t2);
            model.get(p)[1] = t2;
        }
    }

    void opBrk() {
        long req = brkStart - 100 + rnd.nextInt((int) (40 * P));
        lastOp = "brk " + Long.toHexString(req) + " cur " + Long.toHexString(brkCur);
        long expect;
        if (req < brkStart) {
            expect = brkCur;
        } else {
            long newTop = GuestAddressSpace.pageUp(req), oldTop = GuestAddressSpace.pageUp(brkCur);
            if (newTop == oldTop) {
                expect = req;
            } else if (newTop < oldTop) {
                unmapModel(newTop, oldTop);
                expect = req;
            } else if (anyMapped(oldTop, newTop + P)) {
                expect = brkCur;
            } else {
                mapModel(oldTop, (int) ((newTop - oldTop) / P), Prot.READ | Prot.WRITE);
                expect = req;
            }
        }
        assertEquals(expect, as.brk(req), step + "brk");
        brkCur = expect;
    }

    void opMremap() {
        List<Long> inWin = new ArrayList<>(model.subMap(W0, W0 + 2 * WIN * P).keySet());
        if (inWin.isEmpty()) return;
        long old = inWin.get(rnd.nextInt(inWin.size()));
        int oldN = rnd.nextInt(6) == 0 ? 0 : 1 + rnd.nextInt(5);
        int newN = 1 + rnd.nextInt(8);
        int kind = rnd.nextInt(5);
        int flags = switch (kind) {
            case 0 -> 0;
            case 1, 2 -> MapFlags.MREMAP_MAYMOVE;
            case 3 -> MapFlags.MREMAP_MAYMOVE | MapFlags.MREMAP_FIXED;
            default -> MapFlags.MREMAP_MAYMOVE | MapFlags.MREMAP_DONTUNMAP;
        };
        if (kind == 4) newN = Math.max(oldN, 1);
        if (kind == 4 && oldN == 0) oldN = newN;
        long oldLen = oldN * P, newLen = newN * P;
        long dst = kind == 3 ? winPage() : 0;
        final int fl = flags;
        lastOp = "mremap " + Long.toHexString(old) + " oldN=" + oldN + " newN=" + newN + " kind=" + kind + " dst=" + Long.toHexString(dst);
        // --- model, following Linux's order of checks
        if (!model.containsKey(old)) { expectErrno(Errno.EFAULT, () -> as.mremap(old, oldLen, newLen, fl, dst)); return; }
        if (oldLen == 0) { expectErrno(Errno.EINVAL, () -> as.mremap(old, oldLen, newLen, fl, dst)); return; }
        if (kind == 3 || kind == 4) {
            if (kind == 3 && old + oldLen > dst && dst + newLen > old) {
                expectErrno(Errno.EINVAL, () -> as.mremap(old, oldLen, newLen, fl, dst));
                return;
            }
            if (kind == 3) unmapModel(dst, dst + newLen);
            long ol = oldLen;
            if (oldLen > newLen) { unmapModel(old + newLen, old + oldLen); ol = newLen; }
            if (!model.containsKey(old) || ol > vmaEnd(old) - old) {
                expectErrno(Errno.EFAULT, () -> as.mremap(old, oldLen, newLen, fl, dst));
                return;
            }
            long r = as.mremap(old, oldLen, newLen, fl, dst);
            if (kind == 3) assertEquals(dst, r, step);
            moveModel(old, ol, r, newLen, kind == 4);
            return;
        }
        if (oldLen >= newLen) {
            unmapModel(old + newLen, old + oldLen);
            assertEquals(old, as.mremap(old, oldLen, newLen, fl, dst), step);
            return;
        }
        long vEnd = vmaEnd(old);
        if (oldLen > vEnd - old) { expectErrno(Errno.EFAULT, () -> as.mremap(old, oldLen, newLen, fl, dst)); return; }
        if (old + oldLen == vEnd && !anyMapped(vEnd, old + newLen)) {
            assertEquals(old, as.mremap(old, oldLen, newLen, fl, dst), step + "grow in place");
            int prot = (int) model.get(old)[0];
            for (long p = vEnd; p < old + newLen; p += P) model.put(p, new long[] {prot, 0});
            return;
        }
        if (kind == 0) { expectErrno(Errno.ENOMEM, () -> as.mremap(old, oldLen, newLen, fl, dst)); return; }
        long r = as.mremap(old, oldLen, newLen, fl, dst);
        assertNotEquals(old, r);
        assertFalse(anyMapped(r, r + newLen), step + "move target overlaps");
        moveModel(old, oldLen, r, newLen, false);
    }

    void moveModel(long old, long oldLen, long dst, long newLen, boolean dontUnmap) {
        int prot = (int) model.get(old)[0];
        List<long[]> data = new ArrayList<>();
        for (long p = old; p < old + oldLen; p += P) data.add(model.get(p).clone());
        if (dontUnmap) for (long p = old; p < old + oldLen; p += P) model.get(p)[1] = 0;
        else unmapModel(old, old + oldLen);
        for (long k = 0; k < newLen / P; k++) model.put(dst + k * P, new long[] {prot, k < data.size() ? data.get((int) k)[1] : 0});
    }

    // ------------------------------------------------------------------ model helpers

    boolean anyMapped(long s, long e) { return !model.subMap(s, e).isEmpty(); }

    long vmaEnd(long p) {
        long prot = model.get(p)[0];
        long q = p;
        while (model.containsKey(q) && model.get(q)[0] == prot) q += P;
        return q;
    }

    void mapModel(long a, int n, int prot) {
        for (int k = 0; k < n; k++) model.put(a + k * P, new long[] {prot, 0});
    }

    void unmapModel(long s, long e) { model.subMap(s, e).clear(); }

    void expectErrno(int errno, org.junit.jupiter.api.function.Executable e) {
        ErrnoException x = assertThrows(ErrnoException.class, e, step);
        assertEquals(Errno.name(errno), Errno.name(x.errno()), step);
    }

    // ------------------------------------------------------------------ checks

    void check() {
        List<Mapping> ms = as.mappings();
        TreeMap<Long, Integer> actual = new TreeMap<>();
        Mapping prev = null;
        for (Mapping m : ms) {
            assertTrue(m.start() < m.end() && m.start() % P == 0 && m.end() % P == 0, step + m);
            if (prev != null) {
                assertTrue(prev.end() <= m.start(), step + "overlap");
                boolean mergeable = prev.end() == m.start() && prev.prot() == m.prot() && prev.flags() == m.flags()
                        && java.util.Objects.equals(prev.name(), m.name());
                assertFalse(mergeable, step + "not merged " + prev + " " + m);
            }
            for (long p = m.start(); p < m.end(); p += P) actual.put(p, m.prot());
            prev = m;
        }
        TreeMap<Long, Integer> expected = new TreeMap<>();
        for (Map.Entry<Long, long[]> e : model.entrySet()) expected.put(e.getKey(), (int) e.getValue()[0]);
        if (!expected.equals(actual)) {
            TreeMap<Long, String> diff = new TreeMap<>();
            for (Long k : expected.keySet()) if (!expected.get(k).equals(actual.get(k))) diff.put(k, "want " + expected.get(k) + " got " + actual.get(k));
            for (Long k : actual.keySet()) if (!expected.containsKey(k)) diff.put(k, "want unmapped got " + actual.get(k));
            StringBuilder sb = new StringBuilder();
            diff.forEach((k, v) -> sb.append(Long.toHexString(k)).append(": ").append(v).append("; "));
            fail(step + lastOp + " table differs: " + sb);
        }
        // data preserved
        for (Map.Entry<Long, long[]> e : model.entrySet()) {
            assertEquals(e.getValue()[1], as.arena.alias.get(ValueLayout.JAVA_LONG_UNALIGNED, e.getKey()), step + "data at " + Long.toHexString(e.getKey()));
        }
        checkPlan();
    }

    void checkPlan() {
        RegionPlan plan = as.regionPlan();
        assertEquals(as.version(), plan.version());
        List<RegionPlan.Region> rs = plan.regions();
        assertTrue(rs.size() <= as.regionCap(), step + "cap");
        for (int i = 1; i < rs.size(); i++) assertTrue(rs.get(i - 1).end() <= rs.get(i).start(), step + "plan order");
        // exact runs from the model
        List<long[]> runs = new ArrayList<>();
        for (Map.Entry<Long, long[]> e : model.entrySet()) {
            int prot = Prot.effective((int) e.getValue()[0]); // x86: W or X pages are readable too
            if (prot == 0) continue;
            long[] last = runs.isEmpty() ? null : runs.getLast();
            if (last != null && last[1] == e.getKey() && last[2] == prot) last[1] += P;
            else runs.add(new long[] {e.getKey(), e.getKey() + P, prot});
        }
        if (!plan.coalesced()) {
            assertEquals(runs.size(), rs.size(), step + "plan size");
            for (int i = 0; i < runs.size(); i++) {
                assertEquals(new RegionPlan.Region(runs.get(i)[0], runs.get(i)[1], (int) runs.get(i)[2]), rs.get(i), step);
            }
        } else {
            assertTrue(runs.size() > as.regionCap());
            for (long[] r : runs) {
                for (long p = r[0]; p < r[1]; p += P) {
                    RegionPlan.Region reg = plan.find(p);
                    assertNotNull(reg, step + "uncovered page");
                    assertEquals(r[2], reg.perms() & r[2], step + "perms");
                }
            }
        }
        // host protection covers the plan (raises are immediate)
        List<long[]> host = as.hostProtection();
        for (RegionPlan.Region r : rs) {
            int need = RegionPlanner.hostProt(r.perms());
            long pos = r.start();
            for (long[] h : host) {
                if (h[1] <= pos || h[0] >= r.end()) continue;
                assertTrue(h[0] <= pos, step + "host gap at " + Long.toHexString(pos));
                assertEquals(need, h[2] & need, step + "host prot");
                pos = h[1];
                if (pos >= r.end()) break;
            }
            assertTrue(pos >= r.end(), step + "host uncovered");
        }
    }

    /** After releaseDeferred the host protection is exactly what the plan needs. */
    void checkHostExact() {
        List<long[]> want = new ArrayList<>();
        for (RegionPlan.Region r : as.regionPlan().regions()) {
            int hp = RegionPlanner.hostProt(r.perms());
            long[] last = want.isEmpty() ? null : want.getLast();
            if (last != null && last[1] == r.start() && last[2] == hp) last[1] = r.end();
            else want.add(new long[] {r.start(), r.end(), hp});
        }
        List<long[]> got = as.hostProtection();
        assertEquals(want.size(), got.size(), "host segments");
        for (int i = 0; i < want.size(); i++) assertArrayEquals(want.get(i), got.get(i));
    }
}
