package dev.herd.runtime.syscall;

import dev.herd.host.Errno;
import dev.herd.host.ErrnoException;
import dev.herd.host.HostKernel;
import dev.herd.host.HostSyscall;
import dev.herd.signals.SigInfo;
import dev.herd.signals.Signals;

import java.io.PrintStream;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongFunction;

/**
 * Maps an architecture's syscall numbers to semantic definitions and runs them: unknown numbers
 * return {@code -ENOSYS} with one warning per syscall, errors become {@code -errno}, and
 * {@code --strace} lines are written around each call.
 */
public final class SyscallDispatcher {
    private final SyscallTable.Definition[] byNumber;
    private final String[] names;
    private final PrintStream warnings;
    private final Strace strace;
    /** Syscall numbers already warned about (ENOSYS); touched only on the unimplemented path. */
    private final Set<Long> warned = ConcurrentHashMap.newKeySet();

    /**
     * @param numberCount one past the largest syscall number of the architecture
     * @param nameOf      the architecture's number → name mapping (null for holes)
     * @param strace      null unless tracing
     */
    public SyscallDispatcher(SyscallTable table, int numberCount, LongFunction<String> nameOf,
                             PrintStream warnings, Strace strace) {
        this.byNumber = new SyscallTable.Definition[numberCount];
        this.names = new String[numberCount];
        for (int nr = 0; nr < numberCount; nr++) {
            names[nr] = nameOf.apply(nr);
            if (names[nr] != null) byNumber[nr] = table.lookup(names[nr]);
            if (names[nr] != null && table.isForwardable(names[nr])) canForward.set(nr);
        }
        this.warnings = warnings;
        this.strace = strace;
        this.interceptors = new SyscallInterceptors(numberCount);
        this.forwarded = new boolean[numberCount];
        this.rawReturnsFd = new boolean[numberCount];
    }

    /** Name of syscall {@code nr} for messages, e.g. {@code "openat"} or {@code "syscall_999"}. */
    public String name(long nr) {
        return nr >= 0 && nr < names.length && names[(int) nr] != null ? names[(int) nr] : "syscall_" + nr;
    }

    private final SyscallInterceptors interceptors;

    /** The architecture's number of the call named {@code name}, or -1 when it has none. */
    public int number(String name) {
        for (int nr = 0; nr < names.length; nr++) {
            if (name.equals(names[nr])) return nr;
        }
        return -1;
    }

    private final java.util.BitSet canForward = new java.util.BitSet();
    private final boolean[] forwarded;
    /** For a forwarded call Herd does not implement: its result is an fd of the proxy. */
    private final boolean[] rawReturnsFd;
    private volatile dev.herd.host.HostOps forwardedTo;

    /**
     * Runs the host side of syscall {@code name} in the kernel proxy {@code proxy} from now on
     * (IllegalArgumentException for a call Herd implements whose handler is not forwardable, see
     * SyscallTable#forwardable):
     * Herd's own handler still checks and translates the arguments (guest pointers, fds, paths,
     * layouts), and its host calls go to the proxy, with the fds they use. Returns false when this
     * architecture has no such call.
     */
    public boolean forward(String name, boolean returnsFd, dev.herd.host.HostOps proxy) {
        int nr = number(name);
        if (nr < 0) return false;
        if (implemented(name) && !canForward.get(nr)) {
            throw new IllegalArgumentException("Herd's " + name + " cannot run in a kernel proxy yet (its host calls "
                    + "do not all go through the proxy seam)");
        }
        forwarded[nr] = true;
        rawReturnsFd[nr] = returnsFd;
        forwardedTo = proxy; // the volatile write publishes the array entry
        return true;
    }

    /** True when syscall {@code name} is forwarded. */
    public boolean isForwarded(String name) {
        int nr = number(name);
        return nr >= 0 && forwardedTo != null && forwarded[nr];
    }

    /** True when Herd defines syscall {@code name} (not as ENOSYS). */
    public boolean implemented(String name) {
        int nr = number(name);
        return nr >= 0 && byNumber[nr] != null && byNumber[nr].kind() != SyscallTable.Kind.ENOSYS;
    }

    /** The interceptor registry of this dispatcher (the embedding API registers through it). */
    public SyscallInterceptors interceptors() { return interceptors; }

    /** Runs syscall {@code nr} with {@code args[1..6]} and returns the raw result. */
    public long dispatch(SyscallContext ctx, long nr, long[] args) {
        if (dev.herd.host.StartupTrace.enabled()) firstSyscall();
        // Linux takes the number from the low 32 bits of the register (x86_64 and arm64 alike):
        // 0x1_0000_0027 is getpid there.
        nr = (int) nr;
        if (interceptors.any()) return intercepted(ctx, nr, args);
        return run(ctx, nr, args);
    }

    private boolean firstSyscallSeen;

    private void firstSyscall() {
        if (firstSyscallSeen) return;
        firstSyscallSeen = true;
        dev.herd.host.StartupTrace.mark("first guest syscall (guest thread started, engine ran)");
    }

    private long intercepted(SyscallContext ctx, long nr, long[] args) {
        SyscallInterceptors.Interceptor[] enter = interceptors.get(nr, SyscallInterceptors.Phase.ENTER);
        SyscallInterceptors.Interceptor[] call = interceptors.get(nr, SyscallInterceptors.Phase.CALL);
        SyscallInterceptors.Interceptor[] exit = interceptors.get(nr, SyscallInterceptors.Phase.EXIT);
        if (enter == null && call == null && exit == null) return run(ctx, nr, args);
        InterceptedCall c = new InterceptedCall(ctx, nr, name(nr), args);
        if (enter != null) for (var i : enter) i.intercept(c);
        if (call != null) {
            for (var i : call) {
                i.intercept(c);
                if (c.resultSet()) break;
            }
        }
        if (!c.resultSet()) c.resultFromCall(run(ctx, nr, args));
        if (exit != null) for (var i : exit) i.intercept(c);
        return c.result();
    }

