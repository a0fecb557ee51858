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
    /** The process this thread acts for: its own, or a vfork child's view while that child runs on it. */
    private GuestProcess process;
    private final GuestThread thread;
    private final ThreadSignalState signals = new ThreadSignalState();
    private long clearChildTid;
    private long robustListHead;
    private long robustListLength;
    private int exitStatus;
    private long setChildTid;
    // Signal bookkeeping between a syscall and the safe point that follows it.
    private int restartCode;
    private long restartNr, restartArg0;
    private long[] lastTrap;
    private SyscallHandler restartBlock;
    private boolean restoreSigmask;
    private long savedSigmask;
    private boolean sigreturnPending;
    private final java.lang.foreign.MemorySegment scratch = java.lang.foreign.Arena.ofAuto().allocate(64, 16);
    private long setParentTid;
    private final java.util.concurrent.CompletableFuture<Integer> started = new java.util.concurrent.CompletableFuture<>();

    public SyscallContext(GuestProcess process, GuestThread thread) {
        this.process = process;
        this.thread = thread;
    }

    public GuestProcess process() { return process; }

    private dev.herd.host.HostOps host = dev.herd.host.HostOps.LOCAL;

    /**
     * Where the current syscall's host calls run: the proxy when the call is forwarded, else the
     * Herd process. Calls on an fd run where the fd lives (see runtime.fs.HostSides).
     */
    public dev.herd.host.HostOps host() { return host; }

    /** True while a forwarded syscall runs: its fds are moved to the proxy. */
    public boolean forwarded() { return !host.isLocal(); }

    /**
     * A vfork child running on this thread (it borrows the thread until it execs or exits), or
     * null. The state is the process package's; here it is only held.
     */
    private dev.herd.runtime.process.VforkChild vfork;

    public dev.herd.runtime.process.VforkChild vfork() { return vfork; }

    /** Switches this thread to act for {@code p} (a vfork child's view), or back (null state). */
    public void actFor(GuestProcess p, dev.herd.runtime.process.VforkChild vforkState) {
        this.process = p;
        this.vfork = vforkState;
    }

    private dev.herd.runtime.process.VforkChild vforkReturn;

    /** A vfork child that just ended its use of this thread: the parent resumes at the safe point. */
    public void vforkReturn(dev.herd.runtime.process.VforkChild v) { this.vforkReturn = v; }

    public dev.herd.runtime.process.VforkChild takeVforkReturn() {
        var v = vforkReturn;
        vforkReturn = null;
        return v;
    }

    private String initialComm;

    /** The comm a new thread starts with (its creator's, as on Linux), or null for the main thread's. */
    public String initialComm() { return initialComm; }

    public void initialComm(String comm) { this.initialComm = comm; }

    /** Set by the dispatcher around each call. */
    void host(dev.herd.host.HostOps host) { this.host = host; }
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

    /**
     * The syscall {@code nr} returned -{@code code} (ERESTARTSYS, ERESTARTNOINTR, ERESTARTNOHAND or
     * ERESTART_RESTARTBLOCK): the safe point turns it into EINTR or a restart, as Linux's
     * signal-delivery code does.
     */
    public void interruptedSyscall(int code, long nr, long arg0) {
        this.restartCode = code;
        this.restartNr = nr;
        this.restartArg0 = arg0;
    }
    public int restartCode() { return restartCode; }
    public long restartNr() { return restartNr; }

    /**
     * The trap facts of this thread's last fault ({trapno, error code, address}; null before its
     * first): Linux keeps them per thread (x86 thread.trap_nr/error_code/cr2, arm64
     * thread.fault_code/fault_address) and every later frame, asynchronous ones too, records them.
     */
    public long[] lastTrap() { return lastTrap; }
    public void lastTrap(long[] trap) { this.lastTrap = trap; }
    /** The interrupted call's first argument (aarch64's result register held it: a restart puts it back). */
    public long restartArg0() { return restartArg0; }
    public void clearRestart() { restartCode = 0; }

    /** What restart_syscall runs (the kernel's restart_block), or null. */
    public SyscallHandler restartBlock() { return restartBlock; }
    public void restartBlock(SyscallHandler block) { this.restartBlock = block; }

    /** sigsuspend-style temporary mask: the mask to put back (and save in the frame) afterwards. */
    public void saveSigmaskForRestore(long mask) {
        this.savedSigmask = mask;
        this.restoreSigmask = true;
    }
    public boolean restoreSigmaskPending() { return restoreSigmask; }
    public long savedSigmask() { return savedSigmask; }
    public void clearRestoreSigmask() { restoreSigmask = false; }

    /** rt_sigreturn was called: the safe point restores the frame. */
    private dev.herd.runtime.process.InProcessExec execPending;

    /** An execve past its checks, to be made at this thread's next safe point. */
    public void execPending(dev.herd.runtime.process.InProcessExec exec) { this.execPending = exec; }

    /** The pending execve, if any, which is then no longer pending. */
    public dev.herd.runtime.process.InProcessExec takeExecPending() {
        var e = execPending;
        execPending = null;
        return e;
    }

    public void sigreturnPending(boolean pending) { this.sigreturnPending = pending; }
    public boolean sigreturnPending() { return sigreturnPending; }

    /** 64 bytes of native memory private to this thread, for host-call arguments (timespecs...). */
    public java.lang.foreign.MemorySegment scratch() { return scratch; }

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
