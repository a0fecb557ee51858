package dev.herd.unicorn;

/**
 * Invalid instruction hook ({@code UC_HOOK_INSN_INVALID}). Return true to continue (after fixing PC), false to stop with UC_ERR_INSN_INVALID; a throwing hook counts as false.
 *
 * <p>Runs on the engine's own thread, inside {@code uc_emu_start}. Anything it throws is caught
 * by the binding (never unwinds into native code), stops the engine, and is rethrown by
 * {@link Unicorn#emuStart} as a {@link HookFailedException}.
 */
@FunctionalInterface
public interface InvalidInsnHook {
    /**
     * Called by the engine.
     *
     * @param uc the engine
     * @return true to continue, false to stop
     */
    boolean onInvalidInsn(Unicorn uc);
}
