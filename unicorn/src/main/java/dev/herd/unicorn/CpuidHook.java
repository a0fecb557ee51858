package dev.herd.unicorn;

/** Callback for the x86 {@code cpuid} instruction ({@code UC_HOOK_INSN} + {@code UC_X86_INS_CPUID}). */
@FunctionalInterface
public interface CpuidHook {
    /**
     * Called by the engine before {@code cpuid} executes, with the leaf in EAX and the sub-leaf in
     * ECX.
     *
     * @param uc the engine
     * @return true if the hook has written EAX, EBX, ECX and EDX itself (the instruction is then
     *         skipped), false to let the engine execute it
     */
    boolean onCpuid(Unicorn uc);
}
