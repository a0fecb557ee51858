package dev.herd;

/**
 * Called before each guest instruction in a hooked address range, on every guest thread
 * (including threads created later), on the thread executing it. Slows hooked code down a lot.
 * Anything it throws ends the run with a {@link HookFailedException}.
 */
@FunctionalInterface
public interface InstructionHook {
    /**
     * Called by the thread about to execute the instruction.
     *
     * @param context the thread (registers show the state before the instruction)
     * @param address address of the instruction
     * @param size    its length in bytes
     * @throws Exception to end the run
     */
    void onInstruction(HookContext context, long address, int size) throws Exception;
}
