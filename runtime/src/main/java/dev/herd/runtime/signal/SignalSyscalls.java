package dev.herd.runtime.signal;

import dev.herd.host.Errno;
import dev.herd.host.HostKernel;
import dev.herd.host.HostSyscall;
import dev.herd.memory.GuestMemory;
import dev.herd.runtime.syscall.SyscallContext;
import dev.herd.runtime.syscall.SyscallTable;
import dev.herd.signals.SigInfo;
import dev.herd.signals.SigInfoLayout;
import dev.herd.signals.Signals;
import dev.herd.threads.GuestThread;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Sending, waiting for and returning from signals: kill, tkill, tgkill, rt_sigqueueinfo,
 * rt_tgsigqueueinfo, rt_sigreturn, rt_sigsuspend, pause, rt_sigtimedwait, restart_syscall.
 * Signals to pids other than the guest's own go to the host kernel (they name real processes).
 */
public final class SignalSyscalls {
    private SignalSyscalls() {}

    private static final long SIGSET_SIZE = 8;
    private static final int HOST_PAUSE = 34, HOST_KILL = 62, HOST_PPOLL = 271, CLOCK_MONOTONIC = 1;

    public static void register(SyscallTable t) {
        t.define("kill", "int signal", (ctx, pid, sig, c, d, e, f) -> kill(ctx, (int) pid, (int) sig));
        t.define("tkill", "int signal", (ctx, tid, sig, c, d, e, f) -> tgkill(ctx, ctx.process().pid(), (int) tid, (int) sig));
        t.define("tgkill", "int int signal", (ctx, tgid, tid, sig, d, e, f) -> tgkill(ctx, (int) tgid, (int) tid, (int) sig));
        t.define("rt_sigqueueinfo", "int signal ptr", (ctx, pid, sig, info, d, e, f) -> sigqueue(ctx, (int) pid, 0, (int) sig, info));
        t.define("pidfd_send_signal", "fd signal ptr hex", SignalSyscalls::pidfdSendSignal);
        Pidfds.register(t);
        SignalFds.register(t);
        t.define("rt_tgsigqueueinfo", "int int signal ptr", (ctx, tgid, tid, sig, info, e, f) ->
                sigqueue(ctx, (int) tgid, (int) tid, (int) sig, info));
        t.define("rt_sigreturn", "", (ctx, a, b, c, d, e, f) -> {
            // Registers (rax included) come back from the frame at the safe point that follows.
            ctx.sigreturnPending(true);
            ctx.thread().requestSafePoint();
            return 0;
        });
        t.define("rt_sigsuspend", "ptr size", SignalSyscalls::sigsuspend);
        t.define("pause", "", (ctx, a, b, c, d, e, f) -> waitForSignal(ctx, ctx.signals().blocked()));
        t.define("rt_sigtimedwait", "ptr ptr ptr size", SignalSyscalls::sigtimedwait);
        t.define("restart_syscall", "", (ctx, a, b, c, d, e, f) -> {
            var block = ctx.restartBlock();
            ctx.restartBlock(null);
            return block == null ? -Errno.EINTR : block.handle(ctx, 0, 0, 0, 0, 0, 0);
        });
    }

    private static SignalDelivery delivery(SyscallContext ctx) { return ctx.process().delivery(); }

    private static int uid() { return (int) HostKernel.call(HostSyscall.GETUID); }

