package dev.herd.runtime.process;

import dev.herd.host.Errno;
import dev.herd.host.HostKernel;
import dev.herd.host.HostSyscall;
import dev.herd.memory.Prot;
import dev.herd.runtime.syscall.SyscallContext;
import dev.herd.runtime.syscall.SyscallTable;

/**
 * Clocks and sleeps: passed to the host kernel with translated pointers (struct timespec/timeval
 * layouts are the host's on x86_64). Sleeps block the calling guest thread only.
 */
public final class TimeSyscalls {
    private TimeSyscalls() {}

    private static final long TIMESPEC = 16;

    public static void register(SyscallTable t) {
        t.define("clock_gettime", "clockid ptr", (ctx, clk, ts, c, d, e, f) ->
                HostKernel.call(HostSyscall.CLOCK_GETTIME, clk, ctx.memory().hostAddress(ts, TIMESPEC, Prot.WRITE)));
        t.define("clock_getres", "clockid ptr", (ctx, clk, ts, c, d, e, f) ->
                HostKernel.call(HostSyscall.CLOCK_GETRES, clk, optional(ctx, ts, TIMESPEC, Prot.WRITE)));
        t.define("gettimeofday", "ptr ptr", (ctx, tv, tz, c, d, e, f) ->
                HostKernel.call(HostSyscall.GETTIMEOFDAY, optional(ctx, tv, 16, Prot.WRITE), optional(ctx, tz, 8, Prot.WRITE)));
        t.define("time", "ptr", (ctx, tloc, b, c, d, e, f) -> {
            long now = HostKernel.call(HostSyscall.TIME, 0);
            if (tloc != 0) ctx.memory().writeLong(tloc, now);
            return now;
        });
        t.define("nanosleep", "ptr ptr", (ctx, req, rem, c, d, e, f) -> relativeSleep(ctx, CLOCK_MONOTONIC, req, rem));
        t.define("clock_nanosleep", "clockid hex ptr ptr", (ctx, clk, flags, req, rem, e, f) -> {
            if ((flags & ~TIMER_ABSTIME) != 0) return -Errno.EINVAL;
            if ((flags & TIMER_ABSTIME) == 0) return relativeSleep(ctx, clk, req, rem);
            long[] ts = readTimespec(ctx, req);
            if (ts == null) return -Errno.EINVAL;
            long r = sleepUntil(ctx, clk, ts[0], ts[1]);
            // An absolute sleep simply restarts with the same deadline (ERESTARTNOHAND in the kernel).
            return r == -Errno.EINTR ? -Errno.ERESTARTNOHAND : r;
        });
        // Setting clocks: the kernel's argument checks, then EPERM. Herd never changes the host's
        // clock for a guest (a sandboxed program has no CAP_SYS_TIME over its host), whoever runs it.
        t.define("clock_settime", "clockid ptr", (ctx, clk, ts, c, d, e, f) -> {
            if (clk >= 0 && clk != CLOCK_REALTIME) return -Errno.EINVAL; // only CLOCK_REALTIME is settable
            long[] v = readTimespec(ctx, ts);
            if (v == null) return -Errno.EINVAL;
            return -Errno.EPERM;
        });
        t.define("settimeofday", "ptr ptr", (ctx, tv, tz, c, d, e, f) -> {
            if (tv != 0) {
                long sec = ctx.memory().readLong(tv), usec = ctx.memory().readLong(tv + 8);
                if (sec < 0 || usec < 0 || usec >= 1_000_000) return -Errno.EINVAL;
            }
            if (tz != 0) {
                int minutesWest = ctx.memory().readInt(tz);
                if (minutesWest < -15 * 60 || minutesWest > 15 * 60) return -Errno.EINVAL;
            }
            return -Errno.EPERM;
        });
        // Reading the kernel's clock discipline (modes 0 or ADJ_OFFSET_SS_READ) is allowed to anyone.
        t.define("adjtimex", "ptr", (ctx, buf, b, c, d, e, f) -> {
            long h = ctx.memory().hostAddress(buf, TIMEX, Prot.READ | Prot.WRITE);
            if (!readOnlyTimex(ctx.memory().readInt(buf))) return -Errno.EPERM;
            return HostKernel.call(HostSyscall.ADJTIMEX, h);
        });
        t.define("clock_adjtime", "clockid ptr", (ctx, clk, buf, c, d, e, f) -> {
            long h = ctx.memory().hostAddress(buf, TIMEX, Prot.READ | Prot.WRITE);
            if (!readOnlyTimex(ctx.memory().readInt(buf))) return -Errno.EPERM;
            return HostKernel.call(HostSyscall.CLOCK_ADJTIME, clk, h);
        });
    }

