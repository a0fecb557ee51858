package dev.herd.threads;

import dev.herd.unicorn.Unicorn;

/**
 * What the thread layer needs to know about a guest CPU architecture: how to open an engine,
 * where the PC and stack pointer live, the syscall ABI and the thread pointer. One small
 * implementation per architecture ({@code x86_64}, {@code aarch64}).
 */
public interface CpuArch {
    /** Short name, e.g. {@code "x86_64"}. */
    String name();

    /** Opens a fresh engine for this architecture in its user-mode initial state. */
    Unicorn openEngine();

    int pcRegister();

    int spRegister();

    /**
     * Installs the hooks through which the guest's traps arrive: {@code onSyscall} whenever the
     * guest executes its syscall instruction, {@code onException} with the engine's interrupt
     * number for every other CPU exception (x86_64: the syscall has its own instruction hook;
     * aarch64: {@code svc} and faults share the interrupt hook, so the arch tells them apart).
     */
    void hookTraps(Unicorn engine, Runnable onSyscall, java.util.function.IntConsumer onException);

    /**
     * Reads the syscall number into {@code out[0]} and its six arguments into {@code out[1..6]}.
     * Called from the syscall hook.
     */
    void readSyscall(Unicorn engine, long[] out);

    /** Writes the syscall result register. Called from the syscall hook. */
    void writeSyscallResult(Unicorn engine, long result);

    /** Sets the thread pointer (TLS base: FS base on x86_64, TPIDR_EL0 on aarch64). */
    void setThreadPointer(Unicorn engine, long value);

    /**
     * The PC after the syscall instruction being handled (called from the syscall hook, where the
     * PC may still point at the instruction, as on x86_64).
     */
    long pcAfterSyscall(Unicorn engine);

    /**
     * Copies the user-visible register state of a thread (integer, flags, thread pointer, FP/SIMD)
     * from one engine to another: what clone gives the child.
     */
    default void copyThreadState(Unicorn from, Unicorn to) {
        restoreThreadState(to, saveThreadState(from));
    }

    /**
     * The user-visible register state of a thread (what {@link #copyThreadState} copies) as bytes,
     * for another engine of this architecture, possibly in another process (a fork's child).
     */
    byte[] saveThreadState(Unicorn engine);

    /** Sets an engine's registers from {@link #saveThreadState}'s bytes. */
    void restoreThreadState(Unicorn engine, byte[] state);

    /**
     * Sets up the registers of a new process's first thread: PC at {@code entry}, stack pointer at
     * {@code sp}, everything else as the Linux ELF entry ABI requires.
     */
    void initProcessRegisters(Unicorn engine, long entry, long sp);

    /**
     * Makes the engine forget a CPU exception it has just reported through the interrupt hook, so
     * the next one is reported afresh (libunicorn's x86 CPU otherwise escalates later exceptions to
     * #DF and a silent triple fault; see {@code ExceptionLatchX86_64}). Called on the guest thread
     * after its engine stopped, before it runs again.
     *
     * @param engine the stopped engine
     * @param vector the interrupt number the hook reported
     */
    default void afterException(Unicorn engine, int vector) {}

    /** AT_HWCAP for this CPU, as the kernel derives it (x86_64: CPUID leaf 1 EDX). */
    long hwcap();

    /** AT_HWCAP2 for this CPU (x86_64: the kernel's ELF_HWCAP2 bits; 0 when none apply). */
    default long hwcap2() { return 0; }
}
