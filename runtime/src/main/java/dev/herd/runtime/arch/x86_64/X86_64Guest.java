package dev.herd.runtime.arch.x86_64;

import dev.herd.memory.GuestAddressSpace;
import dev.herd.runtime.arch.GuestAbi;
import dev.herd.runtime.arch.GuestArch;
import dev.herd.runtime.loader.ElfFile;
import dev.herd.runtime.arch.FaultClassifier;
import dev.herd.runtime.arch.SyscallNumbering;
import dev.herd.runtime.arch.x86_64.SyscallNumbersX86_64;
import dev.herd.signals.SignalFrames;
import dev.herd.signals.x86_64.SignalFrameX86_64;
import dev.herd.threads.CpuArch;
import dev.herd.threads.atomics.AtomicSites;
import dev.herd.threads.atomics.AtomicSitesX86_64;
import dev.herd.threads.x86_64.CpuX86_64;

/** x86_64 guests: the host's own architecture, so the guest ABI is the host's. */
public final class X86_64Guest implements GuestArch {
    public static final X86_64Guest INSTANCE = new X86_64Guest();

    private static final FaultClassifier FAULTS = new FaultsX86_64();

    private X86_64Guest() {}

    @Override public String name() { return "x86_64"; }

    @Override public ElfFile.Machine machine() { return ElfFile.Machine.X86_64; }

    @Override public CpuArch newCpu() { return new CpuX86_64(); }

    @Override public SyscallNumbering numbering() { return SyscallNumbersX86_64.INSTANCE; }

    /** glibc always passes SA_RESTORER on x86_64 (and the kernel requires it): no page needed. */
    @Override public SignalFrames signalFrames(GuestAddressSpace space) { return SignalFrameX86_64.INSTANCE; }

    @Override public FaultClassifier faults() { return FAULTS; }

    @Override public GuestAbi abi() { return AbiX86_64.INSTANCE; }

    @Override public AtomicSites sitePatcher(GuestAddressSpace space, boolean translatorAtomics) {
        return new AtomicSitesX86_64(space, translatorAtomics);
    }
}
