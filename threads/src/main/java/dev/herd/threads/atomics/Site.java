package dev.herd.threads.atomics;

/**
 * One patched atomic instruction, decoded once at scan time; immutable, shared by all threads.
 *
 * <p>Register operands are held as their 64-bit parent's Unicorn id plus width and bit shift
 * ({@code ah} = RAX, 1 byte, shift 8), so writes can follow x86 rules (32-bit writes zero-extend,
 * 8/16-bit writes merge). {@link #readIds} lists every register {@code execute} reads, in one
 * batch; the {@code *Slot} fields index into it (-1 = not read).
 */
final class Site {
    /** Operation kinds. */
    static final int ADD = 0, ADC = 1, SUB = 2, SBB = 3, AND = 4, OR = 5, XOR = 6, INC = 7, DEC = 8, NEG = 9, NOT = 10,
            XADD = 11, XCHG = 12, CMPXCHG = 13, CMPXCHG8B = 14, CMPXCHG16B = 15, BTS = 16, BTR = 17, BTC = 18, MFENCE = 19;
    static final String[] NAMES = {"add", "adc", "sub", "sbb", "and", "or", "xor", "inc", "dec", "neg", "not", "xadd", "xchg",
            "cmpxchg", "cmpxchg8b", "cmpxchg16b", "bts", "btr", "btc", "mfence"};

    final long pc;
    /** Length of the original instruction in bytes (the patch is syscall + length-2 NOPs). */
    final int length;
    final int kind;
    /** Operand size in bytes: 1, 2, 4, 8 or 16 (cmpxchg16b). */
    final int size;
    /** The original instruction bytes (so scans can tell whether a site is still ours). */
    final byte[] original;

    // memory operand: ea = segBase + trunc(base + index*scale + disp) (absolute ea when ripRelative)
    final int baseSlot, indexSlot, segSlot;
    final int scale;
    final long disp;
    final boolean addr32;

    // source operand
    final boolean srcIsImm;
    final long imm;
    /** Unicorn id of the source register's 64-bit parent (or -1), its width and shift. */
    final int srcReg, srcSize, srcShift, srcSlot;

    final int raxSlot, rdxSlot, rbxSlot, rcxSlot, flagsSlot;
    final int[] readIds;
    /** Registers execute writes back, in order (values computed per kind; see AtomicSitesX86_64). */
    final int[] writeIds;

    Site(long pc, int length, int kind, int size, byte[] original, int baseSlot, int indexSlot, int segSlot, int scale,
         long disp, boolean addr32, boolean srcIsImm, long imm, int srcReg, int srcSize, int srcShift, int srcSlot,
         int raxSlot, int rdxSlot, int rbxSlot, int rcxSlot, int flagsSlot, int[] readIds) {
        this.pc = pc;
        this.length = length;
        this.kind = kind;
        this.size = size;
        this.original = original;
        this.baseSlot = baseSlot;
        this.indexSlot = indexSlot;
        this.segSlot = segSlot;
        this.scale = scale;
        this.disp = disp;
        this.addr32 = addr32;
        this.srcIsImm = srcIsImm;
        this.imm = imm;
        this.srcReg = srcReg;
        this.srcSize = srcSize;
        this.srcShift = srcShift;
        this.srcSlot = srcSlot;
        this.raxSlot = raxSlot;
        this.rdxSlot = rdxSlot;
        this.rbxSlot = rbxSlot;
        this.rcxSlot = rcxSlot;
        this.flagsSlot = flagsSlot;
        this.readIds = readIds;
        int fl = dev.herd.unicorn.x86_64.X86Reg.EFLAGS, rax = dev.herd.unicorn.x86_64.X86Reg.RAX, rdx = dev.herd.unicorn.x86_64.X86Reg.RDX;
        this.writeIds = switch (kind) {
            case NOT, MFENCE -> new int[0];
            case XCHG -> new int[] {srcReg};
            case XADD -> new int[] {srcReg, fl};
            case CMPXCHG -> new int[] {rax, fl};
            case CMPXCHG8B, CMPXCHG16B -> new int[] {rax, rdx, fl};
            default -> new int[] {fl};
        };
    }

    /** The patch: {@code syscall} (0f 05) then single-byte NOPs up to the original length. */
    byte[] patch() {
        byte[] p = new byte[length];
        java.util.Arrays.fill(p, (byte) 0x90);
        p[0] = 0x0f;
        p[1] = 0x05;
        return p;
    }

    @Override
    public String toString() {
        return String.format("Site[%#x len=%d %s%d]", pc, length, NAMES[kind], size * 8);
    }
}
