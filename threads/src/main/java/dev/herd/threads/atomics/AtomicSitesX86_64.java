package dev.herd.threads.atomics;

import dev.herd.host.ErrnoException;
import dev.herd.memory.GuestAddressSpace;
import dev.herd.memory.GuestMemory;
import dev.herd.memory.Mapping;
import dev.herd.memory.Prot;
import dev.herd.unicorn.Unicorn;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.ReentrantLock;

/**
 * x86-64 atomic sites: every LOCK-prefixed read-modify-write (add, adc, sub, sbb, and, or, xor,
 * inc, dec, neg, not, xadd, cmpxchg, cmpxchg8b, cmpxchg16b, bts, btr, btc; 8/16/32/64-bit where the
 * ISA allows), every {@code xchg} with a memory operand (implicitly locked) and every {@code mfence}
 * is replaced by {@code syscall} (0f 05) plus NOPs, and {@link #execute} performs it with host
 * atomics on the shared guest memory.
 *
 * <h2>How an op is performed</h2>
 * Registers the site needs are read in one {@code uc_reg_read_batch} (per-thread scratch), the
 * effective address is computed like the CPU (base + index*scale + disp, RIP-relative to the next
 * original instruction, FS/GS base, 32-bit address-size wrap), checked against the mapping table
 * for write access, and the op is done as a CAS loop on the aligned 8-byte word that contains it
 * (so 8/16/32-bit operands are atomic against any other access to that word). Results and RFLAGS
 * (CF, PF, AF, ZF, SF, OF per the SDM; other bits preserved) are written back in one batch.
 *
 * <h2>Limitations</h2>
 * <ul>
 * <li>An operand that straddles an 8-byte boundary (a split lock) is done under one process-wide
 *     lock: atomic against other split atomics, not against aligned atomics or plain stores on the
 *     words it touches.</li>
 * <li>cmpxchg16b has no 128-bit host CAS from Java: it is done under a lock stripe chosen by
 *     address, with a CAS on the low half. It is atomic against other cmpxchg16b, but a plain
 *     8-byte store to the high half racing with it can be lost, and a plain 8-byte load can see a
 *     half-updated pair.</li>
 * <li>Sites are found by linear sweep, which can mis-decode data placed in text; only valid atomic
 *     forms with a memory operand are patched, but a data word that happens to decode as one would
 *     be corrupted. The guest also sees the patch if it reads its own code.</li>
 * <li>Non-locked cmpxchg8b/16b and the other RMWs without LOCK are left alone (they are not atomic
 *     on hardware either).</li>
 * </ul>
 */
public final class AtomicSitesX86_64 implements AtomicSites {
    static final long CF = 0x1, PF = 0x4, AF = 0x10, ZF = 0x40, SF = 0x80, OF = 0x800;
    static final long ARITH = CF | PF | AF | ZF | SF | OF;

    private static final VarHandle LONG = ValueLayout.JAVA_LONG.varHandle();
    private static final ValueLayout.OfLong ULONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final int STRIPES = 64;
    /** Largest range read and decoded at once. */
    private static final int WINDOW = 8 << 20;

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    private static final class Scratch {
        final long[] regs = new long[16];
        final long[] out = new long[4];
        /** Last range found mapped writable, valid while the address space version is checkedVersion. */
        long checkedVersion = -1, writableStart, writableEnd;
        GuestAddressSpace checkedSpace;
    }

    private final GuestAddressSpace as;
    private final GuestMemory memory;
    /** The whole guest space at hostBase (offset = guest address). */
    private final MemorySegment host;
    private final Object splitLock = new Object();
    private final Object[] stripes = new Object[STRIPES];
    private final ReentrantLock scanLock = new ReentrantLock();
    private X86AtomicDecoder decoder; // guarded by scanLock, created lazily
    private volatile SiteMap sites = SiteMap.EMPTY;

    /** Patch only on request ({@link #patchInstruction}); {@link #scan} does nothing. */
    private final boolean lazy;

    public AtomicSitesX86_64(GuestAddressSpace as) {
        this(as, false);
    }

    /**
     * @param lazy for engines with translator atomics (DESIGN fact 13): no code is decoded when it
     *             becomes executable; only instructions the translator cannot make atomic are
     *             patched, when they are reached ({@link #patchInstruction})
     */
    public AtomicSitesX86_64(GuestAddressSpace as, boolean lazy) {
        this.lazy = lazy;
        this.as = as;
        this.memory = as.memory();
        this.host = MemorySegment.ofAddress(as.hostBase()).reinterpret(as.size());
        for (int i = 0; i < STRIPES; i++) stripes[i] = new Object();
    }

