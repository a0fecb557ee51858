package dev.herd.runtime.signal;

import dev.herd.host.Errno;
import dev.herd.memory.GuestMemory;
import dev.herd.runtime.syscall.SyscallContext;
import dev.herd.runtime.syscall.SyscallTable;
import dev.herd.signals.SignalAction;
import dev.herd.signals.Signals;
import dev.herd.signals.ThreadSignalState;

/**
 * The state half of the signal syscalls: dispositions (rt_sigaction), per-thread masks
 * (rt_sigprocmask), pending sets (rt_sigpending) and alternate stacks (sigaltstack). Sending and
 * delivery are {@link SignalSyscalls} and {@link SignalDelivery}.
 */
public final class SignalStateSyscalls {
    private SignalStateSyscalls() {}

    /** The kernel's sigset_t is 64 bits; any other sigsetsize is EINVAL. */
    private static final long SIGSET_SIZE = 8;

    public static void register(SyscallTable t) {
        t.define("rt_sigaction", "signal ptr ptr size", SignalStateSyscalls::sigaction);
        t.define("rt_sigprocmask", "int ptr ptr size", SignalStateSyscalls::sigprocmask);
        t.define("rt_sigpending", "ptr size", (ctx, set, size, c, d, e, f) -> {
            if (Long.compareUnsigned(size, SIGSET_SIZE) > 0) return -Errno.EINVAL;
            // Pending means pending and blocked-or-not: the thread's and the process's sets. Linux
            // copies out only sigsetsize bytes (none for 0, so even NULL is fine then).
            long pending = ctx.process().delivery().pendingSet(ctx);
            byte[] bytes = new byte[(int) size];
            for (int i = 0; i < bytes.length; i++) bytes[i] = (byte) (pending >>> (8 * i));
            ctx.memory().write(set, bytes);
            return 0;
        });
        t.define("sigaltstack", "ptr ptr", SignalStateSyscalls::sigaltstack);
    }

    private static long sigaction(SyscallContext ctx, long sig, long act, long oldAct, long size, long e, long f) {
        if (size != SIGSET_SIZE) return -Errno.EINVAL;
        GuestMemory m = ctx.memory();
        SignalAction next = null;
        if (act != 0) {
            next = new SignalAction(m.readLong(act), m.readLong(act + 8), m.readLong(act + 16), m.readLong(act + 24));
        }
        var actions = ctx.process().signals().actions();
        SignalAction previous = next != null ? actions.set((int) sig, next) : actions.get((int) sig);
        if (next != null) ctx.process().delivery().discardIfIgnored((int) sig);
        if (next != null && next.handler() != SignalAction.SIG_DFL && next.handler() != SignalAction.SIG_IGN
                && isFaultSignal((int) sig)) {
            // A handler may inspect or resume the faulting instruction: engines must report its PC exactly.
            ctx.process().threads().enablePreciseFaults();
        }
        if (oldAct != 0) {
            m.writeLong(oldAct, previous.handler());
            m.writeLong(oldAct + 8, previous.flags());
            m.writeLong(oldAct + 16, previous.restorer());
            m.writeLong(oldAct + 24, previous.mask());
        }
        return 0;
    }

    private static boolean isFaultSignal(int sig) {
        return sig == Signals.SIGSEGV || sig == Signals.SIGBUS || sig == Signals.SIGILL || sig == Signals.SIGFPE
                || sig == Signals.SIGTRAP;
    }

    private static long sigprocmask(SyscallContext ctx, long how, long set, long oldSet, long size, long e, long f) {
        if (size != SIGSET_SIZE) return -Errno.EINVAL;
        GuestMemory m = ctx.memory();
        ThreadSignalState state = ctx.signals();
        long old = state.blocked();
        if (set != 0) {
            long value = m.readLong(set);
            if (how < 0 || how > 2) return -Errno.EINVAL;
            if (oldSet != 0) m.writeLong(oldSet, old);
            state.changeMask((int) how, value);
            ctx.process().delivery().recheck(ctx);
            return 0;
        }
        if (oldSet != 0) m.writeLong(oldSet, old);
        return 0;
    }

    private static long sigaltstack(SyscallContext ctx, long ss, long oldSs, long c, long d, long e, long f) {
        GuestMemory m = ctx.memory();
        ThreadSignalState state = ctx.signals();
        long oldBase = state.altStackBase(), oldSize = state.altStackSize();
        int oldFlags = state.altStackFlags();
        var thread = ctx.thread();
        long sp = thread.engine().regRead(thread.arch().spRegister());
        boolean onStack = (oldFlags & ThreadSignalState.SS_DISABLE) == 0 && sp - oldBase < oldSize && sp >= oldBase;
        if (onStack) oldFlags |= ThreadSignalState.SS_ONSTACK;
        if (ss != 0) {
            if (onStack) return -Errno.EPERM; // cannot change the stack one is running on
            long base = m.readLong(ss);
            int flags = m.readInt(ss + 8);
            long size = m.readLong(ss + 16);
            state.setAltStack(base, flags, size, ctx.process().arch().abi().minSigStackSize());
        }
        if (oldSs != 0) {
            m.writeLong(oldSs, oldBase);
            m.writeInt(oldSs + 8, oldFlags);
            m.writeInt(oldSs + 12, 0);
            m.writeLong(oldSs + 16, oldSize);
        }
        return 0;
    }
}
