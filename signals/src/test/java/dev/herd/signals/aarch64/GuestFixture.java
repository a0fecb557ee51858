package dev.herd.signals.aarch64;

import dev.herd.memory.EngineMemoryView;
import dev.herd.memory.GuestAddressSpace;
import dev.herd.memory.GuestMemory;
import dev.herd.memory.MapFlags;
import dev.herd.memory.Prot;
import dev.herd.unicorn.UcHook;
import dev.herd.unicorn.UcMemType;
import dev.herd.unicorn.Unicorn;
import dev.herd.unicorn.aarch64.Arm64Reg;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.Random;

/** A real guest address space and one aarch64 engine over it, as a guest thread has. */
final class GuestFixture implements AutoCloseable {
    static final long CODE = 0x400000, STACK = 0x10000000, STACK_SIZE = 0x10000, RO = 0x11000000,
            ALT = 0x20000000, ALT_SIZE = 0x4000, DATA = 0x30000000, TRAMPOLINE = 0x40000000;
    static final int ANON = MapFlags.PRIVATE | MapFlags.ANONYMOUS | MapFlags.FIXED;

    final GuestAddressSpace as = GuestAddressSpace.create(1L << 36);
    final GuestMemory memory = as.memory();
    final Unicorn engine = Unicorn.openAarch64();
    final EngineMemoryView view = new EngineMemoryView(as, engine);

    GuestFixture() {
        as.mmap(CODE, 0x4000, Prot.READ | Prot.EXEC, ANON, -1, 0);
        as.mmap(STACK, STACK_SIZE, Prot.READ | Prot.WRITE, ANON, -1, 0);
        as.mmap(RO, 0x4000, Prot.READ, ANON, -1, 0);
        as.mmap(ALT, ALT_SIZE, Prot.READ | Prot.WRITE, ANON, -1, 0);
        as.mmap(DATA, 0x1000, Prot.READ | Prot.WRITE, ANON, -1, 0);
        SigreturnTrampoline.install(as, TRAMPOLINE);
        view.sync();
        engine.hookMemInvalid(UcHook.UC_HOOK_MEM_INVALID, (uc, type, address, size, value) ->
                (type == UcMemType.UC_MEM_READ_UNMAPPED || type == UcMemType.UC_MEM_WRITE_UNMAPPED
                        || type == UcMemType.UC_MEM_FETCH_UNMAPPED) && view.mapOnDemand(address));
        // A Linux user thread runs in EL0t with D, A, I, F clear (a fresh engine is EL1h, DAIF set).
        engine.regWrite(Arm64Reg.PSTATE, 0);
    }

    void code(long at, byte... bytes) {
        as.writeIgnoringProtection(at, bytes, 0, bytes.length);
    }

    /** Little-endian A64 instruction words as bytes. */
    static byte[] insns(int... words) {
        byte[] b = new byte[4 * words.length];
        for (int i = 0; i < words.length; i++) {
            for (int k = 0; k < 4; k++) b[4 * i + k] = (byte) (words[i] >>> (8 * k));
        }
        return b;
    }

    @Override public void close() {
        engine.close();
        as.close();
    }

    // ------------------------------------------------------------ register snapshots

    /** x0..x30, sp, pc, pstate, fpsr, fpcr. */
    static final int[] GPRS = new int[36];
    static final String[] GPR_NAMES = new String[36];
    static {
        for (int i = 0; i < 29; i++) {
            GPRS[i] = Arm64Reg.X0 + i;
            GPR_NAMES[i] = "x" + i;
        }
        int[] rest = {Arm64Reg.X29, Arm64Reg.X30, Arm64Reg.SP, Arm64Reg.PC, Arm64Reg.PSTATE, Arm64Reg.FPSR,
                Arm64Reg.FPCR};
        String[] names = {"x29", "x30", "sp", "pc", "pstate", "fpsr", "fpcr"};
        System.arraycopy(rest, 0, GPRS, 29, rest.length);
        System.arraycopy(names, 0, GPR_NAMES, 29, names.length);
    }
    static final int I_SP = 31, I_PC = 32, I_PSTATE = 33, I_FPSR = 34, I_FPCR = 35;

    /** Every user-visible register the frame covers. */
    record State(long[] gprs, byte[][] v) {
        long x(int n) { return gprs[n]; }
        long sp() { return gprs[I_SP]; }
        long pc() { return gprs[I_PC]; }
        long pstate() { return gprs[I_PSTATE]; }

        String diff(State o) {
            StringBuilder sb = new StringBuilder();
            for (int i = 0; i < gprs.length; i++) {
                if (gprs[i] != o.gprs[i]) sb.append(String.format("%s %x != %x%n", GPR_NAMES[i], gprs[i], o.gprs[i]));
            }
            for (int i = 0; i < 32; i++) if (!Arrays.equals(v[i], o.v[i])) sb.append("v").append(i).append('\n');
            return sb.toString();
        }

        State with(int index, long value) {
            long[] g = gprs.clone();
            g[index] = value;
            return new State(g, v);
        }
    }

    State read() {
        long[] g = new long[GPRS.length];
        engine.regReadBatch(GPRS, g);
        byte[][] v = new byte[32][];
        for (int i = 0; i < 32; i++) {
            byte[] b = new byte[16];
            engine.regRead(Arm64Reg.Q0 + i, MemorySegment.ofArray(b));
            v[i] = b;
        }
        return new State(g, v);
    }

    /**
     * Random values in x0..x30, every V register, NZCV and FPSR/FPCR (the engine keeps the bits
     * its CPU implements), SP and PC as given, EL0t.
     */
    void randomize(Random rnd, long sp, long pc) {
        for (int i = 0; i < 31; i++) engine.regWrite(GPRS[i], rnd.nextLong());
        engine.regWrite(Arm64Reg.SP, sp);
        engine.regWrite(Arm64Reg.PC, pc);
        engine.regWrite(Arm64Reg.PSTATE, rnd.nextLong() & SignalFrameAarch64.PSR_NZCV);
        engine.regWrite(Arm64Reg.FPSR, rnd.nextInt() & 0xf800009fL);
        engine.regWrite(Arm64Reg.FPCR, rnd.nextInt() & 0x07ff9f00L);
        for (int i = 0; i < 32; i++) {
            byte[] b = new byte[16];
            rnd.nextBytes(b);
            engine.regWrite(Arm64Reg.V0 + i, MemorySegment.ofArray(b));
        }
    }
}
