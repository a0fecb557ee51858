package dev.herd.runtime.arch.aarch64;

import dev.herd.memory.GuestAddressSpace;
import dev.herd.runtime.arch.FaultClassifier;
import dev.herd.runtime.arch.FaultReport;
import dev.herd.signals.SigInfo;
import dev.herd.signals.Signals;
import dev.herd.signals.aarch64.Arm64Traps;
import dev.herd.threads.GuestFault;
import dev.herd.threads.aarch64.CpuAarch64;
import dev.herd.unicorn.Unicorn;
import dev.herd.unicorn.aarch64.Arm64Reg;

/**
 * arm64 faults as arch/arm64/mm/fault.c and kernel/traps.c raise them: SIGSEGV for data and
 * instruction aborts, SIGILL (ILL_ILLOPC) for an undefined instruction, SIGTRAP (TRAP_BRKPT) for
 * {@code brk}; the trap facts are {0, ESR, FAR}, which the signal frame's esr record and
 * fault_address carry.
 *
 * <p>The ESR is what the kernel reports for a fault at a user address ({@link Arm64Traps}: the
 * abort's class, IL, WnR and a level-3 translation or permission fault status; UNKNOWN for an
 * undefined instruction; BRK64 with its immediate).
 */
public final class FaultsAarch64 implements FaultClassifier {
    @Override
    public FaultReport classify(GuestFault f, GuestAddressSpace addressSpace, Unicorn engine) {
        if (f.isMemoryAccess()) {
            boolean fetch = f.kind() == GuestFault.Kind.FETCH_UNMAPPED || f.kind() == GuestFault.Kind.FETCH_PROT;
            boolean write = f.kind() == GuestFault.Kind.WRITE_UNMAPPED || f.kind() == GuestFault.Kind.WRITE_PROT;
            boolean mapped = addressSpace.find(f.address()) != null;
            long esr = fetch ? Arm64Traps.instructionAbort(mapped) : Arm64Traps.dataAbort(write, mapped);
            return FaultReport.segv(f, addressSpace, new long[]{0, esr, f.address()});
        }
        if (f.kind() == GuestFault.Kind.INTERRUPT && f.vector() == CpuAarch64.EXCP_DATA_ABORT) {
            // Accesses to unmapped or protected memory arrive through the memory hooks; what reaches
            // the interrupt hook as a data abort is an alignment fault (a misaligned exclusive,
            // atomic or acquire/release access): SIGBUS, BUS_ADRALN, as do_alignment_fault raises.
            long address = baseRegister(addressSpace, engine, f.pc());
            return new FaultReport(Signals.SIGBUS, BUS_ADRALN, "BUS_ADRALN", "misaligned access to 0x"
                    + Long.toHexString(address), f, new long[]{0, Arm64Traps.esr(Arm64Traps.EC_DABT_LOW, ALIGNMENT_FAULT), address}, address);
        }
        if (f.kind() == GuestFault.Kind.INTERRUPT && f.vector() == CpuAarch64.EXCP_BKPT) {
            return new FaultReport(Signals.SIGTRAP, SigInfo.TRAP_BRKPT, "TRAP_BRKPT", "breakpoint (brk)", f,
                    new long[]{0, Arm64Traps.brk(brkImmediate(addressSpace, f.pc())), 0});
        }
        if (f.kind() == GuestFault.Kind.INVALID_INSTRUCTION
                || (f.kind() == GuestFault.Kind.INTERRUPT && f.vector() == CpuAarch64.EXCP_UDEF)) {
            return new FaultReport(Signals.SIGILL, SigInfo.ILL_ILLOPC, "ILL_ILLOPC", "undefined instruction", f,
                    new long[]{0, Arm64Traps.undefinedInstruction(), 0});
        }
        return new FaultReport(Signals.SIGSEGV, SigInfo.SI_KERNEL, "SI_KERNEL", "CPU exception " + f.vector(), f,
                new long[]{0, 0, 0});
    }

    /** si_code of SIGBUS for an alignment fault (asm-generic/siginfo.h). */
    static final int BUS_ADRALN = 1;
    /** DFSC of an alignment fault (esr.h ESR_ELx_FSC_ALIGN). */
    static final long ALIGNMENT_FAULT = 0x21;

    /**
     * The address a faulting exclusive, atomic or acquire/release instruction accessed: all of
     * them address memory as [Xn|SP] without offset, Rn in bits 9:5. libunicorn does not take the
     * exception (the interrupt hook stops it first), so FAR_EL1 is not written: decoded instead.
     */
    private static long baseRegister(GuestAddressSpace addressSpace, Unicorn engine, long pc) {
        try {
            int n = (addressSpace.memory().readInt(pc) >>> 5) & 31;
            int reg = switch (n) {
                case 29 -> Arm64Reg.X29;
                case 30 -> Arm64Reg.X30;
                case 31 -> Arm64Reg.SP;
                default -> Arm64Reg.X0 + n;
            };
            return engine.regRead(reg);
        } catch (RuntimeException e) {
            return 0;
        }
    }

    /** The imm16 of the {@code brk} at {@code pc} (bits 20:5), 0 if unreadable. */
    private static int brkImmediate(GuestAddressSpace addressSpace, long pc) {
        try {
            return (addressSpace.memory().readInt(pc) >>> 5) & 0xffff;
        } catch (RuntimeException e) {
            return 0;
        }
    }
}
