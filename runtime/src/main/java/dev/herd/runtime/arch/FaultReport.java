package dev.herd.runtime.arch;

import dev.herd.memory.GuestAddressSpace;
import dev.herd.memory.Mapping;
import dev.herd.signals.SigInfo;
import dev.herd.signals.Signals;
import dev.herd.threads.GuestFault;

/**
 * What an unhandled guest fault means in Linux terms: the signal the kernel would raise, its
 * si_code (and its name, for the report line), a one-line human description naming the fault, PC
 * and address, and the architecture's trap facts for the signal frame ({@code trap}: x86_64
 * {trapno, error code, cr2}; aarch64 {0, ESR, FAR}). The architecture's {@code FaultClassifier}
 * makes it.
 */
public record FaultReport(int signal, int siCode, String code, String what, GuestFault fault, long[] trap, long addr) {
    /** si_addr as most faults have it: none for SI_KERNEL, the address of a memory fault, else the PC. */
    public FaultReport(int signal, int siCode, String code, String what, GuestFault fault, long[] trap) {
        this(signal, siCode, code, what, fault, trap,
                siCode == SigInfo.SI_KERNEL ? 0 : fault.isMemoryAccess() ? fault.address() : fault.pc());
    }

    /** The siginfo the kernel would send. */
    public SigInfo sigInfo() {
        return new SigInfo(signal, 0, siCode, 0, 0, addr, 0, 0, 0);
    }

    /**
     * SIGSEGV for an access Linux found no permission for: SEGV_ACCERR whenever a VMA covers the
     * address (PROT_NONE included), whatever Unicorn called it; only an address outside every
     * mapping is SEGV_MAPERR. The same on every architecture.
     */
    public static FaultReport segv(GuestFault f, GuestAddressSpace addressSpace, long[] trap) {
        String access = switch (f.kind()) {
            case READ_UNMAPPED, READ_PROT -> "read";
            case WRITE_UNMAPPED, WRITE_PROT -> "write";
            default -> "execute";
        };
        Mapping m = addressSpace.find(f.address());
        boolean mapped = m != null;
        String what = access + (mapped ? " of protected" : " of unmapped") + " address 0x" + Long.toHexString(f.address());
        return mapped ? new FaultReport(Signals.SIGSEGV, SigInfo.SEGV_ACCERR, "SEGV_ACCERR", what, f, trap)
                : new FaultReport(Signals.SIGSEGV, SigInfo.SEGV_MAPERR, "SEGV_MAPERR", what, f, trap);
    }

    private static final String[] NAMES = {null, "SIGHUP", "SIGINT", "SIGQUIT", "SIGILL", "SIGTRAP", "SIGABRT",
            "SIGBUS", "SIGFPE", "SIGKILL", "SIGUSR1", "SIGSEGV"};

    /** e.g. {@code "guest fault: SIGSEGV (SEGV_MAPERR): write of unmapped address 0x0 at pc 0x401136"}. */
    public String describe() {
        return "guest fault: " + NAMES[signal] + " (" + code + "): " + what + " at pc 0x" + Long.toHexString(fault.pc());
    }
}
