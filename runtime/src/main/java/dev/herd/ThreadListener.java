package dev.herd;

/**
 * Told when guest threads start and end. Both methods run on the guest thread itself: start
 * before its first guest instruction, end after its last. Anything they throw ends the run with a
 * {@link HookFailedException}.
 */
public interface ThreadListener {
    /**
     * A guest thread is about to run its first instruction.
     *
     * @param tid its guest TID
     * @throws Exception to end the run
     */
    default void threadStarted(int tid) throws Exception {}

    /**
     * A guest thread has ended.
     *
     * @param tid its guest TID
     * @throws Exception to end the run
     */
    default void threadExited(int tid) throws Exception {}
}
