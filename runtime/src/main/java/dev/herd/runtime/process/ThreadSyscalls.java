package dev.herd.runtime.process;

import dev.herd.host.Errno;
import dev.herd.memory.GuestMemory;
import dev.herd.runtime.syscall.SyscallContext;
import dev.herd.runtime.syscall.SyscallTable;
import dev.herd.threads.CpuArch;
import dev.herd.threads.GuestThread;

import java.util.concurrent.ExecutionException;

/**
 * clone and clone3 for threads: a new Java platform thread with its own engine, the parent's
 * registers, the child stack and TLS. New processes: {@link VforkChild} (CLONE_VM|CLONE_VFORK) and
 * {@link ForkSyscalls} (no CLONE_VM).
 */
public final class ThreadSyscalls {
    private ThreadSyscalls() {}

    private static final long SIGCHLD = 17;
    static final long CSIGNAL = 0xff, CLONE_VM = 0x100, CLONE_FS = 0x200, CLONE_FILES = 0x400,
            CLONE_SIGHAND = 0x800, CLONE_PIDFD = 0x1000, CLONE_VFORK = 0x4000, CLONE_PARENT = 0x8000,
            CLONE_THREAD = 0x10000, CLONE_NEWNS = 0x20000, CLONE_SYSVSEM = 0x40000, CLONE_SETTLS = 0x80000,
            CLONE_PARENT_SETTID = 0x100000, CLONE_CHILD_CLEARTID = 0x200000, CLONE_DETACHED = 0x400000,
            CLONE_UNTRACED = 0x800000, CLONE_CHILD_SETTID = 0x1000000, CLONE_IO = 0x80000000L,
            CLONE_CLEAR_SIGHAND = 0x100000000L;
    /** What a thread must share with its creator for Herd to run it (one address space, fd table...). */
    private static final long THREAD_REQUIRED = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD;
    /** Flags that may accompany a thread clone. */
    private static final long THREAD_OPTIONAL = CLONE_SYSVSEM | CLONE_SETTLS | CLONE_PARENT_SETTID
            | CLONE_CHILD_CLEARTID | CLONE_CHILD_SETTID | CLONE_DETACHED | CLONE_UNTRACED | CLONE_PARENT | CLONE_IO;
    /**
     * Flags a fork-like clone may carry (CLONE_VFORK without CLONE_VM: the parent goes on at once,
     * which only timing can tell from waiting for the child's exec or exit).
     */
    private static final long FORK_OPTIONAL = CLONE_SETTLS | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID | CLONE_CHILD_SETTID
            | CLONE_DETACHED | CLONE_UNTRACED | CLONE_IO | CLONE_VFORK | CLONE_CLEAR_SIGHAND | CLONE_SYSVSEM;
    /** sizeof(struct clone_args) version 0 (CLONE_ARGS_SIZE_VER0). */
    private static final long CLONE_ARGS_VER0 = 64;

    public static void register(SyscallTable t) {
        // The argument order is the architecture's (arm64 passes tls fourth).
        t.define("clone", "hex ptr ptr ptr ptr", (ctx, a0, a1, a2, a3, a4, f) -> {
            var args = ctx.process().arch().abi().cloneArgs(a0, a1, a2, a3, a4);
            return cloneThread(ctx, args.flags(), args.stack(), args.parentTid(), args.childTid(), args.tls());
        });
        t.define("clone3", "ptr size", ThreadSyscalls::clone3);
        // Guest threads are host threads of this process, so the host's barriers (and their
        // registrations, which are per process) reach every guest thread.
        t.passThrough("membarrier", "int hex int", (ctx, cmd, flags, cpu, d, e, f) ->
                dev.herd.host.HostKernel.call(dev.herd.host.HostSyscall.MEMBARRIER, cmd, flags, cpu));
        t.define("fork", "", (ctx, a, b, c, d, e, f) -> ForkSyscalls.fork(ctx, SIGCHLD, 0, 0, 0, 0));
        t.define("vfork", "", (ctx, a, b, c, d, e, f) -> VforkChild.start(ctx, 0, false, dev.herd.signals.Signals.SIGCHLD));
    }