    // ------------------------------------------------------------------ scanning

    @Override
    public void scan(long start, long end) {
        if (end <= start || lazy) return;
        long t0 = dev.herd.host.StartupTrace.enabled() ? System.nanoTime() : 0;
        scanLock.lock();
        try {
            if (decoder == null) decoder = new X86AtomicDecoder();
            List<Site> found = new ArrayList<>();
            for (long[] run : mappedRuns(start, end)) sweep(run[0], run[1], found);
            add(found, start, end);
        } finally {
            scanLock.unlock();
            if (t0 != 0) dev.herd.host.StartupTrace.mark(String.format("atomic-site scan of %#x-%#x: %.1f ms",
                    start, end, (System.nanoTime() - t0) / 1e6));
        }
    }

    /**
     * Patches the one instruction at {@code pc} if it is an atomic site: for the translator-atomics
     * configuration, where the translator reported that this instruction cannot be done with a
     * host atomic in translated code (EXCP_ATOMIC: e.g. a misaligned operand). Decodes exactly at
     * {@code pc}, an instruction boundary the CPU reached, so no sweep can be out of step.
     * Returns whether the instruction is a patched site now.
     */
    @Override
    public java.util.Map<Long, byte[]> patchedSites() {
        java.util.Map<Long, byte[]> out = new java.util.HashMap<>();
        for (Site s : sites.sites()) out.put(s.pc, s.original.clone());
        return out;
    }

    @Override
    public boolean patchInstruction(long pc) {
        scanLock.lock();
        try {
            if (sites.get(pc) != null) return true;
            if (decoder == null) decoder = new X86AtomicDecoder();
            byte[] code;
            try {
                code = memory.read(pc, 16);
            } catch (RuntimeException e) {
                return false;
            }
            int[] next = new int[1];
            List<Site> found = new ArrayList<>();
            for (Site s : decoder.decode(code, code.length, pc, 1, next)) if (s.pc == pc) found.add(s);
            add(found, pc, pc + 1);
            return sites.get(pc) != null;
        } finally {
            scanLock.unlock();
        }
    }

    /** Publishes and patches the sites found in [start, end); scanLock held. */
    private void add(List<Site> found, long start, long end) {
        {
            Map<Long, Site> all = new HashMap<>();
            for (Site s : sites.sites()) all.put(s.pc, s);
            // sites already known in the range stay only if their patch is still there
            for (Site s : sites.sites()) {
                if (s.pc >= start && s.pc < end && !stillPatched(s)) all.remove(s.pc);
            }
            List<Site> fresh = new ArrayList<>();
            for (Site s : found) {
                if (!all.containsKey(s.pc)) {
                    all.put(s.pc, s);
                    fresh.add(s);
                }
            }
            if (fresh.isEmpty() && all.size() == sites.size()) return;
            // publish before patching: an engine may reach a patch as soon as it is written
            sites = SiteMap.of(all.values());
            List<Site> failed = patch(fresh);
            if (!failed.isEmpty()) {
                for (Site s : failed) all.remove(s.pc);
                sites = SiteMap.of(all.values());
            }
        }
    }

    private boolean stillPatched(Site s) {
        try {
            return Arrays.equals(memory.read(s.pc, s.length), s.patch());
        } catch (ErrnoException e) {
            return false;
        }
    }

    /**
     * Runs of mapped bytes in [start,end) that can hold code: memory never written (a fresh
     * anonymous mapping, even a 1 GiB RWX JIT heap) reads as zero and holds no atomic site, so only
     * the extents with data are read and decoded.
     */
    private List<long[]> mappedRuns(long start, long end) {
        return as.possiblyNonZero(start, end);
    }

    private void sweep(long start, long end, List<Site> out) {
        long pos = start;
        while (pos < end) {
            int len = (int) Math.min(WINDOW + 16L, end - pos);
            byte[] code = memory.read(pos, len);
            boolean last = pos + len >= end;
            int limit = last ? len : WINDOW;
            int[] next = new int[1];
            out.addAll(decoder.decode(code, len, pos, limit, next));
            pos += Math.max(next[0], 1);
        }
    }