    private static long kill(SyscallContext ctx, int pid, int sig) {
        if (!Signals.valid(sig) && sig != 0) return -Errno.EINVAL;
        int self = ctx.process().pid();
        if (pid == self) return delivery(ctx).send(null, SigInfo.user(sig, SigInfo.SI_USER, self, uid()));
        if (pid == 0 || pid == -1 || pid == -self) {
            // The caller's group (or everything it may signal): itself, and its children that are
            // still in that group (fork's and execve's child Herds; never the whole host for -1).
            long group = HostKernel.call(HostSyscall.GETPGRP);
            for (int child : ctx.process().children().runningHostPids()) {
                if (pid == -1 || HostKernel.call(HostSyscall.GETPGID, child) == group) {
                    HostSignalCarrier.kill(child, sig, true, ctx.process().hostIdOf(self), uid());
                }
            }
            return delivery(ctx).send(null, SigInfo.user(sig, SigInfo.SI_USER, self, uid()));
        }
        // A child reaped by its exit report whose JVM is still ending is gone for the guest. An
        // exited child not yet reaped (a zombie) takes the signal to no effect: its JVM may be
        // ending, or serving the next fork already (a reused spare), which must not get it.
        if (pid > 0) {
            switch (ctx.process().children().signalTarget(pid)) {
                case GONE -> { return -Errno.ESRCH; }
                case ZOMBIE -> { return 0; }
                case OTHER -> { }
            }
        }
        // A child's pid or group (a fork's child Herd: its guest pid is a thread of that process).
        // A group gets the host's kill by number: a carrier reaches one process only.
        if (pid < 0) return HostKernel.call(HOST_KILL, -ctx.process().hostIdOf(-pid), sig);
        return HostSignalCarrier.kill(ctx.process().hostIdOf(pid), sig, ctx.process().knowsHerd(pid),
                ctx.process().hostIdOf(self), uid());
    }

    private static final long PIDFD_SIGNAL_THREAD = 1, PIDFD_SIGNAL_PROCESS_GROUP = 4;

    /**
     * pidfd_send_signal on a pidfd or a process's {@code /proc/PID} directory fd ({@link Pidfds}):
     * kill's or rt_sigqueueinfo's semantics towards that process. Signals to the guest itself are
     * Herd's to deliver; another process's fd goes to the host's call on the same fd. Any other fd
     * is EBADF, as for the kernel.
     */
    private static long pidfdSendSignal(SyscallContext ctx, long fd, long sig, long info, long flags, long e, long f) {
        // PIDFD_SIGNAL_THREAD, _THREAD_GROUP, _PROCESS_GROUP (Linux 6.9): at most one
        if ((flags & ~7L) != 0 || Long.bitCount(flags) > 1) return -Errno.EINVAL;
        int host = ctx.process().fds().hostOrMinus1((int) fd);
        if (host < 0 || (int) fd != fd) return -Errno.EBADF;
        int pid = Pidfds.pidOf(ctx, host);
        if (pid < 0) return -Errno.EBADF;
        if (pid != ctx.process().pid()) {
            if (flags == 0 && HostSignalCarrier.carried((int) sig) && ctx.process().knowsHerd(pid)) {
                return info == 0 ? kill(ctx, pid, (int) sig) : sigqueue(ctx, pid, 0, (int) sig, info);
            }
            return HostKernel.call(HostSyscall.PIDFD_SEND_SIGNAL, host, sig,
                    info == 0 ? 0 : ctx.memory().hostPointer(info, SigInfoLayout.SIZE), flags);
        }
        if (flags == PIDFD_SIGNAL_THREAD) {  // the thread whose TID is the pid: the main thread
            return info == 0 ? tgkill(ctx, pid, pid, (int) sig) : sigqueue(ctx, pid, pid, (int) sig, info);
        }
        if (flags == PIDFD_SIGNAL_PROCESS_GROUP) return kill(ctx, -pid, (int) sig);
        return info == 0 ? kill(ctx, pid, (int) sig) : sigqueue(ctx, pid, 0, (int) sig, info);
    }

    private static long tgkill(SyscallContext ctx, int tgid, int tid, int sig) {
        if (!Signals.valid(sig) && sig != 0) return -Errno.EINVAL;
        if (tid <= 0 || (tgid <= 0 && tgid != ctx.process().pid())) return -Errno.EINVAL;
        if (tgid != ctx.process().pid()) return -Errno.ESRCH;
        GuestThread target = ctx.process().threads().byTid(tid);
        if (target == null || target.exitRequested()) return -Errno.ESRCH;
        return delivery(ctx).send(target, SigInfo.user(sig, SigInfo.SI_TKILL, ctx.process().pid(), uid()));
    }

