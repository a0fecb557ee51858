package dev.herd.threads;

import dev.herd.memory.GuestAddressSpace;
import dev.herd.threads.atomics.AtomicSites;

/**
 * What every guest thread of one process shares: the CPU architecture, the address space, the
 * kernel that handles its syscalls and faults, the thread group, the execution gate (parallel or
 * serial), the atomic-site patcher, the pool of idle engines and the host-call interrupter.
 */
public record ThreadEnvironment(CpuArch arch, GuestAddressSpace addressSpace, GuestKernel kernel,
                                GuestThreads group, ExecutionGate gate, AtomicSites atomics, EnginePool engines,
                                HostCallInterrupter interrupter) {
}