    /** Writes the patches of {@code fresh}, clustered to few privileged writes; returns the sites that could not be patched. */
    private List<Site> patch(List<Site> fresh) {
        List<Site> failed = new ArrayList<>();
        List<Site> sorted = new ArrayList<>(fresh);
        sorted.sort((a, b) -> Long.compare(a.pc, b.pc));
        int i = 0;
        while (i < sorted.size()) {
            int j = i + 1;
            long cs = sorted.get(i).pc, ce = cs + sorted.get(i).length;
            while (j < sorted.size() && sorted.get(j).pc - ce < 4096 && (sorted.get(j).pc & -4096L) <= (ce & -4096L) + 4096) {
                ce = Math.max(ce, sorted.get(j).pc + sorted.get(j).length);
                j++;
            }
            List<Site> cluster = sorted.subList(i, j);
            try {
                byte[] buf = memory.read(cs, (int) (ce - cs));
                List<Site> ok = new ArrayList<>();
                for (Site s : cluster) {
                    int off = (int) (s.pc - cs);
                    if (Arrays.equals(buf, off, off + s.length, s.original, 0, s.length)) {
                        System.arraycopy(s.patch(), 0, buf, off, s.length);
                        ok.add(s);
                    } else {
                        failed.add(s); // changed since it was decoded
                    }
                }
                if (!ok.isEmpty()) as.writeIgnoringProtection(cs, buf, 0, buf.length);
            } catch (ErrnoException e) {
                failed.addAll(cluster); // e.g. read-only MAP_SHARED file mapping
            }
            i = j;
        }
        return failed;
    }

    @Override
    public void forget(long start, long end) {
        if (end <= start) return;
        scanLock.lock();
        try {
            List<Site> keep = new ArrayList<>();
            for (Site s : sites.sites()) if (s.pc < start || s.pc >= end) keep.add(s);
            if (keep.size() != sites.size()) sites = SiteMap.of(keep);
        } finally {
            scanLock.unlock();
        }
    }

    @Override
    public int siteCount() { return sites.size(); }

    /** The site at pc, or null (for tests and diagnostics). */
    Site site(long pc) { return sites.get(pc); }

    /** All known sites (for tests and diagnostics). */
    List<Site> sites() { return sites.sites(); }

    // ------------------------------------------------------------------ execution

    @Override
    public boolean execute(Unicorn engine, long pc) {
        Site s = sites.get(pc);
        if (s == null) return false;
        perform(engine, s);
        return true;
    }

