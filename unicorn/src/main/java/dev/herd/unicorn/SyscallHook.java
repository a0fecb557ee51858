package dev.herd.unicorn;

/**
 * x86 {@code syscall} instruction hook ({@code UC_HOOK_INSN} + {@code UC_X86_INS_SYSCALL}). RIP is the syscall instruction's address; execution resumes after it when the hook returns.
 *
 * <p>Runs on the engine's own thread, inside {@code uc_emu_start}. Anything it throws is caught
 * by the binding (never unwinds into native code), stops the engine, and is rethrown by
 * {@link Unicorn#emuStart} as a {@link HookFailedException}.
 */
@FunctionalInterface
public interface SyscallHook {
    /**
     * Called by the engine.
     *
     * @param uc the engine
     */
    void onSyscall(Unicorn uc);
}
