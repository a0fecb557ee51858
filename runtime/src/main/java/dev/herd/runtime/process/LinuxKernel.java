package dev.herd.runtime.process;


import dev.herd.host.ErrnoException;
import dev.herd.runtime.signal.SignalDelivery;
import dev.herd.runtime.syscall.SyscallContext;
import dev.herd.runtime.arch.FaultReport;
import dev.herd.runtime.syscall.SyscallDispatcher;
import dev.herd.threads.GuestFault;
import dev.herd.threads.GuestKernel;
import dev.herd.threads.GuestThread;

import java.io.PrintStream;

/**
 * The Linux side of a guest process's threads: routes syscalls through the dispatcher, turns
 * unhandled faults into the process's death by signal with one report line, and keeps the
 * process's thread registry.
 */
public final class LinuxKernel implements GuestKernel {
    private final GuestProcess process;
    private final SyscallDispatcher dispatcher;
    private final PrintStream diagnostics;
    private final SignalDelivery signals;

    public LinuxKernel(GuestProcess process, SyscallDispatcher dispatcher, SignalDelivery signals, PrintStream diagnostics) {
        this.process = process;
        this.dispatcher = dispatcher;
        this.signals = signals;
        this.diagnostics = diagnostics;
    }

    public SignalDelivery signals() { return signals; }

    /**
     * Told of every guest thread's start (on the thread, before its first guest instruction, its
     * engine stopped) and end (on the thread, after its engine was released). The embedding API
     * installs its engine instrumentation here. Exceptions end the run as internal errors.
     */
    public interface ThreadObserver {
        void threadStarted(GuestThread thread);
        void threadExited(GuestThread thread);
    }

    private volatile ThreadObserver observer;

    /** Sets the observer (null for none); set it before the first thread starts to see every thread. */
    public void observer(ThreadObserver observer) { this.observer = observer; }

    public GuestProcess process() { return process; }
    public SyscallDispatcher dispatcher() { return dispatcher; }

    /** Runs {@code thread} on the calling Java thread until it ends. */
    public void run(GuestThread thread) {
        thread.run();
    }

    private static SyscallContext context(GuestThread thread) {
        return (SyscallContext) thread.kernelState();
    }

    @Override
    public void threadStarted(GuestThread thread) {
        SyscallContext ctx;
        if (thread.kernelState() instanceof SyscallContext c) {
            ctx = c;
        } else {
            ctx = new SyscallContext(process, thread);
            thread.kernelState(ctx);
        }
        process.threadStarted(thread);
        // A signal sent to the process before this thread existed (a fork's child gets its pid
        // out before its first thread runs) woke no one: take it at the first safe point.
        signals.recheck(ctx);
        // The host thread's comm is what /proc and PR_GET_NAME show for this guest thread: the
        // program's name for the first one (Linux: the basename of the file execve ran), the
        // creator's for others (instead of the JVM's thread name).
        ThreadComm.set(ctx.initialComm() != null ? ctx.initialComm() : ThreadComm.ofProgram(process.exePath()));
        // CLONE_CHILD_SETTID / CLONE_PARENT_SETTID are written before the child runs and before
        // clone returns in the parent (which waits for started()). A bad address is ignored, as Linux
        // ignores faults on these writes.
        writeTid(ctx.setChildTid(), thread.tid());
        writeTid(ctx.setParentTid(), thread.tid());
        ctx.started().complete(thread.tid());
        if (process.exiting()) thread.requestExit();
        ThreadObserver o = observer;
        if (o != null) o.threadStarted(thread);
    }

    private void writeTid(long address, int tid) {
        if (address == 0) return;
        try {
            process.addressSpace().memory().writeInt(address, tid);
        } catch (ErrnoException ignored) {
            // Linux's put_user here fails silently too.
        }
    }

    @Override
    public void syscall(GuestThread thread) {
        SyscallContext ctx = context(thread);
        long[] args = thread.readSyscall();
        long result = dispatcher.dispatch(ctx, args[0], args);
        thread.arch().writeSyscallResult(thread.engine(), result);
    }

    @Override
    public void safePoint(GuestThread thread) {
        SyscallContext ctx = context(thread);
        VforkChild resumed = ctx.takeVforkReturn();
        if (resumed != null) resumed.resumeParent(ctx);
        // Before signals: a signal pending now is delivered to the new image, with its actions.
        InProcessExec exec = ctx.takeExecPending();
        if (exec != null) exec.run(ctx);
        signals.atSafePoint(ctx);
    }

    /** A fault becomes its signal, forced as the kernel forces it; unhandled, it ends the process. */
    @Override
    public void fault(GuestThread thread, GuestFault fault) {
        FaultReport report = process.arch().faults().classify(fault, process.addressSpace(), thread.engine());
        signals.forceFault(context(thread), report.sigInfo(), report.trap(),
                report.describe() + " in thread " + thread.tid());
    }

    @Override
    public void internalError(GuestThread thread, Throwable error) {
        diagnostics.println("herd: internal error in thread " + thread.tid() + ": " + error);
        if (System.getenv("HERD_DEBUG") != null) error.printStackTrace(diagnostics);
        diagnostics.flush();
        process.exitGroup(ProcessExit.exited(INTERNAL_ERROR_STATUS));
    }

    /** Exit status of a run that Herd itself could not continue (sysexits' EX_SOFTWARE). */
    public static final int INTERNAL_ERROR_STATUS = 70;

    @Override
    public void threadExited(GuestThread thread) {
        SyscallContext ctx = (SyscallContext) thread.kernelState();
        ThreadExit.release(ctx);
        ThreadObserver o = observer;
        if (o != null) {
            try {
                o.threadExited(thread);
            } catch (RuntimeException | Error e) {
                internalError(thread, e);
            }
        }
        process.threadEnded(thread, ctx.exitStatus());
    }
}
