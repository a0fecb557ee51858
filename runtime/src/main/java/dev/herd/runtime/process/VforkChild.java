package dev.herd.runtime.process;

import dev.herd.runtime.syscall.SyscallContext;
import dev.herd.threads.CpuArch;
import dev.herd.unicorn.UcContext;
import dev.herd.unicorn.Unicorn;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * A vfork child (vfork, or clone with CLONE_VM|CLONE_VFORK as posix_spawn, system and popen use)
 * running on its parent's own thread and engine. Linux suspends the parent until the child execs
 * or exits, and the child shares the parent's memory: so the child simply borrows the thread. At
 * the vfork the parent's registers and signal mask are saved and the thread acts for a child
 * view of the process ({@link GuestProcess#vforkChild}: own fd table, cwd, dispositions, pid); the
 * child's execve starts a child Herd (without ending this image) and its _exit records a zombie;
 * either way the parent's registers come back and its vfork returns the child's pid.
 *
 * <p>Pids: a child that execs is the child Herd's host pid (so wait, kill and /proc name a real
 * process); before it execs (and if it exits without), a provisional pid above the kernel's
 * largest (pid_max 4194304), so it is never another process's.
 */
public final class VforkChild {
    private static final AtomicInteger NEXT_PROVISIONAL = new AtomicInteger(4_194_304);

    private final GuestProcess parent;
    private final GuestProcess child;
    private final UcContext saved;
    private final long resumePc;
    private final long parentMask;
    /** What the parent gets when the child ends (clone's CSIGNAL; vfork: SIGCHLD). */
    private final int exitSignal;

    private VforkChild(GuestProcess parent, GuestProcess child, UcContext saved, long resumePc, long parentMask,
                       int exitSignal) {
        this.exitSignal = exitSignal;
        this.parent = parent;
        this.child = child;
        this.saved = saved;
        this.resumePc = resumePc;
        this.parentMask = parentMask;
    }

    /**
     * The vfork: saves the parent, switches the thread to the child (stack {@code newSp} if not
     * 0) and returns 0, the child's view of the call.
     */
    public static long start(SyscallContext ctx, long newSp, boolean clearHandlers, int exitSignal) {
        if (ctx.vfork() != null) return -dev.herd.host.Errno.EAGAIN; // a vfork child's own vfork: not supported
        Unicorn engine = ctx.thread().engine();
        CpuArch arch = ctx.thread().arch();
        GuestProcess parent = ctx.process();
        int pid = NEXT_PROVISIONAL.getAndIncrement();
        GuestProcess child = parent.vforkChild(pid, clearHandlers);
        VforkChild v = new VforkChild(parent, child, engine.contextSave(), arch.pcAfterSyscall(engine), ctx.signals().blocked(),
                exitSignal);
        if (newSp != 0) engine.regWrite(arch.spRegister(), newSp);
        ctx.actFor(child, v);
        return 0;
    }

    /**
     * setsid and setpgid in the child: its thread is its parent's, so the host calls would move the
     * whole JVM. They are recorded and made for the child Herd its execve starts (posix_spawn's
     * POSIX_SPAWN_SETSID and POSIX_SPAWN_SETPGROUP), which is the child from then on.
     */
    private volatile boolean newSession;
    /** The host process group the child asked to be in: -1 none asked, 0 its own. */
    private volatile int hostGroup = -1;

    /** The child's setsid (it is not a group leader yet: the new session is made at its execve). */
    public void requestSession() { newSession = true; }

    /** The child's setpgid(0, pgid): {@code hostPgid} 0 for a group of its own. */
    public void requestGroup(int hostPgid) { hostGroup = hostPgid; }

    /** Whether the child asked for a session of its own. */
    public boolean newSession() { return newSession; }

    /** The host process group the child asked for (-1: none, 0: its own); none after setsid. */
    public int hostGroup() { return newSession ? -1 : hostGroup; }


    /**
     * The child ended its use of the thread: it exec'd as host process {@code execPid}, or
     * (execPid 0) exited with {@code exitStatus}. The parent's registers, mask and process come
     * back; the returned value is the vfork's result in the parent (its child's pid).
     */
    public long finish(SyscallContext ctx, int execPid, int exitStatus) {
        return finish(ctx, execPid, execPid, exitStatus);
    }

    /**
     * As {@link #finish(SyscallContext, int, int)} for an exec'd child whose guest pid (its first
     * thread's id, what the parent's vfork returns) differs from its Herd's host pid.
     */
    public long finish(SyscallContext ctx, int execPid, int hostPid, int exitStatus) {
        return finish(ctx, execPid, hostPid, exitStatus, false);
    }

    /** The parent this child borrowed the thread of. */
    public GuestProcess parent() { return parent; }

    /**
     * As {@link #finish(SyscallContext, int, int, int)}; {@code reportComing}: the new image runs in
     * a warm fork spare, whose socket will carry its exit report ({@link GuestChildren#attachReport}).
     */
    public long finish(SyscallContext ctx, int execPid, int hostPid, int exitStatus, boolean reportComing) {
        Unicorn engine = ctx.thread().engine();
        CpuArch arch = ctx.thread().arch();
        int pid = execPid != 0 ? execPid : child.pid();
        child.fds().close();
        child.paths().close();
        ctx.actFor(parent, null);
        ctx.signals().setBlocked(parentMask);
        resumeWith = pid;
        ctx.vforkReturn(this);
        // The registers change at the safe point right after this call, outside the engine (as
        // rt_sigreturn's): a PC written from inside the syscall hook is not reliably taken.
        ctx.thread().requestSafePoint();
        if (execPid != 0) parent.children().addRunning(execPid, hostPid, exitSignal, reportComing);
        else parent.children().addExited(pid, exitStatus, exitSignal);
        return pid;
    }

    private long resumeWith;

    /** At the parent's safe point after {@link #finish}: its registers, PC after the vfork, result. */
    public void resumeParent(SyscallContext ctx) {
        Unicorn engine = ctx.thread().engine();
        CpuArch arch = ctx.thread().arch();
        engine.contextRestore(saved);
        saved.close();
        engine.regWrite(arch.pcRegister(), resumePc);
        arch.writeSyscallResult(engine, resumeWith);
    }
}
