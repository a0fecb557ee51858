package dev.herd.signals.x86_64;

import dev.herd.memory.EngineMemoryView;
import dev.herd.memory.GuestAddressSpace;
import dev.herd.memory.GuestMemory;
import dev.herd.memory.MapFlags;
import dev.herd.memory.Prot;
import dev.herd.unicorn.Unicorn;
import dev.herd.unicorn.UcHook;
import dev.herd.unicorn.UcMemType;
import dev.herd.unicorn.x86_64.X86Reg;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.Random;

/** A real guest address space and one engine over it, as a guest thread has. */
final class GuestFixture implements AutoCloseable {
    static final long CODE = 0x400000, STACK = 0x10000000, STACK_SIZE = 0x10000, RO = 0x11000000,
            ALT = 0x20000000, ALT_SIZE = 0x4000, DATA = 0x30000000;
    static final int ANON = MapFlags.PRIVATE | MapFlags.ANONYMOUS | MapFlags.FIXED;

    final GuestAddressSpace as = GuestAddressSpace.create(1L << 36);
    final GuestMemory memory = as.memory();
    final Unicorn engine = Unicorn.openX86_64();
    final EngineMemoryView view = new EngineMemoryView(as, engine);

    GuestFixture() {
        as.mmap(CODE, 0x4000, Prot.READ | Prot.EXEC, ANON, -1, 0);
        as.mmap(STACK, STACK_SIZE, Prot.READ | Prot.WRITE, ANON, -1, 0);
        as.mmap(RO, 0x4000, Prot.READ, ANON, -1, 0);
        as.mmap(ALT, ALT_SIZE, Prot.READ | Prot.WRITE, ANON, -1, 0);
        as.mmap(DATA, 0x1000, Prot.READ | Prot.WRITE, ANON, -1, 0);
        view.sync();
        engine.hookMemInvalid(UcHook.UC_HOOK_MEM_INVALID, (uc, type, address, size, value) ->
                (type == UcMemType.UC_MEM_READ_UNMAPPED || type == UcMemType.UC_MEM_WRITE_UNMAPPED
                        || type == UcMemType.UC_MEM_FETCH_UNMAPPED) && view.mapOnDemand(address));
        // Linux's initial FPU state (a fresh Unicorn engine has FCW 0, MXCSR 0, all tags valid).
        engine.regWrite(X86Reg.FPCW, 0x37f);
        engine.regWrite(X86Reg.MXCSR, 0x1f80);
        engine.regWrite(X86Reg.FPTAG, 0xffff);
        engine.regWrite(X86Reg.RFLAGS, 0x202);
    }

    void code(long at, byte... bytes) {
        as.writeIgnoringProtection(at, bytes, 0, bytes.length);
    }

    @Override public void close() {
        engine.close();
        as.close();
    }

    // ------------------------------------------------------------ register snapshots

    static final int[] GPRS = {
            X86Reg.RAX, X86Reg.RBX, X86Reg.RCX, X86Reg.RDX, X86Reg.RSI, X86Reg.RDI, X86Reg.RBP, X86Reg.RSP,
            X86Reg.R8, X86Reg.R9, X86Reg.R10, X86Reg.R11, X86Reg.R12, X86Reg.R13, X86Reg.R14, X86Reg.R15,
            X86Reg.RIP, X86Reg.RFLAGS};
    static final String[] GPR_NAMES = {"rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp", "r8", "r9", "r10",
            "r11", "r12", "r13", "r14", "r15", "rip", "rflags"};
    static final int[] FPCTL = {X86Reg.FPCW, X86Reg.FPSW, X86Reg.FPTAG, X86Reg.FOP, X86Reg.FIP, X86Reg.FDP,
            X86Reg.MXCSR};
    static final String[] FPCTL_NAMES = {"fpcw", "fpsw", "fptag", "fop", "fip", "fdp", "mxcsr"};

    /** Every user-visible register the frame covers. */
    record State(long[] gprs, long[] fpctl, byte[][] st, byte[][] xmm) {
        long gpr(int reg) {
            for (int i = 0; i < GPRS.length; i++) if (GPRS[i] == reg) return gprs[i];
            throw new IllegalArgumentException();
        }

