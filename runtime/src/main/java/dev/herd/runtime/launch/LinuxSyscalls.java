package dev.herd.runtime.launch;

import dev.herd.runtime.fs.FileSyscalls;
import dev.herd.runtime.mm.MemoryLockSyscalls;
import dev.herd.runtime.mm.MemorySyscalls;
import dev.herd.runtime.mm.SysvSharedMemorySyscalls;
import dev.herd.runtime.process.CredentialSyscalls;
import dev.herd.runtime.process.SchedulingSyscalls;
import dev.herd.runtime.process.SysvIpcSyscalls;
import dev.herd.runtime.process.ExecSyscalls;
import dev.herd.runtime.process.FutexSyscalls;
import dev.herd.runtime.process.ProcessSyscalls;
import dev.herd.runtime.process.ThreadSyscalls;
import dev.herd.runtime.process.TimeSyscalls;
import dev.herd.runtime.signal.SignalStateSyscalls;
import dev.herd.runtime.signal.SignalSyscalls;
import dev.herd.runtime.signal.TimerSyscalls;
import dev.herd.runtime.syscall.SyscallTable;

/** The Linux syscall definitions Herd implements, by family, and per architecture. */
public final class LinuxSyscalls {
    private LinuxSyscalls() {}

    /** The generic calls and those only {@code machine}'s kernel has (x86_64: arch_prctl). */
    public static SyscallTable table(dev.herd.runtime.loader.ElfFile.Machine machine) {
        SyscallTable t = table();
        switch (machine) {
            case X86_64 -> dev.herd.runtime.arch.x86_64.ArchPrctlX86_64.register(t);
            case AARCH64 -> { }
        }
        return t;
    }

    /** The calls every architecture's kernel has. */
    public static SyscallTable table() {
        SyscallTable t = new SyscallTable();
        ProcessSyscalls.register(t);
        ExecSyscalls.register(t);
        TimeSyscalls.register(t);
        MemorySyscalls.register(t);
        SignalStateSyscalls.register(t);
        SignalSyscalls.register(t);
        TimerSyscalls.register(t);
        FutexSyscalls.register(t);
        ThreadSyscalls.register(t);
        FileSyscalls.register(t);
        CredentialSyscalls.register(t);
        SchedulingSyscalls.register(t);
        SysvIpcSyscalls.register(t);
        SysvSharedMemorySyscalls.register(t);
        MemoryLockSyscalls.register(t);
        UnsupportedSyscalls.register(t);
        return t;
    }
}
