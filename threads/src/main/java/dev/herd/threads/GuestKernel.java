package dev.herd.threads;

/**
 * The operating-system side of a guest thread, implemented by the runtime: it handles syscalls
 * and decides what a fault means (a signal, or the end of the process).
 */
public interface GuestKernel {
    /** The thread is about to run its first guest instruction; its TID is known. Called on the thread. */
    void threadStarted(GuestThread thread);

    /**
     * Handles the syscall {@code thread} is executing. Called on the thread itself, inside the
     * engine's syscall hook; the implementation reads arguments and writes the result through
     * {@link GuestThread#arch()}.
     */
    void syscall(GuestThread thread);

    /**
     * The thread is at its safe point because {@link GuestThread#requestSafePoint()} was called:
     * engine stopped, outside the gate. Deliver signals, restart or fail an interrupted syscall.
     */
    void safePoint(GuestThread thread);

    /** The thread's engine stopped on a fault. Called on the thread, with the engine stopped. */
    void fault(GuestThread thread, GuestFault fault);

    /**
     * Something inside Herd failed while running this thread (a bug, or a failing user hook).
     * Called on the thread; the thread ends afterwards.
     */
    void internalError(GuestThread thread, Throwable error);

    /** The thread has ended (its engine is closed). Called on the thread. */
    void threadExited(GuestThread thread);
}
