package dev.herd.threads;

/**
 * Why a guest thread's engine stopped on something the guest did wrong: a memory access Unicorn
 * refused, an invalid instruction, or a CPU exception (interrupt vector).
 *
 * @param kind    what happened
 * @param address the faulting data or fetch address (the PC for invalid instructions and interrupts)
 * @param pc      the guest PC of the faulting instruction
 * @param vector  the interrupt vector for {@link Kind#INTERRUPT}, else -1
 */
public record GuestFault(Kind kind, long address, long pc, int vector) {
    public enum Kind {
        READ_UNMAPPED, WRITE_UNMAPPED, FETCH_UNMAPPED, READ_PROT, WRITE_PROT, FETCH_PROT,
        INVALID_INSTRUCTION, INTERRUPT
    }

    public boolean isMemoryAccess() { return kind.ordinal() <= Kind.FETCH_PROT.ordinal(); }
}
