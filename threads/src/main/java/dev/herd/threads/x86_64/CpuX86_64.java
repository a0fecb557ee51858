package dev.herd.threads.x86_64;

import dev.herd.threads.CpuArch;
import dev.herd.threads.ThreadStates;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import dev.herd.unicorn.Unicorn;
import dev.herd.unicorn.x86_64.X86Reg;

/** x86_64 guests: syscall instruction, args in rdi rsi rdx r10 r8 r9, number and result in rax. */
public final class CpuX86_64 implements CpuArch {
    private static final int[] SYSCALL_REGS = {
            X86Reg.RAX, X86Reg.RDI, X86Reg.RSI, X86Reg.RDX, X86Reg.R10, X86Reg.R8, X86Reg.R9};

    // Both probe scratch engines; the answers are kept per library build (LibraryFacts).
    private final ExceptionLatchX86_64 exceptionLatch = ExceptionLatchX86_64.probeCached();
    private final CpuidX86_64 cpuid = CpuidX86_64.probeCached();

    @Override public String name() { return "x86_64"; }

    @Override public void afterException(Unicorn engine, int vector) {
        exceptionLatch.clear(engine);
    }

    /**
     * Control bits Linux runs user code with that matter to the emulated CPU (DESIGN fact 12):
     * CR0.MP|NE on top of libunicorn's PE|ET (NE: an unmasked x87 exception is #MF, i.e. SIGFPE,
     * not a silent FERR#); paging stays off, as libunicorn's 64-bit mode runs without page tables.
     */
    public static final long USER_CR0 = X86ControlBits.CR0_PE | X86ControlBits.CR0_MP
            | X86ControlBits.CR0_ET | X86ControlBits.CR0_NE;
    /**
     * CR4.OSFXSR|OSXMMEXCPT, which every Linux process runs with. libunicorn opens engines with
     * CR4 = 0, and then fxsave/fxrstor skip the XMM registers: glibc's lazy-binding trampoline
     * ({@code _dl_runtime_resolve_fxsave}) lost every floating-point argument of a first call.
     */
    public static final long USER_CR4 = X86ControlBits.CR4_OSFXSR | X86ControlBits.CR4_OSXMMEXCPT;

    /**
     * An engine in the state Linux gives user code: the control bits above, the 64-bit user
     * selectors (CS {@code __USER_CS} 0x33, SS {@code __USER_DS} 0x2b; libunicorn leaves all
     * selectors 0), and CPUID answered as {@link CpuidX86_64} says. The register file itself
     * (FPU control, MXCSR, flags) is set by {@link #initProcessRegisters} or copied by clone.
     */
    @Override public Unicorn openEngine() {
        Unicorn engine = Unicorn.openX86_64();
        try {
            engine.regWrite(X86Reg.CR0, USER_CR0);
            engine.regWrite(X86Reg.CR4, USER_CR4);
            engine.regWrite(X86Reg.CS, X86ControlBits.USER_CS);
            engine.regWrite(X86Reg.SS, X86ControlBits.USER_DS);
            cpuid.install(engine);
        } catch (RuntimeException e) {
            engine.close();
            throw e;
        }
        return engine;
    }

    @Override public long hwcap() { return cpuid.hwcap(); }

    @Override public int pcRegister() { return X86Reg.RIP; }

    @Override public int spRegister() { return X86Reg.RSP; }

    @Override public void hookTraps(Unicorn engine, Runnable onSyscall, java.util.function.IntConsumer onException) {
        engine.hookSyscall(uc -> onSyscall.run());
        engine.hookInterrupt((uc, intno) -> onException.accept(intno));
    }

    @Override public void readSyscall(Unicorn engine, long[] out) {
        engine.regReadBatch(SYSCALL_REGS, out);
    }

    @Override public void writeSyscallResult(Unicorn engine, long result) {
        engine.regWrite(X86Reg.RAX, result);
    }

    @Override public void setThreadPointer(Unicorn engine, long value) {
        engine.regWrite(X86Reg.FS_BASE, value);
    }

    /** The syscall hook sees RIP on the 2-byte {@code syscall} instruction itself. */
    @Override public long pcAfterSyscall(Unicorn engine) {
        return engine.regRead(X86Reg.RIP) + 2;
    }

    private static final int[] THREAD_STATE = {
            X86Reg.RAX, X86Reg.RBX, X86Reg.RCX, X86Reg.RDX, X86Reg.RSI, X86Reg.RDI, X86Reg.RBP, X86Reg.RSP,
            X86Reg.R8, X86Reg.R9, X86Reg.R10, X86Reg.R11, X86Reg.R12, X86Reg.R13, X86Reg.R14, X86Reg.R15,
            X86Reg.RIP, X86Reg.RFLAGS, X86Reg.FS_BASE, X86Reg.GS_BASE, X86Reg.MXCSR, X86Reg.FPCW, X86Reg.FPSW,
            X86Reg.FPTAG};

    /** Registers of 16 bytes (vector registers; x87's 80-bit stack on x86_64), after the 64-bit ones. */
    private static final int[] WIDE;

    static {
        int[] wide = new int[16 + 8];
        for (int i = 0; i < 16; i++) wide[i] = X86Reg.XMM0 + i;
        // x87 stack (80-bit): the child inherits it, and a pooled engine must not keep its
        // previous thread's.
        for (int i = 0; i < 8; i++) wide[16 + i] = X86Reg.ST0 + i;
        WIDE = wide;
    }

    @Override public byte[] saveThreadState(Unicorn engine) {
        return ThreadStates.save(engine, THREAD_STATE, WIDE);
    }

    @Override public void restoreThreadState(Unicorn engine, byte[] state) {
        ThreadStates.restore(engine, THREAD_STATE, WIDE, state);
    }

    @Override public void initProcessRegisters(Unicorn engine, long entry, long sp) {
        // The ELF entry ABI (x86_64 psABI 3.4.1): rsp -> argc, rdx = function for atexit (0 here),
        // all other GPRs unspecified; Linux zeroes them, and so do we.
        for (int r : new int[]{X86Reg.RAX, X86Reg.RBX, X86Reg.RCX, X86Reg.RDX, X86Reg.RSI, X86Reg.RDI,
                X86Reg.RBP, X86Reg.R8, X86Reg.R9, X86Reg.R10, X86Reg.R11, X86Reg.R12, X86Reg.R13,
                X86Reg.R14, X86Reg.R15}) {
            engine.regWrite(r, 0);
        }
        engine.regWrite(X86Reg.RSP, sp);
        engine.regWrite(X86Reg.RIP, entry);
        engine.regWrite(X86Reg.RFLAGS, 0x202);
        // Linux starts a process with the FPU in its FNINIT state and MXCSR at its reset value
        // (all exceptions masked); a fresh Unicorn engine has both at 0, i.e. unmasked exceptions.
        engine.regWrite(X86Reg.FPCW, 0x37f);
        engine.regWrite(X86Reg.MXCSR, 0x1f80);
        // x87 and SSE registers 0, as Linux starts a process (an engine that ran the image before
        // an execve in this process holds that image's values).
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment zero = arena.allocate(16, 16);
            for (int i = 0; i < 8; i++) engine.regWrite(X86Reg.FP0 + i, zero);
            for (int i = 0; i < 16; i++) engine.regWrite(X86Reg.XMM0 + i, zero);
        }
        // All x87 registers empty (a fresh engine reports them all valid, which a signal frame's
        // abridged tag word would show).
        engine.regWrite(X86Reg.FPTAG, 0xffff);
    }
}