    private long run(SyscallContext ctx, long nr, long[] args) {
        SyscallTable.Definition def = nr >= 0 && nr < byNumber.length ? byNumber[(int) nr] : null;
        if ((def == null || def.kind() == SyscallTable.Kind.ENOSYS) && nr >= 0 && nr < forwarded.length
                && forwarded[(int) nr] && forwardedTo != null) {
            return forwardRaw(ctx, nr, args);
        }
        if (def == null) {
            warnOnce(nr);
            if (strace != null) strace.unknown(ctx, name(nr), args);
            return -Errno.ENOSYS;
        }
        if (def.kind() == SyscallTable.Kind.ENOSYS && !def.reason().startsWith("(quiet) ")) warnOnce(nr, def.reason());
        if (strace != null) strace.enter(ctx, def, args);
        long result;
        dev.herd.host.HostOps proxy = forwardedTo;
        boolean forward = proxy != null && forwarded[(int) nr];
        if (forward) ctx.host(proxy);
        try {
            result = def.handler().handle(ctx, args[1], args[2], args[3], args[4], args[5], args[6]);
        } catch (ErrnoException e) {
            result = e.asSyscallResult();
        } finally {
            if (forward) ctx.host(dev.herd.host.HostOps.LOCAL);
        }
        if (result == -Errno.EINTR) result = restartCode(def.name(), result);
        if (result == -Errno.EPIPE && raisesSigpipe(def.name(), args)) sigpipe(ctx);
        if (result <= -Errno.ERESTARTSYS && result >= -Errno.ERESTART_RESTARTBLOCK) {
            // Interrupted (a guest signal, or exit_group): the thread's safe point decides between
            // EINTR and a restart, as the kernel's signal-delivery code does.
            ctx.interruptedSyscall((int) -result, nr, args[1]);
            ctx.thread().requestSafePoint();
        }
        if (strace != null) strace.exit(ctx, def, args, result);
        return result;
    }

    /**
     * A forwarded call Herd has no handler for: the proxy runs it with the guest's six argument
     * words as they are (numbers; a guest pointer would mean nothing there), and a result the
     * user said is an fd becomes a guest fd that lives in the proxy.
     */
    private long forwardRaw(SyscallContext ctx, long nr, long[] args) {
        dev.herd.host.HostOps proxy = forwardedTo;
        if (strace != null) strace.unknown(ctx, name(nr), args);
        long result = proxy.call(nr, args[1], args[2], args[3], args[4], args[5], args[6]);
        if (result >= 0 && rawReturnsFd[(int) nr]) {
            try {
                result = ctx.process().fds().install(proxy.handle((int) result), false);
            } catch (ErrnoException e) {
                result = e.asSyscallResult();
            }
        }
        return result;
    }

    /**
     * What the kernel returns internally when a blocking call is interrupted by a signal: the
     * restart class decides, once the signal's disposition is known, whether the guest sees EINTR
     * or the call restarts (signal(7), "Interruption of system calls").
     */
    private static long restartCode(String name, long eintr) {
        return switch (name) {
            case "read", "readv", "pread64", "preadv", "preadv2", "write", "writev", "pwrite64", "pwritev",
                    "pwritev2", "wait4", "waitid", "futex", "flock", "fcntl", "open", "openat", "creat",
                    "accept", "accept4", "connect", "recvfrom", "recvmsg", "sendto", "sendmsg", "ioctl",
                    "splice", "sendfile", "copy_file_range", "tee", "vmsplice" -> -Errno.ERESTARTSYS;
            case "pause", "rt_sigsuspend", "select", "pselect6", "poll", "ppoll", "epoll_wait", "epoll_pwait",
                    "epoll_pwait2" -> -Errno.ERESTARTNOHAND;
            default -> eintr;
        };
    }

    private static final long MSG_NOSIGNAL = 0x4000;

    /**
     * Whether an EPIPE from this call comes with SIGPIPE to the caller, as the kernel's pipe and
     * socket write paths send it (send/sendto/sendmsg only without MSG_NOSIGNAL). The host's
     * SIGPIPE went to the JVM, which ignores it, so Herd raises the guest's.
     */
    private static boolean raisesSigpipe(String name, long[] args) {
        return switch (name) {
            case "write", "writev", "pwrite64", "pwritev", "pwritev2", "sendfile", "splice", "tee", "vmsplice" -> true;
            case "sendto" -> (args[4] & MSG_NOSIGNAL) == 0;
            case "sendmsg" -> (args[3] & MSG_NOSIGNAL) == 0;
            default -> false;
        };
    }

    /** send_sig(SIGPIPE, current, 0): thread-directed, SI_USER from the process itself. */
    private static void sigpipe(SyscallContext ctx) {
        int uid = (int) HostKernel.call(HostSyscall.GETUID);
        ctx.process().delivery().send(ctx.thread(), SigInfo.user(Signals.SIGPIPE, SigInfo.SI_USER, ctx.process().pid(), uid));
    }

    private void warnOnce(long nr) {
        warnOnce(nr, null);
    }

    private void warnOnce(long nr, String reason) {
        if (!warned.add(nr)) return;
        warnings.println("herd: warning: unimplemented syscall " + name(nr) + " (" + nr + "), returning -ENOSYS"
                + (reason == null ? "" : ": " + reason));
        warnings.flush();
    }
}
