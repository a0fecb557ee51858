package dev.herd.runtime.arch.x86_64;

import dev.herd.memory.GuestAddressSpace;
import dev.herd.runtime.arch.FaultClassifier;
import dev.herd.runtime.arch.FaultReport;
import dev.herd.signals.SigInfo;
import dev.herd.signals.Signals;
import dev.herd.signals.x86_64.X86Traps;
import dev.herd.threads.GuestFault;
import dev.herd.unicorn.Unicorn;
import dev.herd.unicorn.x86_64.X86Reg;

/**
 * x86_64 faults as arch/x86/kernel/traps.c and fault.c raise them: the signal, si_code and the
 * {trap number, error code, cr2} the kernel saves in the frame's sigcontext (thread.trap_nr,
 * thread.error_code, thread.cr2).
 */
public final class FaultsX86_64 implements FaultClassifier {
    private static final String[] FPE_CODES = {null, "FPE_INTDIV", "FPE_INTOVF", "FPE_FLTDIV", "FPE_FLTOVF",
            "FPE_FLTUND", "FPE_FLTRES", "FPE_FLTINV"};

    @Override
    public FaultReport classify(GuestFault f, GuestAddressSpace addressSpace, Unicorn engine) {
        if (f.isMemoryAccess() && !canonical(f.address())) {
            // x86_64 raises #GP, not #PF, for a non-canonical address: SIGSEGV, SI_KERNEL, no address.
            return new FaultReport(Signals.SIGSEGV, SigInfo.SI_KERNEL, "SI_KERNEL", "general protection fault (non-canonical address 0x"
                    + Long.toHexString(f.address()) + ")", f, new long[]{X86Traps.GP, 0, 0});
        }
        if (f.isMemoryAccess()) {
            boolean write = f.kind() == GuestFault.Kind.WRITE_UNMAPPED || f.kind() == GuestFault.Kind.WRITE_PROT;
            boolean fetch = f.kind() == GuestFault.Kind.FETCH_UNMAPPED || f.kind() == GuestFault.Kind.FETCH_PROT;
            // A PROT_NONE page is not present in the x86 page table either: only an accessible
            // page makes a protection fault (P bit set).
            var m = addressSpace.find(f.address());
            boolean present = m != null && m.prot() != 0;
            return FaultReport.segv(f, addressSpace,
                    new long[]{X86Traps.PF, X86Traps.pageFaultError(f.address(), present, write, fetch), f.address()});
        }
        if (f.kind() == GuestFault.Kind.INVALID_INSTRUCTION) {
            return new FaultReport(Signals.SIGILL, SigInfo.ILL_ILLOPN, "ILL_ILLOPN", "invalid instruction", f,
                    new long[]{X86Traps.UD, 0, 0});
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
        long[] trap = {vector, 0, 0};
        return switch (vector) {
            case 0 -> new FaultReport(Signals.SIGFPE, SigInfo.FPE_INTDIV, "FPE_INTDIV", "integer divide error", f, trap);
            case 1, 3 -> new FaultReport(Signals.SIGTRAP, SigInfo.SI_KERNEL, "SI_KERNEL", "breakpoint trap", f, trap);
            case 4 -> new FaultReport(Signals.SIGSEGV, SigInfo.SI_KERNEL, "SI_KERNEL", "overflow trap", f, trap);
            case 5 -> new FaultReport(Signals.SIGSEGV, SigInfo.SI_KERNEL, "SI_KERNEL", "bound range exceeded", f, trap);
            case 6 -> new FaultReport(Signals.SIGILL, SigInfo.ILL_ILLOPN, "ILL_ILLOPN", "invalid instruction", f, trap);
            case X86Traps.MF -> {
                // The kernel derives an #MF's si_code from the x87 status and control words.
                int code = X86Traps.x87ExceptionCode((int) engine.regRead(X86Reg.FPSW), (int) engine.regRead(X86Reg.FPCW));
                yield new FaultReport(Signals.SIGFPE, code == 0 ? SigInfo.SI_KERNEL : code, code == 0 ? "SI_KERNEL" : FPE_CODES[code],
                        "x87 floating-point exception", f, trap);
            }
            case X86Traps.XF -> new FaultReport(Signals.SIGFPE, X86Traps.FPE_FLTINV, "FPE_FLTINV", "SIMD floating-point exception", f, trap);
            default -> new FaultReport(Signals.SIGSEGV, SigInfo.SI_KERNEL, "SI_KERNEL", "CPU exception " + f.vector(), f, trap);
        };
    }

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
}
