package dev.herd.runtime.process;

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
        t.define("nanosleep", "ptr ptr", (ctx, req, rem, c, d, e, f) ->
                HostKernel.call(HostSyscall.NANOSLEEP, ctx.memory().hostAddress(req, TIMESPEC, Prot.READ),
                        optional(ctx, rem, TIMESPEC, Prot.WRITE)));
        t.define("clock_nanosleep", "clockid hex ptr ptr", (ctx, clk, flags, req, rem, e, f) ->
                HostKernel.call(HostSyscall.CLOCK_NANOSLEEP, clk, flags,
                    ctx.memory().hostAddress(req, TIMESPEC, Prot.READ), optional(ctx, rem, TIMESPEC, Prot.WRITE)));
    }

    private static long optional(SyscallContext ctx, long g, long len, int prot) {
        return g == 0 ? 0 : ctx.memory().hostAddress(g, len, prot);
    }
}
