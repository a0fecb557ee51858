package dev.herd.unicorn;

/**
 * Basic-block hook ({@code UC_HOOK_BLOCK}), called at the start of each translated block in range.
 *
 * <p>Runs on the engine's own thread, inside {@code uc_emu_start}. Anything it throws is caught
 * by the binding (never unwinds into native code), stops the engine, and is rethrown by
 * {@link Unicorn#emuStart} as a {@link HookFailedException}.
 */
@FunctionalInterface
public interface BlockHook {
    /**
     * Called by the engine.
     *
     * @param uc      the engine
     * @param address address of the block
     * @param size    size of the block in bytes (0 if unknown)
     */
    void onBlock(Unicorn uc, long address, int size);
}
