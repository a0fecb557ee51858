package dev.herd.signals;

import dev.herd.memory.GuestMemory;
import dev.herd.unicorn.Unicorn;

/**
 * The architecture-specific half of signal delivery: building the frame the Linux kernel builds
 * for a handler, and undoing it in rt_sigreturn. One implementation per guest architecture
 * ({@code x86_64.SignalFrameX86_64}, {@code aarch64.SignalFrameAarch64}).
 */
public interface SignalFrames {
    /**
     * Builds the signal frame for {@code info} on the guest stack of the thread whose registers are
     * in {@code engine} (stopped at a safe point, PC = where the thread resumes), and sets the
     * registers so the engine enters {@code action.handler()} when it runs next.
     *
     * @param savedMask  the blocked mask to restore at sigreturn (goes into uc_sigmask)
     * @param altStack   the thread's alternate stack state
     * @throws dev.herd.host.ErrnoException EFAULT when the frame cannot be written (the kernel then
     *                                      forces SIGSEGV)
     */
    void setupFrame(Unicorn engine, GuestMemory memory, SignalAction action, SigInfo info, long savedMask,
                    AltStack altStack);

    /**
     * {@link #setupFrame} for a synchronous fault: the trap number, error code and fault address
     * the kernel records in the thread and saves in the frame's sigcontext (x86_64: trapno, err,
     * cr2; aarch64: {@code err} is the ESR saved in an esr_context record, {@code faultAddress}
     * is sigcontext.fault_address, {@code trapno} has no counterpart). Architectures without such
     * fields ignore them.
     */
    default void setupFaultFrame(Unicorn engine, GuestMemory memory, SignalAction action, SigInfo info, long savedMask,
                                 AltStack altStack, long trapno, long err, long faultAddress) {
        setupFrame(engine, memory, action, info, savedMask, altStack);
    }

    /**
     * rt_sigreturn: restores every register (general, flags, FP/SSE) from the frame at the current
     * stack pointer and returns the signal mask saved in it (the caller installs it) — also restores
     * the alternate-stack settings from uc_stack into {@code altStack}, as the kernel does.
     *
     * @throws dev.herd.host.ErrnoException EFAULT when the frame is unreadable (the kernel forces SIGSEGV)
     */
    long restoreFrame(Unicorn engine, GuestMemory memory, AltStack altStack);

    /**
     * The result register value a restarted syscall needs and the PC to back up to: makes the thread
     * re-execute the syscall instruction it just executed, with syscall number {@code nr}.
     */
    void restartSyscall(Unicorn engine, long nr);

    /**
     * {@link #restartSyscall(Unicorn, long)} for an ABI whose result register is also an argument
     * register: aarch64 returns in x0, which held the first argument, so the kernel keeps
     * {@code orig_x0} and puts it back ({@code regs->regs[0] = regs->orig_x0}) before backing the
     * PC up. {@code firstArg} is the syscall's first argument as the thread passed it. ABIs whose
     * result register carries nothing the restart needs (x86_64: RAX held the number, which
     * {@code nr} restores) ignore it, which is what this default does.
     */
    default void restartSyscall(Unicorn engine, long nr, long firstArg) {
        restartSyscall(engine, nr);
    }
}
