package dev.herd.threads.atomics;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import dev.herd.unicorn.x86_64.X86Reg;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Finds x86-64 atomic sites in code by a Capstone linear sweep. Not thread-safe (one per
 * {@link AtomicSitesX86_64}, used under its scan lock).
 *
 * <p>The sweep decodes without detail (instruction boundaries and ids only); candidates (a lockable
 * mnemonic with a LOCK prefix byte, {@code xchg}, {@code mfence}) are re-decoded with detail and
 * accepted only if they are a valid atomic form with a memory operand. Where the sweep finds an
 * undecodable byte it skips one byte, as objdump does, and distrusts candidates in the next
 * {@link #TAINT} bytes (the sweep is probably out of step there; real atomics in that window are
 * missed, which leaves them torn but corrupts nothing). Linear sweep can still mis-decode data
 * placed in text; the acceptance rules keep such false sites rare but not impossible.
 */
final class X86AtomicDecoder implements AutoCloseable {
    /**
     * Candidates closer than this many bytes after an undecodable byte are rejected: there the
     * sweep is probably out of step with the real instruction stream. Capstone 4 cannot decode
     * AVX-512 mask instructions (kortest, kmov...), and in glibc's *_evex/*_avx512 string functions
     * the resulting desync decodes bytes as bogus {@code xchg}/{@code lock} forms.
     */
    static final int TAINT = 256;
    /** Candidates rejected because they followed an undecodable byte (diagnostics). */
    int rejectedAfterInvalid;
    /** Bytes decoded per cs_disasm call of the sweep. */
    private static final int CHUNK = 16 * 1024;

    /** A register operand: 64-bit parent's Unicorn id, width, bit shift (8 for ah..dh). */
    record Reg(int uc, int size, int shift) {}

    static final int SEG_NONE = 0, SEG_FS = 1, SEG_GS = 2;

    private final Capstone sweep;
    private final Capstone detail;
    /** Capstone insn id → Site kind, or -1. */
    private final int[] kindById;
    private final int xchgId, mfenceId;
    /** Capstone reg id → Reg (GPRs only). */
    private final Reg[] regs;
    private final int ripId, eipId, fsId, gsId;

    X86AtomicDecoder() {
        sweep = new Capstone(false);
        try {
            detail = new Capstone(true);
        } catch (RuntimeException e) {
            sweep.close();
            throw e;
        }
        Map<String, Integer> insn = sweep.insnIds();
        int max = insn.values().stream().mapToInt(Integer::intValue).max().orElse(0);
        kindById = new int[max + 1];
        Arrays.fill(kindById, -1);
        for (int k = 0; k < Site.NAMES.length; k++) {
            Integer id = insn.get(Site.NAMES[k]);
            if (id == null) throw new IllegalStateException("Capstone lacks instruction " + Site.NAMES[k]);
            kindById[id] = k;
        }
        xchgId = insn.get("xchg");
        mfenceId = insn.get("mfence");
        Map<String, Integer> rn = sweep.regIds();
        int rmax = rn.values().stream().mapToInt(Integer::intValue).max().orElse(0);
        regs = new Reg[rmax + 1];
        String[] legacy = {"a", "b", "c", "d"};
        int[] legacyUc = {X86Reg.RAX, X86Reg.RBX, X86Reg.RCX, X86Reg.RDX};
        for (int i = 0; i < 4; i++) {
            String x = legacy[i];
            put(rn, "r" + x + "x", legacyUc[i], 8, 0);
            put(rn, "e" + x + "x", legacyUc[i], 4, 0);
            put(rn, x + "x", legacyUc[i], 2, 0);
            put(rn, x + "l", legacyUc[i], 1, 0);
            put(rn, x + "h", legacyUc[i], 1, 8);
        }
        String[] idx = {"si", "di", "bp", "sp"};
        int[] idxUc = {X86Reg.RSI, X86Reg.RDI, X86Reg.RBP, X86Reg.RSP};
        for (int i = 0; i < 4; i++) {
            put(rn, "r" + idx[i], idxUc[i], 8, 0);
            put(rn, "e" + idx[i], idxUc[i], 4, 0);
            put(rn, idx[i], idxUc[i], 2, 0);
            put(rn, idx[i] + "l", idxUc[i], 1, 0);
        }
        int[] rUc = {X86Reg.R8, X86Reg.R9, X86Reg.R10, X86Reg.R11, X86Reg.R12, X86Reg.R13, X86Reg.R14, X86Reg.R15};
        for (int i = 0; i < 8; i++) {
            String n = "r" + (i + 8);
            put(rn, n, rUc[i], 8, 0);
            put(rn, n + "d", rUc[i], 4, 0);
            put(rn, n + "w", rUc[i], 2, 0);
            put(rn, n + "b", rUc[i], 1, 0);
        }
        ripId = rn.getOrDefault("rip", -1);
        eipId = rn.getOrDefault("eip", -1);
        fsId = rn.getOrDefault("fs", -1);
        gsId = rn.getOrDefault("gs", -1);
    }

