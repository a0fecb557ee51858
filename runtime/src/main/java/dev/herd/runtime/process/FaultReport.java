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
    private static final String[] FPE_CODES = {null, "FPE_INTDIV", "FPE_INTOVF", "FPE_FLTDIV", "FPE_FLTOVF",
            "FPE_FLTUND", "FPE_FLTRES", "FPE_FLTINV"};

    /** Whether the instruction at {@code pc} is div or idiv (F6/F7 with ModRM reg 6 or 7). */
    private static boolean isDivide(GuestAddressSpace addressSpace, long pc) {
        try {
            byte[] b = addressSpace.memory().read(pc, 15);
            int i = 0;
            while (i < b.length) { // legacy prefixes, then REX
                int x = b[i] & 0xff;
                if (x == 0x66 || x == 0x67 || x == 0xf2 || x == 0xf3 || x == 0x2e || x == 0x3e || x == 0x26
                        || x == 0x36 || x == 0x64 || x == 0x65) i++;
                else break;
            }
            if (i < b.length && (b[i] & 0xf0) == 0x40) i++;
            if (i + 1 >= b.length) return false;
            int op = b[i] & 0xff, reg = (b[i + 1] >> 3) & 7;
            return (op == 0xf6 || op == 0xf7) && (reg == 6 || reg == 7);
        } catch (RuntimeException e) {
            return false;
        }
    }

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
        return new long[]{signal == Signals.SIGFPE && "FPE_INTDIV".equals(code) ? 0 : fault.vector(), 0, 0};
    }

    /** The siginfo the kernel would send: si_code and, for memory faults, si_addr. */
    public SigInfo sigInfo() {
        int siCode = switch (code) {
            case "SEGV_MAPERR" -> SigInfo.SEGV_MAPERR;
            case "SEGV_ACCERR" -> SigInfo.SEGV_ACCERR;
            case "ILL_ILLOPN" -> SigInfo.ILL_ILLOPN;
            case "FPE_INTDIV" -> SigInfo.FPE_INTDIV;
            case "FPE_FLTDIV" -> X86Traps.FPE_FLTDIV;
            case "FPE_FLTOVF" -> X86Traps.FPE_FLTOVF;
            case "FPE_FLTUND" -> X86Traps.FPE_FLTUND;
            case "FPE_FLTRES" -> X86Traps.FPE_FLTRES;
            case "FPE_FLTINV" -> X86Traps.FPE_FLTINV;
            case "TRAP_BRKPT" -> SigInfo.TRAP_BRKPT;
            default -> SigInfo.SI_KERNEL;
        };
        long addr = siCode == SigInfo.SI_KERNEL ? 0 : fault.isMemoryAccess() ? fault.address() : fault.pc();
        return new SigInfo(signal, 0, siCode, 0, 0, addr, 0, 0, 0);
    }

    /**
     * As {@link #of(GuestFault, GuestAddressSpace)}, with the x87 status and control words of the
     * faulting thread, from which the kernel derives an #MF's si_code.
     */
    public static FaultReport of(GuestFault f, GuestAddressSpace addressSpace, int x87Status, int x87Control) {
        FaultReport r = of(f, addressSpace);
        if (f.kind() == GuestFault.Kind.INTERRUPT && f.vector() == X86Traps.MF) {
            int code = X86Traps.x87ExceptionCode(x87Status, x87Control);
            return new FaultReport(r.signal, code == 0 ? "SI_KERNEL" : FPE_CODES[code], r.what, f);
        }
        return r;
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
        int vector = f.vector();
        if (vector == 8 && isDivide(addressSpace, f.pc())) {
            // libunicorn 2.0.1 hands a second #DE to the interrupt hook as #DF (vector 8): QEMU's
            // check_exception sees the never-cleared old_exception 0 as a #DE in flight. The
            // thread clears it after each exception (ExceptionLatchX86_64); should the probe for
            // it fail on some build, this mapping keeps the signal right. A double fault
            // cannot happen in user mode, so a div/idiv at the PC means a divide error.
            vector = 0;
        }
        return switch (vector) {
            case 0 -> new FaultReport(Signals.SIGFPE, "FPE_INTDIV", "integer divide error", f);
            case 1, 3 -> new FaultReport(Signals.SIGTRAP, "SI_KERNEL", "breakpoint trap", f);
            case 4 -> new FaultReport(Signals.SIGSEGV, "SI_KERNEL", "overflow trap", f);
            case 5 -> new FaultReport(Signals.SIGSEGV, "SI_KERNEL", "bound range exceeded", f);
            case 6 -> new FaultReport(Signals.SIGILL, "ILL_ILLOPN", "invalid instruction", f);
            case X86Traps.MF -> new FaultReport(Signals.SIGFPE, "FPE_FLTINV", "x87 floating-point exception", f);
            case X86Traps.XF -> new FaultReport(Signals.SIGFPE, "FPE_FLTINV", "SIMD floating-point exception", f);
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
