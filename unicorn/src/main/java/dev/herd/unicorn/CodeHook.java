package dev.herd.unicorn;

/**
 * Per-instruction hook ({@code UC_HOOK_CODE}); expensive, as it instruments every instruction in range.
 *
 * <p>Runs on the engine's own thread, inside {@code uc_emu_start}. Anything it throws is caught
 * by the binding (never unwinds into native code), stops the engine, and is rethrown by
 * {@link Unicorn#emuStart} as a {@link HookFailedException}.
 */
@FunctionalInterface
public interface CodeHook {
    /**
     * Called by the engine.
     *
     * @param uc      the engine
     * @param address address of the instruction about to execute
     * @param size    its size in bytes
     */
    void onCode(Unicorn uc, long address, int size);
}
