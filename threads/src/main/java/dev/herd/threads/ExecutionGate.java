package dev.herd.threads;

/**
 * Who may execute guest code right now. A guest thread holds the gate while its engine runs guest
 * instructions and gives it back whenever it leaves guest code (a syscall, a stop), so blocking
 * syscalls never hold it.
 */
public interface ExecutionGate extends AutoCloseable {
    /** Blocks until {@code thread} may run guest code. */
    void enter(GuestThread thread);

    /** {@code thread} has stopped running guest code. */
    void leave(GuestThread thread);

    @Override
    void close();

    /** Whether two threads' engines may execute guest code at the same moment (not in serial mode). */
    default boolean concurrent() { return false; }

    /** Parallel mode: every thread runs whenever it likes. */
    static ExecutionGate parallel() {
        return ParallelGate.INSTANCE;
    }
}

/** The gate of parallel mode: always open. Stateless, so one shared instance is harmless. */
final class ParallelGate implements ExecutionGate {
    static final ParallelGate INSTANCE = new ParallelGate();

    @Override public void enter(GuestThread thread) {}
    @Override public void leave(GuestThread thread) {}
    @Override public void close() {}
    @Override public boolean concurrent() { return true; }
}
