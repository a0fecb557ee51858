package dev.herd.threads.x86_64;

import dev.herd.threads.CpuArch;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import dev.herd.unicorn.Unicorn;
import dev.herd.unicorn.x86_64.X86Reg;

/** x86_64 guests: syscall instruction, args in rdi rsi rdx r10 r8 r9, number and result in rax. */
public final class CpuX86_64 implements CpuArch {
    private static final int[] SYSCALL_REGS = {
            X86Reg.RAX, X86Reg.RDI, X86Reg.RSI, X86Reg.RDX, X86Reg.R10, X86Reg.R8, X86Reg.R9};

    private final ExceptionLatchX86_64 exceptionLatch = ExceptionLatchX86_64.probe();
    private final CpuidX86_64 cpuid = CpuidX86_64.probe();

    @Override public String name() { return "x86_64"; }

    @Override public void afterException(Unicorn engine, int vector) {
        exceptionLatch.clear(engine);
    }

    /** An engine that answers CPUID as {@link CpuidX86_64} says. */
    @Override public Unicorn openEngine() {
        Unicorn engine = Unicorn.openX86_64();
        try {
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

    @Override public void hookSyscalls(Unicorn engine, Runnable onSyscall) {
        engine.hookSyscall(uc -> onSyscall.run());
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

    @Override public void copyThreadState(Unicorn from, Unicorn to) {
        long[] values = new long[THREAD_STATE.length];
        from.regReadBatch(THREAD_STATE, values);
        to.regWriteBatch(THREAD_STATE, values);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment wide = arena.allocate(16, 16);
            for (int i = 0; i < 16; i++) {
                from.regRead(X86Reg.XMM0 + i, wide);
                to.regWrite(X86Reg.XMM0 + i, wide);
            }
            // x87 stack (80-bit): the child inherits it, and a pooled engine must not keep its
            // previous thread's.
            for (int i = 0; i < 8; i++) {
                from.regRead(X86Reg.ST0 + i, wide);
                to.regWrite(X86Reg.ST0 + i, wide);
            }
        }
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
        // All x87 registers empty (a fresh engine reports them all valid, which a signal frame's
        // abridged tag word would show).
        engine.regWrite(X86Reg.FPTAG, 0xffff);
    }
}