    void perform(Unicorn uc, Site s) {
        int kind = s.kind;
        if (kind == Site.MFENCE) {
            VarHandle.fullFence();
            return;
        }
        Scratch sc = SCRATCH.get();
        long[] r = sc.regs;
        if (s.readIds.length > 0) uc.regReadBatch(s.readIds, r);
        long ea = s.disp;
        if (s.baseSlot >= 0) ea += r[s.baseSlot];
        if (s.indexSlot >= 0) ea += r[s.indexSlot] * s.scale;
        int size = s.size;
        long m = mask(size);
        long src = 0;
        if (s.srcIsImm) src = s.imm & m;
        else if (s.srcSlot >= 0) src = (r[s.srcSlot] >>> s.srcShift) & m;
        if (kind == Site.BTS || kind == Site.BTR || kind == Site.BTC) {
            int bits = size * 8;
            long off;
            if (s.srcIsImm) {
                off = src & (bits - 1);
            } else {
                off = signExtend(src, size);
                ea += (off >> Integer.numberOfTrailingZeros(bits)) * size;
            }
            src = 1L << (off & (bits - 1));
        }
        if (s.addr32) ea &= 0xffffffffL;
        if (s.segSlot >= 0) ea += r[s.segSlot];
        if (kind == Site.CMPXCHG16B && (ea & 15) != 0) throw new AtomicSiteFault(0, true, true); // #GP before #PF
        if (sc.checkedSpace != as || sc.checkedVersion != as.version() || ea < sc.writableStart || ea + size > sc.writableEnd
                || ea + size < ea) {
            check(ea, size, sc);
        }
        long flags = s.flagsSlot >= 0 ? r[s.flagsSlot] : 0;
        long[] out = sc.out;
        switch (kind) {
            case Site.CMPXCHG16B -> {
                long rax = r[s.raxSlot], rdx = r[s.rdxSlot];
                long lo, hi;
                boolean ok;
                synchronized (stripes[(int) (ea >>> 4) & (STRIPES - 1)]) {
                    while (true) {
                        lo = (long) LONG.getVolatile(host, ea);
                        hi = (long) LONG.getVolatile(host, ea + 8);
                        ok = lo == rax && hi == rdx;
                        if (!ok) {
                            VarHandle.fullFence();
                            break;
                        }
                        if ((boolean) LONG.compareAndSet(host, ea, lo, r[s.rbxSlot])) {
                            LONG.setVolatile(host, ea + 8, r[s.rcxSlot]);
                            break;
                        }
                    }
                }
                out[0] = ok ? rax : lo;
                out[1] = ok ? rdx : hi;
                out[2] = (flags & ~ZF) | (ok ? ZF : 0);
            }
            case Site.CMPXCHG8B -> {
                long rax = r[s.raxSlot], rdx = r[s.rdxSlot];
                long expect = (rax & 0xffffffffL) | (rdx << 32);
                long repl = (r[s.rbxSlot] & 0xffffffffL) | (r[s.rcxSlot] << 32);
                long old = rmw(ea, 8, Site.CMPXCHG, repl, expect);
                boolean ok = old == expect;
                out[0] = ok ? rax : old & 0xffffffffL;
                out[1] = ok ? rdx : old >>> 32;
                out[2] = (flags & ~ZF) | (ok ? ZF : 0);
            }
            case Site.CMPXCHG -> {
                long rax = r[s.raxSlot];
                long acc = rax & m;
                long old = rmw(ea, size, kind, src, acc);
                out[0] = old == acc ? rax : writeReg(rax, old, size, 0);
                out[1] = subFlags(flags, acc, old, 0, size);
            }
            case Site.XCHG -> {
                long old = rmw(ea, size, kind, src, 0);
                out[0] = writeReg(r[s.srcSlot], old, size, s.srcShift);
            }
            case Site.XADD -> {
                long old = rmw(ea, size, kind, src, 0);
                out[0] = writeReg(r[s.srcSlot], old, size, s.srcShift);
                out[1] = addFlags(flags, old, src, 0, size);
            }
            default -> {
                long cin = flags & CF;
                long old = rmw(ea, size, kind, src, cin);
                out[0] = switch (kind) {
                    case Site.ADD -> addFlags(flags, old, src, 0, size);
                    case Site.ADC -> addFlags(flags, old, src, cin, size);
                    case Site.SUB -> subFlags(flags, old, src, 0, size);
                    case Site.SBB -> subFlags(flags, old, src, cin, size);
                    case Site.AND -> logicFlags(flags, old & src, size);
                    case Site.OR -> logicFlags(flags, old | src, size);
                    case Site.XOR -> logicFlags(flags, old ^ src, size);
                    case Site.INC -> (addFlags(flags, old, 1, 0, size) & ~CF) | (flags & CF);
                    case Site.DEC -> (subFlags(flags, old, 1, 0, size) & ~CF) | (flags & CF);
                    case Site.NEG -> subFlags(flags, 0, old, 0, size);
                    case Site.BTS, Site.BTR, Site.BTC -> (flags & ~CF) | ((old & src) != 0 ? CF : 0);
                    default -> flags; // NOT
                };
            }
        }
        int[] w = s.writeIds;
        if (w.length == 1) uc.regWrite(w[0], out[0]);
        else if (w.length > 1) uc.regWriteBatch(w, out);
    }

    /** Checks [ea, ea+size) is mapped writable and caches the writable mapping around ea in sc. */
    private void check(long ea, int size, Scratch sc) {
        long v = as.version();
        try {
            memory.hostAddress(ea, size, Prot.WRITE);
        } catch (ErrnoException e) {
            throw fault(ea, size);
        }
        Mapping mp = as.find(ea);
        if (mp != null && (mp.prot() & Prot.WRITE) != 0 && ea + size <= mp.end()) {
            // v was read before the checks: a change published since then makes the cache stale at once
            sc.checkedSpace = as;
            sc.checkedVersion = v;
            sc.writableStart = mp.start();
            sc.writableEnd = mp.end();
        }
    }

    private AtomicSiteFault fault(long ea, int size) {
        long bad = ea;
        long pageEnd = (ea | (GuestAddressSpace.PAGE - 1)) + 1;
        if (pageEnd < ea + size && writable(ea)) bad = pageEnd;
        Mapping mp = bad >= 0 && bad < as.size() ? as.find(bad) : null;
        return new AtomicSiteFault(bad, mp != null);
    }

    private boolean writable(long g) {
        try {
            memory.hostAddress(g, 1, Prot.WRITE);
            return true;
        } catch (ErrnoException e) {
            return false;
        }
    }