    private static long sigqueue(SyscallContext ctx, int tgid, int tid, int sig, long infoPtr) {
        if (!Signals.valid(sig) && sig != 0) return -Errno.EINVAL;
        SigInfo given = SigInfoLayout.read(ctx.memory(), infoPtr, sig);
        int self = ctx.process().pid();
        // Not even root may pretend to be the kernel or kill()/tgkill() towards another process or
        // thread; checked before the target is looked up, as kernel/signal.c does.
        boolean toSelf = tid == 0 ? tgid == self : tgid == self && tid == ctx.tid();
        if ((given.code() >= 0 || given.code() == SigInfo.SI_TKILL) && !toSelf) return -Errno.EPERM;
        if (tgid != self) {
            // Another process (rt_sigqueueinfo): the host's call with the guest's siginfo as given
            // (si_pid is the sender's guest pid, as the receiver knows it). A thread of another
            // process is not addressable here.
            if (tid != 0 || tgid <= 0) return -Errno.ESRCH;
            switch (ctx.process().children().signalTarget(tgid)) { // as kill above
                case GONE -> { return -Errno.ESRCH; }
                case ZOMBIE -> { return 0; }
                case OTHER -> { }
            }
            return HostSignalCarrier.queue(ctx.process().hostIdOf(tgid), given, ctx.process().knowsHerd(tgid));
        }
        GuestThread target = null;
        if (tid != 0) {
            target = ctx.process().threads().byTid(tid);
            if (target == null) return -Errno.ESRCH;
        }
        if (sig == 0) return 0; // existence and permission check only
        return delivery(ctx).send(target, given);
    }

    private static long sigsuspend(SyscallContext ctx, long maskPtr, long size, long c, long d, long e, long f) {
        if (size != SIGSET_SIZE) return -Errno.EINVAL;
        long mask = ctx.memory().readLong(maskPtr) & ~Signals.UNBLOCKABLE;
        ctx.saveSigmaskForRestore(ctx.signals().blocked());
        ctx.signals().setBlocked(mask);
        return waitForSignal(ctx, mask);
    }

    /**
     * Blocks until a signal outside {@code blocked} is pending, then returns -ERESTARTNOHAND (the
     * safe point delivers it and makes it -EINTR). The host wait is a pause that the host
     * interrupt signal ends; one that lands before pause begins is re-sent (HostCallInterrupter).
     */
    private static long waitForSignal(SyscallContext ctx, long blocked) {
        while (!delivery(ctx).hasDeliverable(ctx, blocked)) {
            if (ctx.thread().exitRequested()) break;
            HostKernel.call(HOST_PAUSE);
        }
        return -Errno.ERESTARTNOHAND;
    }

    private static long sigtimedwait(SyscallContext ctx, long setPtr, long infoPtr, long timeoutPtr, long size,
                                     long e, long f) {
        if (size != SIGSET_SIZE) return -Errno.EINVAL;
        GuestMemory m = ctx.memory();
        long set = m.readLong(setPtr) & ~Signals.UNBLOCKABLE;
        long deadline = Long.MAX_VALUE;
        if (timeoutPtr != 0) {
            long sec = m.readLong(timeoutPtr), nsec = m.readLong(timeoutPtr + 8);
            if (sec < 0 || nsec < 0 || nsec >= 1_000_000_000L) return -Errno.EINVAL;
            deadline = System.nanoTime() + Math.min(sec, Long.MAX_VALUE / 2_000_000_000L) * 1_000_000_000L + nsec;
        }
        long old = ctx.signals().blocked();
        try {
            // While waiting, the awaited signals count as unblocked so that senders pick this thread.
            ctx.signals().setBlocked(old & ~set);
            while (true) {
                SigInfo info = delivery(ctx).dequeueFrom(ctx, set);
                if (info != null) {
                    if (infoPtr != 0) SigInfoLayout.write(m, infoPtr, info);
                    return info.signo();
                }
                if (delivery(ctx).hasDeliverable(ctx, old | set)) return -Errno.EINTR; // a handler runs first
                if (ctx.thread().exitRequested()) return -Errno.EINTR;
                long left = deadline - System.nanoTime();
                if (left <= 0) return -Errno.EAGAIN;
                MemorySegment ts = ctx.scratch();
                long wait = Math.min(left, 1_000_000_000L * 3600);
                ts.set(ValueLayout.JAVA_LONG, 0, wait / 1_000_000_000L);
                ts.set(ValueLayout.JAVA_LONG, 8, wait % 1_000_000_000L);
                HostKernel.call(HOST_PPOLL, 0, 0, deadline == Long.MAX_VALUE ? 0 : ts.address(), 0, 8);
            }
        } finally {
            ctx.signals().setBlocked(old);
        }
    }
}
