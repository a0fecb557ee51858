package dev.herd.signals;

import dev.herd.memory.GuestMemory;
import dev.herd.unicorn.Unicorn;

/**
 * The architecture-specific half of signal delivery: building the frame the Linux kernel builds
 * for a handler, and undoing it in rt_sigreturn. One implementation per guest architecture
 * ({@code x86_64.SignalFrameX86_64}).
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
     * cr2). Architectures without such fields ignore them.
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
}