    /**
     * Atomically replaces the size-byte value v at ea with op(v) and returns v. {@code aux} is the
     * carry-in for adc/sbb and the expected value for cmpxchg.
     */
    private long rmw(long ea, int size, int kind, long src, long aux) {
        long m = mask(size);
        int byteOff = (int) (ea & 7);
        if (byteOff + size <= 8) {
            long word = ea - byteOff;
            int sh = byteOff * 8;
            long wm = m << sh;
            while (true) {
                long w = (long) LONG.getVolatile(host, word);
                long old = (w >>> sh) & m;
                long nv = compute(kind, old, src, aux) & m;
                long nw = (w & ~wm) | (nv << sh);
                if ((boolean) LONG.compareAndSet(host, word, w, nw)) return old;
                Thread.onSpinWait();
            }
        }
        synchronized (splitLock) { // split lock: see class comment
            VarHandle.fullFence();
            long old = readLE(ea, size);
            writeLE(ea, size, compute(kind, old, src, aux) & m);
            VarHandle.fullFence();
            return old;
        }
    }

    private long readLE(long ea, int size) {
        long v = 0;
        for (int i = size - 1; i >= 0; i--) v = (v << 8) | (host.get(ValueLayout.JAVA_BYTE, ea + i) & 0xffL);
        return v;
    }

    private void writeLE(long ea, int size, long v) {
        for (int i = 0; i < size; i++) host.set(ValueLayout.JAVA_BYTE, ea + i, (byte) (v >>> (8 * i)));
    }

    private static long compute(int kind, long old, long src, long aux) {
        return switch (kind) {
            case Site.ADD, Site.XADD -> old + src;
            case Site.ADC -> old + src + aux;
            case Site.SUB -> old - src;
            case Site.SBB -> old - src - aux;
            case Site.AND -> old & src;
            case Site.OR, Site.BTS -> old | src;
            case Site.XOR, Site.BTC -> old ^ src;
            case Site.BTR -> old & ~src;
            case Site.INC -> old + 1;
            case Site.DEC -> old - 1;
            case Site.NEG -> -old;
            case Site.NOT -> ~old;
            case Site.XCHG -> src;
            case Site.CMPXCHG -> old == aux ? src : old;
            default -> throw new IllegalStateException("kind " + kind);
        };
    }

    // ------------------------------------------------------------------ flags and registers

    static long mask(int size) { return size >= 8 ? -1L : (1L << (size * 8)) - 1; }

    static long signExtend(long v, int size) {
        int sh = 64 - size * 8;
        return (v << sh) >> sh;
    }

    /** x86 register write of a size-byte value into a 64-bit parent (32-bit zero-extends; 8/16 merge). */
    static long writeReg(long parent, long value, int size, int shift) {
        if (size == 8) return value;
        if (size == 4) return value & 0xffffffffL;
        long m = mask(size) << shift;
        return (parent & ~m) | ((value << shift) & m);
    }

    private static long szp(long res, int size) {
        long f = 0;
        if (res == 0) f |= ZF;
        if (((res >>> (size * 8 - 1)) & 1) != 0) f |= SF;
        if ((Long.bitCount(res & 0xff) & 1) == 0) f |= PF;
        return f;
    }

    static long addFlags(long flags, long a, long b, long cin, int size) {
        long m = mask(size);
        long res = (a + b + cin) & m;
        boolean cf = size == 8 ? (Long.compareUnsigned(res, a) < 0 || (cin != 0 && res == a)) : ((a + b + cin) >>> (size * 8)) != 0;
        long f = szp(res, size);
        if (cf) f |= CF;
        if ((((a ^ res) & (b ^ res)) >>> (size * 8 - 1) & 1) != 0) f |= OF;
        f |= (a ^ b ^ res) & AF;
        return (flags & ~ARITH) | f;
    }

    static long subFlags(long flags, long a, long b, long bin, int size) {
        long m = mask(size);
        long res = (a - b - bin) & m;
        boolean cf = Long.compareUnsigned(a, b) < 0 || (bin != 0 && a == b);
        long f = szp(res, size);
        if (cf) f |= CF;
        if ((((a ^ b) & (a ^ res)) >>> (size * 8 - 1) & 1) != 0) f |= OF;
        f |= (a ^ b ^ res) & AF;
        return (flags & ~ARITH) | f;
    }

    static long logicFlags(long flags, long res, int size) {
        return (flags & ~ARITH) | szp(res & mask(size), size);
    }
}
