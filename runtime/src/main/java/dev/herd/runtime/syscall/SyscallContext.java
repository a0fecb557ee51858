package dev.herd.runtime.syscall;

import dev.herd.memory.GuestMemory;
import dev.herd.runtime.process.GuestProcess;
import dev.herd.signals.ThreadSignalState;
import dev.herd.threads.GuestThread;

/**
 * What a syscall handler can reach: the calling guest thread, its per-thread kernel state and its
 * process. One instance per guest thread, reused for every call that thread makes; only that
 * thread touches the mutable fields.
 */
public final class SyscallContext {
    private final GuestProcess process;
    private final GuestThread thread;
    private final ThreadSignalState signals = new ThreadSignalState();
    private long clearChildTid;
    private long robustListHead;
    private long robustListLength;
    private int exitStatus;
    private long setChildTid;
    private long setParentTid;
    private final java.util.concurrent.CompletableFuture<Integer> started = new java.util.concurrent.CompletableFuture<>();

    public SyscallContext(GuestProcess process, GuestThread thread) {
        this.process = process;
        this.thread = thread;
    }

    public GuestProcess process() { return process; }
    public GuestThread thread() { return thread; }
    public GuestMemory memory() { return process.addressSpace().memory(); }
    /** Guest TID of the calling thread (the host TID of its Java thread). */
    public int tid() { return thread.tid(); }
    public ThreadSignalState signals() { return signals; }

    /** set_tid_address / CLONE_CHILD_CLEARTID: the word cleared and woken when the thread exits. */
    public long clearChildTid() { return clearChildTid; }
    public void clearChildTid(long address) { this.clearChildTid = address; }

    /** The status this thread passed to exit(2); the last thread's becomes the process's. */
    public int exitStatus() { return exitStatus; }
    public void exitStatus(int status) { this.exitStatus = status; }

    /** CLONE_CHILD_SETTID / CLONE_PARENT_SETTID: where the new thread writes its TID before it runs. */
    public void tidTargets(long childTid, long parentTid) {
        this.setChildTid = childTid;
        this.setParentTid = parentTid;
    }
    public long setChildTid() { return setChildTid; }
    public long setParentTid() { return setParentTid; }

    /** Completes with the thread's TID once it runs (what clone returns to the parent). */
    public java.util.concurrent.CompletableFuture<Integer> started() { return started; }

    public long robustListHead() { return robustListHead; }
    public long robustListLength() { return robustListLength; }
    public void robustList(long head, long length) {
        this.robustListHead = head;
        this.robustListLength = length;
    }
}
