package dev.herd.unicorn;

/**
 * Valid memory access hook ({@code UC_HOOK_MEM_READ}, {@code UC_HOOK_MEM_WRITE}, {@code UC_HOOK_MEM_FETCH}, {@code UC_HOOK_MEM_READ_AFTER}).
 *
 * <p>Runs on the engine's own thread, inside {@code uc_emu_start}. Anything it throws is caught
 * by the binding (never unwinds into native code), stops the engine, and is rethrown by
 * {@link Unicorn#emuStart} as a {@link HookFailedException}.
 */
@FunctionalInterface
public interface MemAccessHook {
    /**
     * Called by the engine.
     *
     * @param uc      the engine
     * @param type    a {@link UcMemType} constant
     * @param address the guest address accessed
     * @param size    access size in bytes
     * @param value   value being written (writes) or read (READ_AFTER)
     */
    void onAccess(Unicorn uc, int type, long address, int size, long value);
}