    private static long clone3(SyscallContext ctx, long argsPtr, long size, long c, long d, long e, long f) {
        if (size < CLONE_ARGS_VER0 || size > 4096) return -Errno.EINVAL;
        GuestMemory m = ctx.memory();
        long flags = m.readLong(argsPtr);
        long pidfd = m.readLong(argsPtr + 8);
        long childTid = m.readLong(argsPtr + 16);
        long parentTid = m.readLong(argsPtr + 24);
        long exitSignal = m.readLong(argsPtr + 32);
        long stack = m.readLong(argsPtr + 40);
        long stackSize = m.readLong(argsPtr + 48);
        long tls = m.readLong(argsPtr + 56);
        // Larger structs are accepted only if the extra fields are zero (set_tid, cgroup: unsupported).
        for (long off = CLONE_ARGS_VER0; off + 8 <= size; off += 8) {
            if (m.readLong(argsPtr + off) != 0) return -Errno.EINVAL;
        }
        if ((exitSignal & ~CSIGNAL) != 0 || (flags & CSIGNAL) != 0) return -Errno.EINVAL;
        if ((flags & (CLONE_THREAD | CLONE_PARENT)) != 0 && exitSignal != 0) return -Errno.EINVAL;
        if ((stack == 0) != (stackSize == 0)) return -Errno.EINVAL;
        if ((flags & CLONE_PIDFD) != 0 && pidfd == 0) return -Errno.EINVAL;
        long sp = stack == 0 ? 0 : stack + stackSize;
        // clone3 gives the exit signal a field of its own; clone carries it in the flags' CSIGNAL bits.
        return cloneThread(ctx, flags | exitSignal, sp, parentTid, childTid, tls);
    }

    private static long cloneThread(SyscallContext ctx, long flags, long newSp, long ptid, long ctid, long tls) {
        // Combinations Linux itself rejects.
        if ((flags & (CLONE_NEWNS | CLONE_FS)) == (CLONE_NEWNS | CLONE_FS)) return -Errno.EINVAL;
        if ((flags & CLONE_THREAD) != 0 && (flags & CLONE_SIGHAND) == 0) return -Errno.EINVAL;
        if ((flags & CLONE_SIGHAND) != 0 && (flags & CLONE_VM) == 0) return -Errno.EINVAL;
        // A new process: fork-like (a child Herd) or vfork-like sharing memory as posix_spawn does.
        // A combination no child Herd can honour is ENOSYS; EINVAL would blame valid flags.
        if ((flags & CLONE_THREAD) == 0) {
            // posix_spawn, system, popen: a child that shares memory and suspends its parent until
            // it execs or exits runs on the parent's own thread (VforkChild).
            if ((flags & (CLONE_VM | CLONE_VFORK)) == (CLONE_VM | CLONE_VFORK)
                    && (flags & ~(CSIGNAL | CLONE_VM | CLONE_VFORK | CLONE_CLEAR_SIGHAND)) == 0) {
                return VforkChild.start(ctx, newSp, (flags & CLONE_CLEAR_SIGHAND) != 0, (int) (flags & CSIGNAL));
            }
            // fork: a child Herd with a copy of this process. Sharing the fd table, filesystem
            // context or anything else with a process of its own is not possible across two JVMs.
            if ((flags & ~(CSIGNAL | FORK_OPTIONAL)) == 0) return ForkSyscalls.fork(ctx, flags, newSp, ptid, ctid, tls);
            return -Errno.ENOSYS;
        }
        long kind = flags & ~CSIGNAL;
        if ((kind & THREAD_REQUIRED) != THREAD_REQUIRED || (kind & ~(THREAD_REQUIRED | THREAD_OPTIONAL)) != 0) {
            return -Errno.EINVAL;
        }
        GuestThread parent = ctx.thread();
        GuestProcess process = ctx.process();
        CpuArch arch = parent.arch();
        GuestThread child;
        try {
            child = new GuestThread(parent.environment());
        } catch (RuntimeException e) {
            return -Errno.EAGAIN;
        }
        arch.copyThreadState(parent.engine(), child.engine());
        child.engine().regWrite(arch.pcRegister(), arch.pcAfterSyscall(parent.engine()));
        arch.writeSyscallResult(child.engine(), 0);
        if (newSp != 0) child.engine().regWrite(arch.spRegister(), newSp);
        if ((flags & CLONE_SETTLS) != 0) arch.setThreadPointer(child.engine(), tls);

        SyscallContext childCtx = new SyscallContext(process, child);
        childCtx.signals().setBlocked(ctx.signals().blocked());
        childCtx.initialComm(ThreadComm.current());
        if ((flags & CLONE_CHILD_CLEARTID) != 0) childCtx.clearChildTid(ctid);
        childCtx.tidTargets((flags & CLONE_CHILD_SETTID) != 0 ? ctid : 0, (flags & CLONE_PARENT_SETTID) != 0 ? ptid : 0);
        child.kernelState(childCtx);

        process.threadCreated();
        try {
            Thread.ofPlatform().name("guest-thread").start(child);
        } catch (OutOfMemoryError | RuntimeException e) {
            // The host refused another thread: what Linux reports for thread limits.
            process.threadEnded(child, 0);
            child.abandon();
            return -Errno.EAGAIN;
        }
        try {
            return childCtx.started().get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return -Errno.EINTR;
        } catch (ExecutionException e) {
            return -Errno.EAGAIN;
        }
    }
}
