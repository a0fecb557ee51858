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
        t.define("clock_gettime", "clockid ptr", (ctx, clk, ts, c, d, e, f) -> {
            long r = HostKernel.call(HostSyscall.CLOCK_GETTIME, clk, ctx.memory().hostPointer(ts, TIMESPEC));
            if (r == 0 && GuestClock.isRealtime(clk)) shift(ctx, ts, NANOS);
            return r;
        });
        t.define("clock_getres", "clockid ptr", (ctx, clk, ts, c, d, e, f) ->
                HostKernel.call(HostSyscall.CLOCK_GETRES, clk, optional(ctx, ts, TIMESPEC, Prot.WRITE)));
        t.define("gettimeofday", "ptr ptr", (ctx, tv, tz, c, d, e, f) -> {
            long r = HostKernel.call(HostSyscall.GETTIMEOFDAY, optional(ctx, tv, 16, Prot.WRITE), optional(ctx, tz, 8, Prot.WRITE));
            if (r == 0 && tv != 0) shift(ctx, tv, 1_000_000L);
            return r;
        });
        t.define("time", "ptr", (ctx, tloc, b, c, d, e, f) -> {
            long now = Math.floorDiv(clockNanos(ctx, CLOCK_REALTIME) + ctx.process().clock().realtimeOffsetNanos(), NANOS);
            if (tloc != 0) ctx.memory().writeLong(tloc, now);
            return now;
        });
        t.define("nanosleep", "ptr ptr", (ctx, req, rem, c, d, e, f) -> relativeSleep(ctx, CLOCK_MONOTONIC, req, rem));
        t.define("clock_nanosleep", "clockid hex ptr ptr", (ctx, clk, flagsArg, req, rem, e, f) -> {
            // Linux: the clock (EINVAL, EOPNOTSUPP for clocks that cannot sleep), then the request;
            // flags other than TIMER_ABSTIME are ignored
            int c = (int) clk;
            if (c == 10 || c > 11) return -Errno.EINVAL;
            if (c >= 4 && c <= 6) return -Errno.EOPNOTSUPP;
            long flags = flagsArg & TIMER_ABSTIME;
            if ((flags & TIMER_ABSTIME) == 0) return relativeSleep(ctx, clk, req, rem);
            long[] ts = readTimespec(ctx, req);
            if (ts == null) return -Errno.EINVAL;
            // a deadline on the guest's wall clock, in host terms
            long offset = GuestClock.isRealtime(clk) ? ctx.process().clock().realtimeOffsetNanos() : 0;
            if (offset != 0) {
                long host = Math.max(0, ts[0] * NANOS + ts[1] - offset);
                ts = new long[]{host / NANOS, host % NANOS};
            }
            long r = sleepUntil(ctx, clk, ts[0], ts[1]);
            // An absolute sleep simply restarts with the same deadline (ERESTARTNOHAND in the kernel).
            return r == -Errno.EINTR ? -Errno.ERESTARTNOHAND : r;
        });
        // Setting clocks: the kernel's argument checks and privilege check, then the guest's own
        // wall clock moves (GuestClock); Herd never changes the host's clock for a guest.
        t.define("clock_settime", "clockid ptr", (ctx, clk, ts, c, d, e, f) -> {
            if (clk >= 0 && clk != CLOCK_REALTIME) return -Errno.EINVAL; // only CLOCK_REALTIME is settable
            long[] v = readTimespec(ctx, ts);
            if (v == null) return -Errno.EINVAL;
            if (clk < 0) return -Errno.EPERM; // CPU-time clocks cannot be set
            return setRealtime(ctx, v[0] * NANOS + v[1]);
        });
        t.define("settimeofday", "ptr ptr", (ctx, tv, tz, c, d, e, f) -> {
            long sec = 0, usec = 0;
            if (tv != 0) {
                sec = ctx.memory().readLong(tv);
                usec = ctx.memory().readLong(tv + 8);
                if (sec < 0 || usec < 0 || usec >= 1_000_000) return -Errno.EINVAL;
            }
            if (tz != 0) {
                int minutesWest = ctx.memory().readInt(tz);
                if (minutesWest < -15 * 60 || minutesWest > 15 * 60) return -Errno.EINVAL;
            }
            if (HostKernel.call(HostSyscall.GETEUID) != 0) return -Errno.EPERM;
            // the timezone argument only sets the kernel's legacy sys_tz, which Herd does not keep
            return tv == 0 ? 0 : setRealtime(ctx, sec * NANOS + usec * 1000);
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

    /**
     * Sets the guest's wall clock (a privileged operation, as on Linux: EPERM for another euid
     * than root) by moving this run's offset from the host clock; the host clock is never set.
     */
    private static long setRealtime(SyscallContext ctx, long guestNanos) {
        if (HostKernel.call(HostSyscall.GETEUID) != 0) return -Errno.EPERM;
        long host = clockNanos(ctx, CLOCK_REALTIME);
        if (host < 0) return host;
        ctx.process().clock().realtimeOffsetNanos(guestNanos - host);
        return 0;
    }

    /** Adds the guest clock's offset to a timespec (unit NANOS) or timeval (unit 1e6) the host wrote. */
    private static void shift(SyscallContext ctx, long g, long perSecond) {
        long offset = ctx.process().clock().realtimeOffsetNanos();
        if (offset == 0) return;
        long nanosPerUnit = NANOS / perSecond;
        long t = ctx.memory().readLong(g) * NANOS + ctx.memory().readLong(g + 8) * nanosPerUnit + offset;
        ctx.memory().writeLong(g, Math.floorDiv(t, NANOS));
        ctx.memory().writeLong(g + 8, Math.floorMod(t, NANOS) / nanosPerUnit);
    }

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
        // rem is written only when a signal interrupts the sleep (EFAULT then), as Linux does
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
        return g == 0 ? 0 : ctx.memory().hostPointer(g, len);
    }
}