    private void put(Map<String, Integer> rn, String name, int uc, int size, int shift) {
        Integer id = rn.get(name);
        if (id == null) throw new IllegalStateException("Capstone lacks register " + name);
        regs[id] = new Reg(uc, size, shift);
    }

    /** True if the bytes at off start with legacy prefixes that include LOCK (f0). */
    static boolean hasLockPrefix(byte[] b, int off, int len) {
        for (int i = off; i < off + len; i++) {
            int x = b[i] & 0xff;
            switch (x) {
                case 0xf0:
                    return true;
                case 0xf2, 0xf3, 0x2e, 0x36, 0x3e, 0x26, 0x64, 0x65, 0x66, 0x67:
                    continue;
                default:
                    return false;
            }
        }
        return false;
    }

    /** Decodes all of {@code code[0, len)}; see {@link #decode(byte[], int, long, int, int[])}. */
    List<Site> decode(byte[] code, int len, long address) {
        return decode(code, len, address, len, new int[1]);
    }

    /**
     * Decodes the instructions of {@code code[0, len)} (guest address {@code address}) that start
     * before offset {@code limit} and returns the atomic sites among them (not yet patched).
     * {@code next[0]} receives the offset where a sweep of the following bytes must resume.
     */
    List<Site> decode(byte[] code, int len, long address, int limit, int[] next) {
        List<Site> out = new ArrayList<>();
        int pos = 0;
        long lastInvalid = Long.MIN_VALUE / 2;
        MemorySegment all = sweep.codeBuffer(code, 0, len);
        while (pos < limit) {
            int n = Math.min(CHUNK, len - pos);
            MemorySegment insns = sweep.disasm(all.asSlice(pos), n, address + pos, 0);
            int cnt = Capstone.count(insns);
            if (cnt == 0) {
                lastInvalid = pos;
                pos++; // undecodable byte (or a truncated instruction at the end)
                continue;
            }
            try {
                for (int i = 0; i < cnt && pos < limit; i++) {
                    int id = Capstone.id(insns, i);
                    int isz = Capstone.size(insns, i);
                    int off = (int) (Capstone.address(insns, i) - address);
                    if (id > 0 && id < kindById.length && kindById[id] >= 0) {
                        int kind = kindById[id];
                        boolean candidate = kind == Site.MFENCE || kind == Site.XCHG || hasLockPrefix(code, off, isz);
                        if (candidate && off - lastInvalid < TAINT) {
                            rejectedAfterInvalid++;
                        } else if (candidate) {
                            Site s = decodeOne(code, off, isz, address + off, kind);
                            if (s != null) out.add(s);
                        }
                    }
                    pos = off + isz;
                }
            } finally {
                Capstone.free(insns);
            }
        }
        next[0] = pos;
        return out;
    }

    /** Re-decodes one candidate with detail; returns its Site or null if it is not a patchable atomic form. */
    private Site decodeOne(byte[] code, int off, int isz, long pc, int kind) {
        if (isz < 2) return null;
        MemorySegment buf = detail.codeBuffer(code, off, isz);
        MemorySegment insns = detail.disasm(buf, isz, pc, 1);
        if (Capstone.count(insns) != 1) {
            Capstone.free(insns);
            return null;
        }
        try {
            if (Capstone.size(insns, 0) != isz) return null;
            return build(Capstone.x86Detail(insns, 0), Arrays.copyOfRange(code, off, off + isz), pc, kind);
        } finally {
            Capstone.free(insns);
        }
    }

    private static final class Slots {
        final int[] ids = new int[12];
        int n;

        int slot(int uc) {
            for (int i = 0; i < n; i++) if (ids[i] == uc) return i;
            ids[n] = uc;
            return n++;
        }
    }

