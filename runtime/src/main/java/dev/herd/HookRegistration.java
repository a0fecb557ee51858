package dev.herd;

/**
 * A registered hook or listener. {@link #remove()} (or {@link #close()}) unregisters it; safe while
 * the guest runs and from any thread, idempotent. A hook may still be running on some guest
 * thread when {@code remove()} returns, but it is not called for events that start afterwards
 * (syscall hooks), or for events after its engine reaches its next safe point (code and memory
 * hooks, which are also disabled at once).
 */
public interface HookRegistration extends AutoCloseable {
    /** Unregisters the hook. */
    void remove();

    /** Same as {@link #remove()}. */
    @Override
    default void close() { remove(); }
}
