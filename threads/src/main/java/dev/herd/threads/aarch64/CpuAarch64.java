package dev.herd.threads.aarch64;

import dev.herd.threads.CpuArch;
import dev.herd.threads.ThreadStates;
import dev.herd.unicorn.Unicorn;
import dev.herd.unicorn.aarch64.Arm64Cpu;
import dev.herd.unicorn.aarch64.Arm64Reg;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.function.IntConsumer;

/**
 * aarch64 guests: {@code svc #0} with the number in x8, arguments in x0-x5, the result in x0; the
 * thread pointer in TPIDR_EL0.
 *
 * <p>The engine runs QEMU's {@code max} CPU model ({@link Arm64Cpu#MAX}): the default (Cortex-A72,
 * ARMv8.0) has no LSE atomics, which Debian's arm64 libc and libgcc use whenever AT_HWCAP says
 * so, and which translator atomics turn into host atomics. What the guest is told it has is
 * derived from the model's own ID registers ({@link Arm64Features}), as the kernel derives it.
 * libunicorn runs the guest at EL1 (CurrentEL reads 1); nothing a Linux user program does depends
 * on that except that {@code mrs} of ID registers works without the kernel's emulation, which
 * AT_HWCAP's CPUID bit promises anyway.
 */
public final class CpuAarch64 implements CpuArch {
    /** The interrupt numbers QEMU's arm target reports (target/arm/cpu.h EXCP_*). */
    public static final int EXCP_UDEF = 1, EXCP_SWI = 2, EXCP_PREFETCH_ABORT = 3, EXCP_DATA_ABORT = 4, EXCP_BKPT = 7;

    private static final int[] SYSCALL_REGS = {
            Arm64Reg.X8, Arm64Reg.X0, Arm64Reg.X1, Arm64Reg.X2, Arm64Reg.X3, Arm64Reg.X4, Arm64Reg.X5};

    private final Arm64Features features = Arm64Features.probeCached();

    @Override public String name() { return "aarch64"; }

    @Override public Unicorn openEngine() {
        Unicorn engine = Unicorn.openAarch64();
        try {
            engine.setCpuModel(Arm64Cpu.MAX);
        } catch (RuntimeException e) {
            engine.close();
            throw e;
        }
        return engine;
    }

    @Override public long hwcap() { return features.hwcap(); }

    @Override public long hwcap2() { return features.hwcap2(); }

    @Override public int pcRegister() { return Arm64Reg.PC; }

    @Override public int spRegister() { return Arm64Reg.SP; }

    /** {@code svc} and every fault arrive through the one interrupt hook; EXCP_SWI is the syscall. */
    @Override public void hookTraps(Unicorn engine, Runnable onSyscall, IntConsumer onException) {
        engine.hookInterrupt((uc, intno) -> {
            if (intno == EXCP_SWI) onSyscall.run();
            else onException.accept(intno);
        });
    }

    @Override public void readSyscall(Unicorn engine, long[] out) {
        engine.regReadBatch(SYSCALL_REGS, out);
    }

    @Override public void writeSyscallResult(Unicorn engine, long result) {
        engine.regWrite(Arm64Reg.X0, result);
    }

    @Override public void setThreadPointer(Unicorn engine, long value) {
        engine.regWrite(Arm64Reg.TPIDR_EL0, value);
    }

    /** The interrupt hook sees the PC already past the 4-byte {@code svc} (the exception's return address). */
    @Override public long pcAfterSyscall(Unicorn engine) {
        return engine.regRead(Arm64Reg.PC);
    }

    private static final int[] THREAD_STATE;
    static {
        int[] r = new int[31 + 7];
        for (int i = 0; i <= 28; i++) r[i] = Arm64Reg.X0 + i;
        r[29] = Arm64Reg.X29;
        r[30] = Arm64Reg.X30;
        r[31] = Arm64Reg.SP;
        r[32] = Arm64Reg.PC;
        r[33] = Arm64Reg.NZCV;
        r[34] = Arm64Reg.TPIDR_EL0;
        r[35] = Arm64Reg.FPCR;
        r[36] = Arm64Reg.FPSR;
        r[37] = Arm64Reg.TPIDRRO_EL0;
        THREAD_STATE = r;
    }

    /** Registers of 16 bytes (vector registers; x87's 80-bit stack on x86_64), after the 64-bit ones. */
    private static final int[] WIDE;

    static {
        int[] wide = new int[32];
        for (int i = 0; i < 32; i++) wide[i] = Arm64Reg.Q0 + i;
        WIDE = wide;
    }

    @Override public byte[] saveThreadState(Unicorn engine) {
        return ThreadStates.save(engine, THREAD_STATE, WIDE);
    }

    @Override public void restoreThreadState(Unicorn engine, byte[] state) {
        ThreadStates.restore(engine, THREAD_STATE, WIDE, state);
    }

    @Override public void initProcessRegisters(Unicorn engine, long entry, long sp) {
        // Linux's start_thread: every register 0 (x0 included: no atexit function), sp at argc,
        // pc at the entry, NZCV clear, FPCR 0 (round to nearest, no traps), SIMD registers 0.
        long[] zero = new long[THREAD_STATE.length];
        engine.regWriteBatch(THREAD_STATE, zero);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment wide = arena.allocate(16, 16);
            for (int i = 0; i < 32; i++) engine.regWrite(Arm64Reg.Q0 + i, wide);
        }
        engine.regWrite(Arm64Reg.SP, sp);
        engine.regWrite(Arm64Reg.PC, entry);
    }
}
