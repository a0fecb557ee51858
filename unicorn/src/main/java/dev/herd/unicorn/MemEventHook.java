package dev.herd.unicorn;

/**
 * Invalid memory access hook ({@code UC_HOOK_MEM_UNMAPPED}, {@code UC_HOOK_MEM_PROT}, ...). Return true if the access was fixed (e.g. the page was mapped) and should be retried, false to stop with the corresponding UC_ERR_*; a throwing hook counts as false.
 *
 * <p>Runs on the engine's own thread, inside {@code uc_emu_start}. Anything it throws is caught
 * by the binding (never unwinds into native code), stops the engine, and is rethrown by
 * {@link Unicorn#emuStart} as a {@link HookFailedException}.
 */
@FunctionalInterface
public interface MemEventHook {
    /**
     * Called by the engine.
     *
     * @param uc      the engine
     * @param type    a {@link UcMemType} constant
     * @param address the guest address accessed
     * @param size    access size in bytes
     * @param value   value being written (writes only)
     * @return true to continue (the access is retried), false to stop
     */
    boolean onInvalidAccess(Unicorn uc, int type, long address, int size, long value);
}