    private Site build(MemorySegment x86, byte[] bytes, long pc, int kind) {
        int isz = bytes.length;
        if (kind == Site.MFENCE) {
            return new Site(pc, isz, kind, 0, bytes, -1, -1, -1, 0, 0, false, false, 0, -1, 0, 0, -1, -1, -1, -1, -1, -1, new int[0]);
        }
        int opCount = Byte.toUnsignedInt(x86.get(JAVA_BYTE, Capstone.X86_OP_COUNT));
        if (opCount < 1 || opCount > 8) return null;
        int memIdx = -1, otherIdx = -1;
        for (int i = 0; i < opCount; i++) {
            int type = x86.get(JAVA_INT, Capstone.X86_OPERANDS + i * Capstone.X86_OP_SIZEOF + Capstone.OP_TYPE);
            if (type == Capstone.X86_OP_MEM) {
                if (memIdx >= 0) return null;
                memIdx = i;
            } else if (otherIdx < 0) {
                otherIdx = i;
            } else {
                return null;
            }
        }
        if (memIdx < 0) return null;
        boolean lock = hasLockPrefix(bytes, 0, isz);
        if (kind != Site.XCHG && !lock) return null;
        if (kind != Site.XCHG && memIdx != 0) return null; // LOCK needs a memory destination
        long memOp = Capstone.X86_OPERANDS + memIdx * Capstone.X86_OP_SIZEOF;
        int size = Byte.toUnsignedInt(x86.get(JAVA_BYTE, memOp + Capstone.OP_SIZE));
        boolean unary = kind == Site.INC || kind == Site.DEC || kind == Site.NEG || kind == Site.NOT
                || kind == Site.CMPXCHG8B || kind == Site.CMPXCHG16B;
        if (unary != (otherIdx < 0)) return null;
        switch (kind) {
            case Site.CMPXCHG8B -> { if (size != 8) return null; }
            case Site.CMPXCHG16B -> { if (size != 16) return null; }
            case Site.BTS, Site.BTR, Site.BTC -> { if (size != 2 && size != 4 && size != 8) return null; }
            default -> { if (size != 1 && size != 2 && size != 4 && size != 8) return null; }
        }
        Slots slots = new Slots();
        // memory operand
        int seg = x86.get(JAVA_INT, memOp + Capstone.OP_MEM + Capstone.MEM_SEGMENT);
        int base = x86.get(JAVA_INT, memOp + Capstone.OP_MEM + Capstone.MEM_BASE);
        int index = x86.get(JAVA_INT, memOp + Capstone.OP_MEM + Capstone.MEM_INDEX);
        int scale = x86.get(JAVA_INT, memOp + Capstone.OP_MEM + Capstone.MEM_SCALE);
        long disp = x86.get(JAVA_LONG, memOp + Capstone.OP_MEM + Capstone.MEM_DISP);
        int addrSize = Byte.toUnsignedInt(x86.get(JAVA_BYTE, Capstone.X86_ADDR_SIZE));
        boolean addr32 = addrSize == 4;
        if (addrSize != 4 && addrSize != 8) return null;
        int baseSlot = -1, indexSlot = -1, segSlot = -1;
        if (base == ripId || base == eipId) {
            if (base != 0 && index != 0 && reg(index) != null) return null;
            disp = pc + isz + disp; // absolute; truncated below for addr32
            index = 0;
        } else if (base != 0) {
            Reg r = reg(base);
            if (r == null || r.size() != (addr32 ? 4 : 8)) return null;
            baseSlot = slots.slot(r.uc());
        }
        if (index != 0) {
            Reg r = reg(index);
            if (r != null) {
                if (r.size() != (addr32 ? 4 : 8)) return null;
                indexSlot = slots.slot(r.uc());
            } // else riz/eiz: no index
        }
        if (scale == 0) scale = 1;
        if (scale != 1 && scale != 2 && scale != 4 && scale != 8) return null;
        if (seg != 0) {
            if (seg == fsId) segSlot = slots.slot(X86Reg.FS_BASE);
            else if (seg == gsId) segSlot = slots.slot(X86Reg.GS_BASE);
            // cs/ds/es/ss overrides have base 0 in 64-bit mode
        }
        // source operand
        boolean srcIsImm = false;
        long imm = 0;
        int srcReg = -1, srcSize = 0, srcShift = 0, srcSlot = -1;
        if (otherIdx >= 0) {
            long op = Capstone.X86_OPERANDS + otherIdx * Capstone.X86_OP_SIZEOF;
            int type = x86.get(JAVA_INT, op + Capstone.OP_TYPE);
            if (type == Capstone.X86_OP_IMM) {
                boolean immOk = kind <= Site.XOR || kind == Site.BTS || kind == Site.BTR || kind == Site.BTC;
                if (!immOk) return null;
                srcIsImm = true;
                imm = x86.get(JAVA_LONG, op + Capstone.OP_IMM);
            } else if (type == Capstone.X86_OP_REG) {
                Reg r = reg(x86.get(JAVA_INT, op + Capstone.OP_REG));
                if (r == null || r.size() != size) return null;
                srcReg = r.uc();
                srcSize = r.size();
                srcShift = r.shift();
                srcSlot = slots.slot(r.uc());
            } else {
                return null;
            }
        }
        int raxSlot = -1, rdxSlot = -1, rbxSlot = -1, rcxSlot = -1;
        if (kind == Site.CMPXCHG || kind == Site.CMPXCHG8B || kind == Site.CMPXCHG16B) raxSlot = slots.slot(X86Reg.RAX);
        if (kind == Site.CMPXCHG8B || kind == Site.CMPXCHG16B) {
            rdxSlot = slots.slot(X86Reg.RDX);
            rbxSlot = slots.slot(X86Reg.RBX);
            rcxSlot = slots.slot(X86Reg.RCX);
        }
        int flagsSlot = kind == Site.XCHG || kind == Site.NOT ? -1 : slots.slot(X86Reg.EFLAGS);
        return new Site(pc, isz, kind, size, bytes, baseSlot, indexSlot, segSlot, scale, disp, addr32, srcIsImm, imm,
                srcReg, srcSize, srcShift, srcSlot, raxSlot, rdxSlot, rbxSlot, rcxSlot, flagsSlot,
                Arrays.copyOf(slots.ids, slots.n));
    }

    private Reg reg(int csId) {
        return csId > 0 && csId < regs.length ? regs[csId] : null;
    }

    @Override
    public void close() {
        try {
            sweep.close();
        } finally {
            detail.close();
        }
    }
}
