package dev.herd.signals.aarch64;

/**
 * The ESR_EL1 values the arm64 kernel saves for the user faults Herd raises: the thread's
 * {@code fault_code}, which a signal frame carries in an esr_context record, next to
 * {@code fault_address} in the sigcontext. Encodings from the Arm ARM (ESR_ELx: EC in bits
 * [31:26], IL in bit 25, ISS in [24:0]) with the kernel's names from {@code asm/esr.h}.
 *
 * <p>What the kernel records per trap (arch/arm64/mm/fault.c, kernel/traps.c):
 * <ul>
 *   <li>data and instruction aborts ({@code set_thread_esr}): fault_address = the faulting
 *       address (FAR), fault_code = the ESR, reported whole for user addresses;</li>
 *   <li>undefined instructions and SP/PC alignment faults ({@code arm64_notify_die}):
 *       fault_address = 0, fault_code = the ESR;</li>
 *   <li>BRK ({@code send_user_sigtrap}): neither is changed, the frame shows what the last fault
 *       left. {@link #brk} is the ESR the hardware reports, for whoever wants it.</li>
 * </ul>
 * The kernel never clears the pair, so a later asynchronous signal's frame still carries the last
 * fault's values (an esr_context appears whenever fault_code is nonzero): a runtime that wants the
 * kernel's frames keeps them per thread and passes them to every
 * {@link SignalFrameAarch64#setupFaultFrame}.
 */
public final class Arm64Traps {
    private Arm64Traps() {}

    /** Exception classes (ESR_ELx_EC_*). */
    public static final int EC_UNKNOWN = 0x00, EC_SVC64 = 0x15, EC_IABT_LOW = 0x20, EC_PC_ALIGN = 0x22,
            EC_DABT_LOW = 0x24, EC_SP_ALIGN = 0x26, EC_BRK64 = 0x3c;
    public static final int EC_SHIFT = 26;
    /** IL: a 32-bit instruction; RES1 for the classes above taken from A64 code. */
    public static final long IL = 1L << 25;
    /** Data abort ISS: WnR, set when the abort was caused by a write. */
    public static final long WNR = 1L << 6;
    /** Fault status codes (DFSC/IFSC, long-descriptor format): level added to the base. */
    public static final int FSC_TRANSLATION = 0x04, FSC_ACCESS_FLAG = 0x08, FSC_PERMISSION = 0x0c;
    /**
     * The table level Herd reports. A 4 KiB-page user mapping is a level-3 entry, so a permission
     * fault on it is level 3; a translation fault's level depends on how much of the walk exists,
     * which Herd does not model: it reports level 3 like QEMU's user mode does.
     */
    public static final int FAULT_LEVEL = 3;

    /** ESR of {@code ec} with IL set and the given ISS. */
    public static long esr(int ec, long iss) {
        return ((long) ec << EC_SHIFT) | IL | (iss & 0x1ffffff);
    }

    /**
     * A data abort from EL0 (EC 0x24): WnR for a write, DFSC a level-3 translation fault for an
     * unmapped address or a level-3 permission fault for a mapped one the access is not allowed
     * on. ISV is 0: the instruction syndrome is only valid for stage-2 aborts taken to EL2. A
     * write to a read-only page is 0x9200004f, a read of an unmapped one 0x92000007.
     */
    public static long dataAbort(boolean write, boolean mapped) {
        int fsc = (mapped ? FSC_PERMISSION : FSC_TRANSLATION) + FAULT_LEVEL;
        return esr(EC_DABT_LOW, (write ? WNR : 0) | fsc);
    }

    /**
     * An instruction abort from EL0 (EC 0x20): fetching from an unmapped page (translation fault)
     * or a mapped non-executable one (permission fault), level 3. 0x8200000f / 0x82000007.
     */
    public static long instructionAbort(boolean mapped) {
        return esr(EC_IABT_LOW, (mapped ? FSC_PERMISSION : FSC_TRANSLATION) + FAULT_LEVEL);
    }

    /** An undefined instruction (EC 0 "unknown reason", ISS 0): 0x02000000, with SIGILL/ILL_ILLOPC. */
    public static long undefinedInstruction() {
        return esr(EC_UNKNOWN, 0);
    }

    /** {@code brk #imm16} (EC 0x3c, ISS = the comment field): {@code brk #0} is 0xf2000000. */
    public static long brk(int imm16) {
        return esr(EC_BRK64, imm16 & 0xffff);
    }

    /** A misaligned SP used as a base register (EC 0x26): SIGBUS/BUS_ADRALN, fault_address 0. */
    public static long spAlignment() {
        return esr(EC_SP_ALIGN, 0);
    }

    /** A branch to a misaligned PC (EC 0x22): SIGBUS/BUS_ADRALN, fault_address 0. */
    public static long pcAlignment() {
        return esr(EC_PC_ALIGN, 0);
    }

    /** The exception class of an ESR. */
    public static int exceptionClass(long esr) {
        return (int) ((esr >>> EC_SHIFT) & 0x3f);
    }
}
