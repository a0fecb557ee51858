package dev.herd.runtime.process;

import dev.herd.memory.GuestAddressSpace;
import dev.herd.memory.Mapping;
import dev.herd.signals.SigInfo;
import dev.herd.signals.x86_64.X86Traps;
import dev.herd.signals.Signals;
import dev.herd.threads.GuestFault;

/**
 * What an unhandled guest fault means in Linux terms: the signal the kernel would raise, its
 * si_code, and a one-line human description naming the fault, PC and address.
 */
public record FaultReport(int signal, String code, String what, GuestFault fault) {
    /** 48-bit canonical form: bits 63..47 all equal. */
    private static boolean canonical(long address) {
        long top = address >> 47;
        return top == 0 || top == -1;
    }

    /**
     * {trap number, error code, fault address} as the x86_64 kernel saves them in the frame
     * (thread.trap_nr, thread.error_code, thread.cr2).
     */
    public long[] trap(GuestAddressSpace addressSpace) {
        if (fault.isMemoryAccess() && !canonical(fault.address())) return new long[]{X86Traps.GP, 0, 0};
        if (fault.isMemoryAccess()) {
            boolean write = fault.kind() == GuestFault.Kind.WRITE_UNMAPPED || fault.kind() == GuestFault.Kind.WRITE_PROT;
            boolean fetch = fault.kind() == GuestFault.Kind.FETCH_UNMAPPED || fault.kind() == GuestFault.Kind.FETCH_PROT;
            // A PROT_NONE page is not present in the x86 page table either: only an accessible
            // page makes a protection fault (P bit set).
            var m = addressSpace.find(fault.address());
            boolean present = m != null && m.prot() != 0;
            return new long[]{X86Traps.PF, X86Traps.pageFaultError(fault.address(), present, write, fetch), fault.address()};
        }
        if (fault.kind() == GuestFault.Kind.INVALID_INSTRUCTION) return new long[]{X86Traps.UD, 0, 0};
        return new long[]{fault.vector(), 0, 0};
    }

    /** The siginfo the kernel would send: si_code and, for memory faults, si_addr. */
    public SigInfo sigInfo() {
        int siCode = switch (code) {
            case "SEGV_MAPERR" -> SigInfo.SEGV_MAPERR;
            case "SEGV_ACCERR" -> SigInfo.SEGV_ACCERR;
            case "ILL_ILLOPN" -> SigInfo.ILL_ILLOPN;
            case "FPE_INTDIV" -> SigInfo.FPE_INTDIV;
            case "FPE_FLTINV" -> 7;
            case "TRAP_BRKPT" -> SigInfo.TRAP_BRKPT;
            default -> SigInfo.SI_KERNEL;
        };
        long addr = siCode == SigInfo.SI_KERNEL ? 0 : fault.isMemoryAccess() ? fault.address() : fault.pc();
        return new SigInfo(signal, 0, siCode, 0, 0, addr, 0, 0, 0);
    }

    public static FaultReport of(GuestFault f, GuestAddressSpace addressSpace) {
        if (f.isMemoryAccess() && !canonical(f.address())) {
            // x86_64 raises #GP, not #PF, for a non-canonical address: SIGSEGV, SI_KERNEL, no address.
            return new FaultReport(Signals.SIGSEGV, "SI_KERNEL", "general protection fault (non-canonical address 0x"
                    + Long.toHexString(f.address()) + ")", f);
        }
        if (f.isMemoryAccess()) {
            String access = switch (f.kind()) {
                case READ_UNMAPPED, READ_PROT -> "read";
                case WRITE_UNMAPPED, WRITE_PROT -> "write";
                default -> "execute";
            };
            // Linux says SEGV_ACCERR whenever a VMA covers the address (PROT_NONE included), whatever
            // Unicorn called it; only an address outside every mapping is SEGV_MAPERR.
            Mapping m = addressSpace.find(f.address());
            boolean mapped = m != null;
            String code = mapped ? "SEGV_ACCERR" : "SEGV_MAPERR";
            String what = access + (mapped ? " of protected" : " of unmapped") + " address 0x" + Long.toHexString(f.address());
            return new FaultReport(Signals.SIGSEGV, code, what, f);
        }
        if (f.kind() == GuestFault.Kind.INVALID_INSTRUCTION) {
            return new FaultReport(Signals.SIGILL, "ILL_ILLOPN", "invalid instruction", f);
        }
        return switch (f.vector()) {
            case 0 -> new FaultReport(Signals.SIGFPE, "FPE_INTDIV", "integer divide error", f);
            case 1, 3 -> new FaultReport(Signals.SIGTRAP, "SI_KERNEL", "breakpoint trap", f);
            case 4 -> new FaultReport(Signals.SIGSEGV, "SI_KERNEL", "overflow trap", f);
            case 5 -> new FaultReport(Signals.SIGSEGV, "SI_KERNEL", "bound range exceeded", f);
            case 6 -> new FaultReport(Signals.SIGILL, "ILL_ILLOPN", "invalid instruction", f);
            case 16, 19 -> new FaultReport(Signals.SIGFPE, "FPE_FLTINV", "floating-point exception", f);
            default -> new FaultReport(Signals.SIGSEGV, "SI_KERNEL", "CPU exception " + f.vector(), f);
        };
    }

    private static final String[] NAMES = {null, "SIGHUP", "SIGINT", "SIGQUIT", "SIGILL", "SIGTRAP", "SIGABRT",
            "SIGBUS", "SIGFPE", "SIGKILL", "SIGUSR1", "SIGSEGV"};

    /** e.g. {@code "guest fault: SIGSEGV (SEGV_MAPERR): write of unmapped address 0x0 at pc 0x401136"}. */
    public String describe() {
        return "guest fault: " + NAMES[signal] + " (" + code + "): " + what + " at pc 0x" + Long.toHexString(fault.pc());
    }
}