    private static final int CLOCK_REALTIME = 0, TIMEX = 208, ADJ_OFFSET_SS_READ = 0xa001;

    private static boolean readOnlyTimex(int modes) {
        return modes == 0 || modes == ADJ_OFFSET_SS_READ;
    }

    private static final int CLOCK_MONOTONIC = 1, TIMER_ABSTIME = 1;
    private static final long NANOS = 1_000_000_000L;

    /**
     * nanosleep and relative clock_nanosleep, as the kernel does them: a deadline on the clock;
     * when a signal interrupts, the remaining time goes to {@code rem} and the call returns
     * ERESTART_RESTARTBLOCK, whose restart (restart_syscall, when no handler runs) sleeps until the
     * same deadline rather than the whole interval again.
     */
    private static long relativeSleep(SyscallContext ctx, long clock, long req, long rem) {
        long[] ts = readTimespec(ctx, req);
        if (ts == null) return -Errno.EINVAL;
        if (rem != 0) ctx.memory().hostAddress(rem, TIMESPEC, Prot.WRITE);
        long[] now = now(ctx, clock);
        if (now == null) return -Errno.EINVAL;
        long sec = now[0] + ts[0], nsec = now[1] + ts[1];
        if (nsec >= NANOS) { sec++; nsec -= NANOS; }
        return sleepOrRestart(ctx, clock, sec, nsec, rem);
    }

    private static long sleepOrRestart(SyscallContext ctx, long clock, long sec, long nsec, long rem) {
        long r = sleepUntil(ctx, clock, sec, nsec);
        if (r != -Errno.EINTR) return r;
        if (rem != 0) {
            long[] now = now(ctx, clock);
            long left = Math.max(0, (sec - now[0]) * NANOS + (nsec - now[1]));
            ctx.memory().writeLong(rem, left / NANOS);
            ctx.memory().writeLong(rem + 8, left % NANOS);
        }
        ctx.restartBlock((c, a, b, cc, d, e, f) -> sleepOrRestart(c, clock, sec, nsec, rem));
        return -Errno.ERESTART_RESTARTBLOCK;
    }

    private static long sleepUntil(SyscallContext ctx, long clock, long sec, long nsec) {
        var ts = ctx.scratch();
        ts.set(java.lang.foreign.ValueLayout.JAVA_LONG, 0, sec);
        ts.set(java.lang.foreign.ValueLayout.JAVA_LONG, 8, nsec);
        return HostKernel.call(HostSyscall.CLOCK_NANOSLEEP, clock, TIMER_ABSTIME, ts.address(), 0);
    }

    private static long[] now(SyscallContext ctx, long clock) {
        var ts = ctx.scratch();
        if (HostKernel.call(HostSyscall.CLOCK_GETTIME, clock, ts.address() + 16) < 0) return null;
        return new long[]{ts.get(java.lang.foreign.ValueLayout.JAVA_LONG, 16), ts.get(java.lang.foreign.ValueLayout.JAVA_LONG, 24)};
    }

    /** The host clock's time in nanoseconds (CLOCK_REALTIME since the epoch), or -errno. */
    public static long clockNanos(SyscallContext ctx, long clock) {
        long[] t = now(ctx, clock);
        return t == null ? -Errno.EINVAL : t[0] * NANOS + t[1];
    }

    /** A valid guest timespec as {sec, nsec}, or null (EINVAL); EFAULT propagates. */
    private static long[] readTimespec(SyscallContext ctx, long g) {
        long sec = ctx.memory().readLong(g), nsec = ctx.memory().readLong(g + 8);
        if (sec < 0 || nsec < 0 || nsec >= NANOS) return null;
        return new long[]{sec, nsec};
    }

    private static long optional(SyscallContext ctx, long g, long len, int prot) {
        return g == 0 ? 0 : ctx.memory().hostAddress(g, len, prot);
    }
}