        String diff(State o) {
            StringBuilder sb = new StringBuilder();
            for (int i = 0; i < gprs.length; i++) {
                if (gprs[i] != o.gprs[i]) sb.append(String.format("%s %x != %x%n", GPR_NAMES[i], gprs[i], o.gprs[i]));
            }
            for (int i = 0; i < fpctl.length; i++) {
                if (fpctl[i] != o.fpctl[i]) {
                    sb.append(String.format("%s %x != %x%n", FPCTL_NAMES[i], fpctl[i], o.fpctl[i]));
                }
            }
            for (int i = 0; i < 8; i++) if (!Arrays.equals(st[i], o.st[i])) sb.append("st").append(i).append('\n');
            for (int i = 0; i < 16; i++) if (!Arrays.equals(xmm[i], o.xmm[i])) sb.append("xmm").append(i).append('\n');
            return sb.toString();
        }
    }

    State read() {
        long[] g = new long[GPRS.length];
        engine.regReadBatch(GPRS, g);
        long[] f = new long[FPCTL.length];
        engine.regReadBatch(FPCTL, f);
        byte[][] st = new byte[8][];
        for (int i = 0; i < 8; i++) {
            byte[] b = new byte[10];
            engine.regRead(X86Reg.ST0 + i, MemorySegment.ofArray(b));
            st[i] = b;
        }
        byte[][] xmm = new byte[16][];
        for (int i = 0; i < 16; i++) {
            byte[] b = new byte[16];
            engine.regRead(X86Reg.XMM0 + i, MemorySegment.ofArray(b));
            xmm[i] = b;
        }
        return new State(g, f, st, xmm);
    }

    /**
     * Random values in every register (flags: arithmetic bits, DF, TF, AC, RF over IF), RSP and RIP
     * as given. FPSW gets a random TOP; some x87 registers are tagged empty.
     */
    void randomize(Random rnd, long rsp, long rip) {
        for (int i = 0; i < 16; i++) engine.regWrite(GPRS[i], rnd.nextLong());
        engine.regWrite(X86Reg.RSP, rsp);
        engine.regWrite(X86Reg.RIP, rip);
        long arith = SignalFrameX86_64.EFLAGS_CF | SignalFrameX86_64.EFLAGS_PF | SignalFrameX86_64.EFLAGS_AF
                | SignalFrameX86_64.EFLAGS_ZF | SignalFrameX86_64.EFLAGS_SF | SignalFrameX86_64.EFLAGS_OF;
        engine.regWrite(X86Reg.RFLAGS, 0x202 | (rnd.nextLong() & arith) | SignalFrameX86_64.EFLAGS_DF
                | SignalFrameX86_64.EFLAGS_TF | SignalFrameX86_64.EFLAGS_AC | SignalFrameX86_64.EFLAGS_RF);
        engine.regWrite(X86Reg.FPCW, 0x37f ^ (rnd.nextInt() & 0x0c3f));
        engine.regWrite(X86Reg.FPSW, rnd.nextInt() & 0xffff);
        for (int i = 0; i < 8; i++) {
            byte[] b = new byte[10];
            rnd.nextBytes(b);
            if (i == 2) Arrays.fill(b, (byte) 0); // a zero
            engine.regWrite(X86Reg.ST0 + i, MemorySegment.ofArray(b));
        }
        engine.regWrite(X86Reg.FPTAG, 0x0c30 | 0xc000); // physical 2, 5 and 7 empty
        engine.regWrite(X86Reg.FOP, rnd.nextInt() & 0x7ff);
        engine.regWrite(X86Reg.FIP, rnd.nextLong() & 0x7fffffffffffL);
        engine.regWrite(X86Reg.FDP, rnd.nextLong() & 0x7fffffffffffL);
        engine.regWrite(X86Reg.MXCSR, rnd.nextInt() & 0xffff);
        for (int i = 0; i < 16; i++) {
            byte[] b = new byte[16];
            rnd.nextBytes(b);
            engine.regWrite(X86Reg.XMM0 + i, MemorySegment.ofArray(b));
        }
    }
}
