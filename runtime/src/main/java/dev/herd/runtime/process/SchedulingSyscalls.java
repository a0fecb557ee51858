package dev.herd.runtime.process;

import dev.herd.host.Errno;
import dev.herd.host.HostKernel;
import dev.herd.host.HostSyscall;
import dev.herd.memory.GuestMemory;
import dev.herd.memory.Prot;
import dev.herd.runtime.syscall.SyscallTable;

/**
 * Scheduling policy, parameters and I/O priority. They name threads (0 = the caller), and guest
 * TIDs are host TIDs (the guest pid is its main thread's TID), so they are the host's calls on the
 * same ids with the guest pointers translated.
 */
public final class SchedulingSyscalls {
    private SchedulingSyscalls() {}

    private static final int SCHED_PARAM = 4, TIMESPEC = 16, SCHED_ATTR_SIZE_VER0 = 48, PAGE = 4096;
    private static final long IOPRIO_WHO_PGRP = 2;

    public static void register(SyscallTable t) {
        t.passThrough("sched_get_priority_max", "int", (ctx, policy, b, c, d, e, f) ->
                HostKernel.call(HostSyscall.SCHED_GET_PRIORITY_MAX, policy));
        t.passThrough("sched_get_priority_min", "int", (ctx, policy, b, c, d, e, f) ->
                HostKernel.call(HostSyscall.SCHED_GET_PRIORITY_MIN, policy));
        t.passThrough("sched_getscheduler", "int", (ctx, pid, b, c, d, e, f) ->
                HostKernel.call(HostSyscall.SCHED_GETSCHEDULER, pid));
        t.passThrough("sched_setscheduler", "int int ptr", (ctx, pid, policy, param, d, e, f) ->
                HostKernel.call(HostSyscall.SCHED_SETSCHEDULER, pid, policy, param(ctx.memory(), param, Prot.READ)));
        t.passThrough("sched_getparam", "int ptr", (ctx, pid, param, c, d, e, f) ->
                HostKernel.call(HostSyscall.SCHED_GETPARAM, pid, param(ctx.memory(), param, Prot.WRITE)));
        t.passThrough("sched_setparam", "int ptr", (ctx, pid, param, c, d, e, f) ->
                HostKernel.call(HostSyscall.SCHED_SETPARAM, pid, param(ctx.memory(), param, Prot.READ)));
        t.passThrough("sched_rr_get_interval", "int ptr", (ctx, pid, ts, c, d, e, f) ->
                HostKernel.call(HostSyscall.SCHED_RR_GET_INTERVAL, pid, ctx.memory().hostPointer(ts, TIMESPEC)));
        t.passThrough("sched_setattr", "int ptr hex", (ctx, pid, attr, flags, d, e, f) -> {
            if (attr == 0 || (int) pid < 0 || flags != 0) return -Errno.EINVAL; // before the copy, as Linux
            GuestMemory m = ctx.memory();
            int size = m.readInt(attr);
            long len = size == 0 ? SCHED_ATTR_SIZE_VER0 : Math.min(Math.max(size, 4), PAGE);
            return HostKernel.call(HostSyscall.SCHED_SETATTR, pid, m.hostPointer(attr, len), flags);
        });
        t.passThrough("sched_getattr", "int ptr size hex", (ctx, pid, attr, size, flags, e, f) -> {
            if (size < SCHED_ATTR_SIZE_VER0 || size > PAGE) return -Errno.EINVAL;
            return HostKernel.call(HostSyscall.SCHED_GETATTR, pid, ctx.memory().hostPointer(attr, size), size, flags);
        });
        // A process group's I/O priority: the guest's own pid as a group id is the JVM's group.
        t.passThrough("ioprio_get", "int int", (ctx, which, who, c, d, e, f) ->
                HostKernel.call(HostSyscall.IOPRIO_GET, which, which == IOPRIO_WHO_PGRP && who == ctx.process().pid() ? 0 : who));
        t.passThrough("ioprio_set", "int int int", (ctx, which, who, prio, d, e, f) ->
                HostKernel.call(HostSyscall.IOPRIO_SET, which,
                        which == IOPRIO_WHO_PGRP && who == ctx.process().pid() ? 0 : who, prio));
    }

    /** struct sched_param; NULL stays NULL (the kernel's EINVAL). */
    private static long param(GuestMemory m, long g, int prot) {
        return g == 0 ? 0 : m.hostPointer(g, SCHED_PARAM);
    }
}
