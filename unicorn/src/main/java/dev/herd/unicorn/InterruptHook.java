package dev.herd.unicorn;

/**
 * Interrupt hook ({@code UC_HOOK_INTR}): x86 {@code int n}, aarch64 exceptions such as {@code svc} (intno 2).
 *
 * <p>Runs on the engine's own thread, inside {@code uc_emu_start}. Anything it throws is caught
 * by the binding (never unwinds into native code), stops the engine, and is rethrown by
 * {@link Unicorn#emuStart} as a {@link HookFailedException}.
 */
@FunctionalInterface
public interface InterruptHook {
    /**
     * Called by the engine.
     *
     * @param uc    the engine
     * @param intno the interrupt number
     */
    void onInterrupt(Unicorn uc, int intno);
}
