package dev.herd.runtime.arch;

import dev.herd.memory.GuestAddressSpace;
import dev.herd.runtime.loader.ElfFile;
import dev.herd.runtime.loader.InitialStack;
import dev.herd.runtime.loader.LoadedImage;
import dev.herd.runtime.arch.FaultClassifier;
import dev.herd.runtime.arch.SyscallNumbering;
import dev.herd.signals.SignalFrames;
import dev.herd.threads.CpuArch;
import dev.herd.threads.atomics.AtomicSites;

/**
 * Everything Herd knows about one guest architecture, chosen from the ELF machine of the program
 * a run starts: the CPU and engine, syscall numbering, guest ABI conversions, signal frames, fault
 * rules and atomics strategy. Generic code asks the bundle; it never names a register, layout or
 * number. Adding an architecture is a new bundle (QEMU's linux-user/&lt;arch&gt;/ directories are
 * the model for what belongs in one).
 */
public interface GuestArch {
    /** The kernel's name for it: uname's machine, AT_PLATFORM ({@code "x86_64"}, {@code "aarch64"}). */
    String name();

    /** The ELF machine its programs carry. */
    ElfFile.Machine machine();

    /** A CPU layer for one run (probes the loaded libunicorn; cached per library build). */
    CpuArch newCpu();

    SyscallNumbering numbering();

    /**
     * The signal frames of one process in {@code space} (which may need a page of its own: aarch64's
     * sigreturn trampoline, where Linux has the vDSO).
     */
    SignalFrames signalFrames(GuestAddressSpace space);

    FaultClassifier faults();

    GuestAbi abi();

    /**
     * Atomic-site patching for a parallel run whose engines' own atomics are not atomic across
     * engines, or null when this architecture has none (the run is then serial).
     *
     * @param translatorAtomics whether the translator makes most atomics exact (only the rest is patched)
     */
    AtomicSites sitePatcher(GuestAddressSpace space, boolean translatorAtomics);

    /**
     * The initial stack of {@code image} with what this architecture and {@code cpu} tell a new
     * image (AT_HWCAP, AT_HWCAP2, AT_PLATFORM, AT_MINSIGSTKSZ); the caller adds argv, envp and
     * AT_EXECFN. For a run's first image and for an execve in the same process alike.
     */
    default InitialStack.Builder initialStack(GuestAddressSpace space, LoadedImage image, CpuArch cpu) {
        return InitialStack.builder(space, image)
                .hwcap(cpu.hwcap())
                .hwcap2(cpu.hwcap2())
                .platform(name())
                .minSigStkSz(abi().minSigStackSize());
    }
}
