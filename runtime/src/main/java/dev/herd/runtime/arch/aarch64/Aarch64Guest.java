package dev.herd.runtime.arch.aarch64;

import dev.herd.memory.GuestAddressSpace;
import dev.herd.runtime.arch.FaultClassifier;
import dev.herd.runtime.arch.GuestAbi;
import dev.herd.runtime.arch.GuestArch;
import dev.herd.runtime.arch.SyscallNumbering;
import dev.herd.runtime.loader.ElfFile;
import dev.herd.signals.SignalFrames;
import dev.herd.signals.aarch64.SigreturnTrampoline;
import dev.herd.signals.aarch64.SignalFrameAarch64;
import dev.herd.threads.CpuArch;
import dev.herd.threads.aarch64.CpuAarch64;
import dev.herd.threads.atomics.AtomicSites;

/**
 * aarch64 guests on the x86_64 host: the generic syscall numbering, arm64's ABI differences,
 * its signal frames and fault rules. Atomics come from the translator (DESIGN fact 13), or from
 * serial mode: there is no site patcher for aarch64.
 */
public final class Aarch64Guest implements GuestArch {
    public static final Aarch64Guest INSTANCE = new Aarch64Guest();

    private static final FaultClassifier FAULTS = new FaultsAarch64();

    private Aarch64Guest() {}

    @Override public String name() { return "aarch64"; }

    @Override public ElfFile.Machine machine() { return ElfFile.Machine.AARCH64; }

    @Override public CpuArch newCpu() { return new CpuAarch64(); }

    @Override public SyscallNumbering numbering() { return SyscallNumbersAarch64.INSTANCE; }

    /**
     * Frames whose handlers return through a sigreturn trampoline on a read+execute page of its
     * own, placed where the kernel would put the vDSO (the address space picks it): glibc on arm64
     * does not pass SA_RESTORER, the kernel's vDSO provides the return path.
     */
    @Override public SignalFrames signalFrames(GuestAddressSpace space) {
        return new SignalFrameAarch64(SigreturnTrampoline.install(space, 0));
    }

    @Override public FaultClassifier faults() { return FAULTS; }

    @Override public GuestAbi abi() { return AbiAarch64.INSTANCE; }

    @Override public AtomicSites sitePatcher(GuestAddressSpace space, boolean translatorAtomics) { return null; }
}
