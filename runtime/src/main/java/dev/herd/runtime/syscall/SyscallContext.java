package dev.herd.runtime.syscall;

import dev.herd.memory.GuestMemory;
import dev.herd.runtime.process.GuestProcess;

/**
 * What a syscall handler can reach: the calling thread's identity and its process.
 * One instance per guest thread, reused for every call that thread makes.
 */
public final class SyscallContext {
    private final GuestProcess process;
    private final int tid;

    public SyscallContext(GuestProcess process, int tid) {
        this.process = process;
        this.tid = tid;
    }

    public GuestProcess process() { return process; }
    public GuestMemory memory() { return process.addressSpace().memory(); }
    /** Guest TID of the calling thread (the host TID of its Java thread). */
    public int tid() { return tid; }
}
