package dev.herd.signals.x86_64;

/**
 * The x86 trap facts Linux saves in {@code sigcontext.trapno/err/cr2} ({@code thread.trap_nr},
 * {@code thread.error_code}, {@code thread.cr2}). The kernel keeps them per thread and overwrites
 * them only when a trap raises a signal; an asynchronous signal saves whatever the last such trap
 * left (0 for a thread that never trapped). {@code cr2} is only changed by page faults.
 */
public final class X86Traps {
    private X86Traps() {}

    /** Vector numbers (X86_TRAP_*). */
    public static final int DE = 0, DB = 1, BP = 3, UD = 6, GP = 13, PF = 14, MF = 16, XF = 19;

    /** Page-fault error code bits (X86_PF_*). */
    public static final long PF_PROT = 1, PF_WRITE = 2, PF_USER = 4, PF_INSTR = 0x10;

    /**
     * The error code {@code set_signal_archinfo()} saves for a user page fault: PF_USER always,
     * PF_PROT when the page was present (on x86 a PROT_NONE page is not present in the hardware page
     * table, so it faults without PF_PROT), PF_WRITE for writes, PF_INSTR for instruction fetches
     * (NX CPUs). Addresses at or above TASK_SIZE_MAX (0x7ffffffff000) always get PF_PROT.
     */
    public static long pageFaultError(long address, boolean present, boolean write, boolean fetch) {
        long e = PF_USER;
        if (present || Long.compareUnsigned(address, 0x7ffffffff000L) >= 0) e |= PF_PROT;
        if (write) e |= PF_WRITE;
        if (fetch) e |= PF_INSTR;
        return e;
    }

    /** si_code values of SIGFPE for floating-point exceptions (asm-generic/siginfo.h). */
    public static final int FPE_FLTDIV = 3, FPE_FLTOVF = 4, FPE_FLTUND = 5, FPE_FLTRES = 6, FPE_FLTINV = 7;

    /**
     * The si_code of the SIGFPE for an x87 #MF, as the kernel's {@code fpu__exception_code}
     * derives it from the status word's exception flags not masked by the control word; 0 (a
     * spurious trap) when none is left.
     */
    public static int x87ExceptionCode(int statusWord, int controlWord) {
        int err = statusWord & ~controlWord;
        if ((err & 0x001) != 0) return FPE_FLTINV;
        if ((err & 0x004) != 0) return FPE_FLTDIV;
        if ((err & 0x008) != 0) return FPE_FLTOVF;
        if ((err & 0x012) != 0) return FPE_FLTUND;
        if ((err & 0x020) != 0) return FPE_FLTRES;
        return 0;
    }
}
