package dev.herd.runtime.process;

import dev.herd.host.Errno;
import dev.herd.host.HostKernel;
import dev.herd.host.HostSyscall;
import dev.herd.memory.GuestMemory;
import dev.herd.memory.Prot;
import dev.herd.runtime.fs.FdTable;
import dev.herd.runtime.syscall.SyscallContext;
import dev.herd.runtime.syscall.SyscallTable;

/**
 * Process and thread identity, lifetime and limits: exit, exit_group, ids, uname, TLS and
 * robust-list registration, rlimits, scheduling, randomness.
 */
public final class ProcessSyscalls {
    private ProcessSyscalls() {}

    private static final int PR_SET_NAME = 15, PR_GET_NAME = 16, PR_GET_DUMPABLE = 3;

    public static void register(SyscallTable t) {
        t.define("exit", "int", (ctx, status, b, c, d, e, f) -> {
            // A vfork child ends; its parent, whose thread it borrowed, goes on.
            if (ctx.vfork() != null) return ctx.vfork().finish(ctx, 0, (int) status);
            ctx.exitStatus((int) status);
            ctx.thread().requestExit();
            return 0;
        });
        t.define("exit_group", "int", (ctx, status, b, c, d, e, f) -> {
            if (ctx.vfork() != null) return ctx.vfork().finish(ctx, 0, (int) status);
            dev.herd.host.StartupTrace.mark("guest called exit_group (the guest's own run since the first syscall)");
            ctx.exitStatus((int) status);
            ctx.process().exitGroup(ProcessExit.exited((int) status));
            ctx.thread().requestExit();
            return 0;
        });
        t.define("getpid", "", (ctx, a, b, c, d, e, f) -> ctx.process().pid());
        t.define("gettid", "", (ctx, a, b, c, d, e, f) -> ctx.tid());
        // The guest's parent is whoever started Herd.
        // The guest's parent is the Herd process. Forwarded, the proxy's kernel answers with its own
        // parent, which is the same process.
        // A fork's or vfork's child: the forking process (see GuestProcess.knownParentPid).
        t.define("getppid", "", (ctx, a, b, c, d, e, f) -> {
            int known = ctx.process().knownParentPid();
            if (known != 0) return known;
            return ctx.forwarded() ? ctx.host().call(HostSyscall.GETPPID) : HostKernel.call(HostSyscall.GETPID);
        });
        t.define("getuid", "", (ctx, a, b, c, d, e, f) -> HostKernel.call(HostSyscall.GETUID));
        t.define("geteuid", "", (ctx, a, b, c, d, e, f) -> HostKernel.call(HostSyscall.GETEUID));
        t.define("getgid", "", (ctx, a, b, c, d, e, f) -> HostKernel.call(HostSyscall.GETGID));
        t.define("getegid", "", (ctx, a, b, c, d, e, f) -> HostKernel.call(HostSyscall.GETEGID));
        t.define("getresuid", "ptr ptr ptr", (ctx, r, e, s, d, x, f) -> passIds(ctx, HostSyscall.GETRESUID, r, e, s));
        t.define("getresgid", "ptr ptr ptr", (ctx, r, e, s, d, x, f) -> passIds(ctx, HostSyscall.GETRESGID, r, e, s));
        t.define("getgroups", "int ptr", (ctx, size, list, c, d, e, f) -> HostKernel.call(HostSyscall.GETGROUPS, size,
                size <= 0 ? 0 : ctx.memory().hostPointer(list, size * 4L)));
        // Process groups and sessions are the host's (the guest shares the JVM's); where the JVM's
        // own pid appears as a group or session id, the guest sees its own pid instead.
        // A vfork child's own setsid/setpgid are recorded, not made, until its execve (see setsid):
        // until then it is told what they made, as its later image will see.
        t.define("getpgrp", "", (ctx, a, b, c, d, e, f) -> {
            long asked = vforkGroup(ctx, 0);
            return asked != 0 ? asked : guestPgid(ctx, HostKernel.call(HostSyscall.GETPGRP));
        });
        t.define("getpgid", "int", (ctx, pid, b, c, d, e, f) -> {
            long asked = vforkGroup(ctx, (int) pid);
            return asked != 0 ? asked : groupOrSession(ctx, (int) pid, false);
        });
        t.define("getsid", "int", (ctx, pid, b, c, d, e, f) -> {
            VforkChild v = vforkSelf(ctx, (int) pid);
            if (v != null && v.newSession()) return ctx.process().pid();
            return groupOrSession(ctx, (int) pid, true);
        });
        t.define("setpgid", "int int", (ctx, pid, pgid, c, d, e, f) -> {
            int self = ctx.process().pid();
            if (vforkSelf(ctx, (int) pid) != null) {
                // A vfork child's own group (see setsid): made for the image its execve starts.
                if ((int) pgid < 0) return -Errno.EINVAL;
                if (ctx.vfork().newSession()) return -Errno.EPERM; // a session leader keeps its group
                ctx.vfork().requestGroup((int) pgid == 0 || (int) pgid == self ? 0 : (int) hostPgid(ctx, pgid));
                return 0;
            }
            return HostKernel.call(HostSyscall.SETPGID, hostPid(ctx, pid), hostPgid(ctx, pgid));
        });
        t.define("setsid", "", (ctx, a, b, c, d, e, f) -> {
            // A vfork child runs on its parent's host thread: the host call would move the whole
            // JVM. Its new session is made for the image its execve starts (VforkChild).
            if (ctx.vfork() != null) {
                if (ctx.vfork().newSession()) return -Errno.EPERM; // already a session (and group) leader
                ctx.vfork().requestSession();
                return ctx.process().pid();
            }
            return guestPgid(ctx, HostKernel.call(HostSyscall.SETSID));
        });
        // Priorities: PRIO_PROCESS names a thread in Linux, and guest TIDs are host TIDs.
        t.define("getpriority", "int int", (ctx, which, who, c, d, e, f) ->
                HostKernel.call(HostSyscall.GETPRIORITY, which, which == PRIO_PGRP ? hostPgid(ctx, who) : who));
        t.define("setpriority", "int int int", (ctx, which, who, prio, d, e, f) ->
                HostKernel.call(HostSyscall.SETPRIORITY, which, which == PRIO_PGRP ? hostPgid(ctx, who) : who, prio));
        t.define("uname", "ptr", ProcessSyscalls::uname);
        t.define("sethostname", "str size", (ctx, name, len, c, d, e, f) -> setUtsName(ctx, name, len, true));
        t.define("setdomainname", "str size", (ctx, name, len, c, d, e, f) -> setUtsName(ctx, name, len, false));
        // The execution domain is recorded and reported; Herd applies none of its flags
        // (ADDR_NO_RANDOMIZE, READ_IMPLIES_EXEC...) to the address space.
        t.define("personality", "hex", (ctx, persona, b, c, d, e, f) -> {
            int old = ctx.process().personality();
            if ((int) persona != -1) ctx.process().personality((int) persona);
            return old;
        });
        t.define("set_tid_address", "ptr", (ctx, addr, b, c, d, e, f) -> {
            ctx.clearChildTid(addr);
            return ctx.tid();
        });
        t.define("set_robust_list", "ptr size", (ctx, head, len, c, d, e, f) -> {
            if (len != 24) return -Errno.EINVAL; // sizeof(struct robust_list_head) on 64-bit
            ctx.robustList(head, len);
            return 0;
        });
        t.define("get_robust_list", "int ptr ptr", (ctx, pid, headPtr, lenPtr, d, e, f) -> {
            if (pid != 0 && pid != ctx.tid()) return -Errno.ESRCH;
            ctx.memory().writeLong(headPtr, ctx.robustListHead());
            ctx.memory().writeLong(lenPtr, ctx.robustListLength());
            return 0;
        });
        // Restartable sequences need the kernel to rewrite the guest's PC on preemption; Herd does
        // not offer them, and glibc falls back cleanly on ENOSYS (no warning: this is deliberate).
        t.unsupportedQuietly("rseq", "ptr uint hex hex",
                "restartable sequences need the kernel to move the guest's PC on preemption; glibc falls back");
        t.define("prlimit64", "int int ptr ptr", ProcessSyscalls::prlimit);
        t.define("getrlimit", "int ptr", (ctx, res, old, c, d, e, f) -> getrlimit(ctx, res, old));
        t.define("setrlimit", "int ptr", (ctx, res, nw, c, d, e, f) -> setrlimit(ctx, res, nw));
        t.define("getrandom", "ptr size hex", (ctx, buf, len, flags, d, e, f) -> {
            // the flags first (GRND_NONBLOCK|GRND_RANDOM|GRND_INSECURE, not RANDOM with INSECURE),
            // then a length clamped to INT_MAX, then the buffer, filled up to a fault
            int fl = (int) flags; // an unsigned int: the upper half of the register is ignored
            if ((fl & ~7) != 0 || (fl & 6) == 6) return -Errno.EINVAL;
            long n = Long.compareUnsigned(len, Integer.MAX_VALUE) > 0 ? Integer.MAX_VALUE : len;
            return HostKernel.call(HostSyscall.GETRANDOM, ctx.memory().hostPointer(buf, Math.min(n, 1L << 20)), n, flags);
        });
        t.define("sched_yield", "", (ctx, a, b, c, d, e, f) -> HostKernel.call(HostSyscall.SCHED_YIELD));
        t.define("sched_getaffinity", "int size ptr", (ctx, pid, len, mask, d, e, f) ->
                HostKernel.call(HostSyscall.SCHED_GETAFFINITY, hostTid(ctx, pid), len,
                        ctx.memory().hostPointer(mask, Math.min(len & 0xffffffffL, AFFINITY_BYTES))));
        t.define("sched_setaffinity", "int size ptr", (ctx, pid, len, mask, d, e, f) ->
                HostKernel.call(HostSyscall.SCHED_SETAFFINITY, hostTid(ctx, pid), len,
                        ctx.memory().hostPointer(mask, Math.min(len & 0xffffffffL, AFFINITY_BYTES))));
        t.define("getcpu", "ptr ptr ptr", (ctx, cpu, node, cache, d, e, f) -> HostKernel.call(HostSyscall.GETCPU,
                cpu == 0 ? 0 : ctx.memory().hostPointer(cpu, 4),
                node == 0 ? 0 : ctx.memory().hostPointer(node, 4), 0));
        t.define("sysinfo", "ptr", (ctx, info, b, c, d, e, f) ->
                HostKernel.call(HostSyscall.SYSINFO, ctx.memory().hostPointer(info, 112)));
        t.define("times", "ptr", (ctx, buf, b, c, d, e, f) ->
                HostKernel.call(HostSyscall.TIMES, buf == 0 ? 0 : ctx.memory().hostPointer(buf, 32)));
        t.define("getrusage", "int ptr", (ctx, who, usage, c, d, e, f) -> {
            // RUSAGE_SELF counts the whole JVM; RUSAGE_THREAD is exact for the calling guest thread.
            int w = (int) who; // RUSAGE_SELF, RUSAGE_CHILDREN, RUSAGE_THREAD only
            if (w != 0 && w != 1 && w != -1) return -Errno.EINVAL;
            return HostKernel.call(HostSyscall.GETRUSAGE, w,
                    ctx.memory().hostPointer(usage, 144));
        });
        t.define("prctl", "int hex hex hex hex", ProcessSyscalls::prctl);
        // Children are vfork children (posix_spawn, system, popen): GuestChildren. The checks are
        // Linux's: options (EINVAL), which/pid (EINVAL, ESRCH), then ECHILD; waitid stores a
        // zeroed siginfo head when nothing is reaped (EFAULT for a bad infop).
        t.define("wait4", "int ptr hex ptr", (ctx, pid, status, options, ru, e, f) -> {
            options = (int) options; // an int in the kernel: the register's upper half is not the guest's (aarch64 sign-extends __WCLONE)
            if ((options & ~(1L | 2 | 8 | 0x20000000L | 0x40000000L | 0xffffffff80000000L)) != 0) return -Errno.EINVAL;
            if ((int) pid == Integer.MIN_VALUE) return -Errno.ESRCH;
            // WNOHANG, WUNTRACED (= WSTOPPED), WCONTINUED, __WCLONE, __WALL; exits always (WEXITED)
            GuestChildren.Reaped r = waitChild(ctx, (int) pid,
                    (int) (options & (1 | GuestChildren.WSTOPPED | GuestChildren.WCONTINUED | 0x40000000L | 0x80000000L))
                            | GuestChildren.WEXITED);
            if (r.pid() != 0 && status != 0) ctx.memory().writeInt(status, r.wstatus());
            if (r.pid() != 0 && ru != 0) ctx.memory().write(ru, new byte[144]);
            return r.pid();
        });
        t.define("waitid", "int int ptr hex ptr", (ctx, which, id, infop, options, ru, f) -> {
            options = (int) options; // an int in the kernel (see wait4)
            long valid = 1L | 2 | 4 | 8 | 0x01000000L | 0x20000000L | 0x40000000L | 0xffffffff80000000L;
            long r = 0;
            if ((options & ~valid) != 0 || (options & (2 | 4 | 8)) == 0) r = -Errno.EINVAL;
            else if ((int) which < 0 || (int) which > 3) r = -Errno.EINVAL; // P_ALL, P_PID, P_PGID, P_PIDFD
            else if ((int) which == 3) r = -Errno.ECHILD; // a pidfd of a guest child: not yet
            GuestChildren.Reaped got = null;
            if (r == 0) {
                try {
                    int o = (int) (options & (1 | 2 | 4 | 8 | 0x01000000 | 0x40000000L | 0x80000000L)); // WNOHANG WSTOPPED WEXITED WCONTINUED WNOWAIT __WALL __WCLONE
                    got = (int) which == 2 ? waitChild(ctx, (int) id == 0 ? 0 : -(int) id, o) // P_PGID
                            : ctx.process().children().waitFor((int) which == 1 ? (int) id : -1, o);
                } catch (dev.herd.host.ErrnoException e) {
                    if (e.errno() != Errno.ECHILD) throw e;
                    r = -Errno.ECHILD;
                }
            }
            // The kernel zeroes the siginfo head whatever the result (a bad infop is EFAULT then).
            byte[] info = new byte[got != null && got.pid() != 0 ? 128 : 28];
            if (got != null && got.pid() != 0) {
                java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(info).order(java.nio.ByteOrder.LITTLE_ENDIAN);
                b.putInt(0, dev.herd.signals.Signals.SIGCHLD);
                b.putInt(8, got.code());
                b.putInt(16, got.pid());
                b.putInt(20, (int) HostKernel.call(HostSyscall.GETUID));
                b.putInt(24, got.status());
            }
            if (infop != 0) ctx.memory().write(infop, info);
            return r;
        });
        t.forwardable("getppid");
    }

    /** The most a cpumask can be (8192 CPUs): the kernel copies at most this much. */
    private static final long AFFINITY_BYTES = 1024;

    private static final int UTS_FIELD = 65, UTS_NODENAME = 1, UTS_MACHINE = 4, UTS_DOMAINNAME = 5;

    /**
     * The host's uname with the names this process set for itself, and the guest's architecture as
     * the machine (an aarch64 guest is told aarch64, as qemu-user tells it).
     */
    private static long uname(SyscallContext ctx, long buf, long b, long c, long d, long e, long f) {
        long r = HostKernel.call(HostSyscall.UNAME, ctx.memory().hostPointer(buf, 6 * UTS_FIELD));
        if (r < 0) return r;
        UtsNames uts = ctx.process().uts();
        putUtsField(ctx, buf + UTS_NODENAME * UTS_FIELD, uts.hostname());
        putUtsField(ctx, buf + UTS_DOMAINNAME * UTS_FIELD, uts.domainname());
        putUtsField(ctx, buf + UTS_MACHINE * UTS_FIELD, ctx.process().arch().name().getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        return r;
    }

    private static void putUtsField(SyscallContext ctx, long at, byte[] name) {
        if (name == null) return;
        ctx.memory().write(at, java.util.Arrays.copyOf(name, UTS_FIELD));
    }

    /**
     * sethostname/setdomainname as the kernel checks them (EINVAL for a length over 64, EPERM
     * without privilege — here: an effective uid other than root, as CAP_SYS_ADMIN goes with it —
     * EFAULT), changing only this process's view ({@link UtsNames}).
     */
    private static long setUtsName(SyscallContext ctx, long name, long len, boolean host) {
        if (len < 0 || len > UtsNames.MAX_LEN) return -Errno.EINVAL;
        if (HostKernel.call(HostSyscall.GETEUID) != 0) return -Errno.EPERM;
        byte[] bytes = ctx.memory().read(name, (int) len);
        if (host) ctx.process().uts().hostname(bytes);
        else ctx.process().uts().domainname(bytes);
        return 0;
    }

    private static long passIds(SyscallContext ctx, int nr, long r, long e, long s) {
        GuestMemory m = ctx.memory();
        return HostKernel.call(nr, m.hostPointer(r, 4), m.hostPointer(e, 4),
                m.hostPointer(s, 4));
    }

    /** The guest's own pid means the JVM's process for process-level queries; 0 stays 0. */
    private static final long PRIO_PGRP = 1;

    /**
     * wait4's pid: > 0 that child, -1 any, 0 a child in the caller's process group, < -1 a child
     * in group -pid (a guest group id, translated).
     */
    private static GuestChildren.Reaped waitChild(SyscallContext ctx, int pid, int options) {
        if (pid > 0 || pid == -1) return ctx.process().children().waitFor(pid, options);
        long own = HostKernel.call(HostSyscall.GETPGRP);
        long group = pid == 0 ? own : hostPgid(ctx, -(long) pid);
        return ctx.process().children().waitForGroup(group, own, options);
    }

    /**
     * getpgid ({@code session} false) or getsid of {@code pid}, as the guest's id: a child's is
     * asked of its table (an exited one answers with where it ended, a reaped one ESRCH).
     */
    private static long groupOrSession(SyscallContext ctx, int pid, boolean session) {
        long child = ctx.process().children().groupOrSession(pid, session);
        if (child == GuestChildren.NOT_A_CHILD) {
            child = HostKernel.call(session ? HostSyscall.GETSID : HostSyscall.GETPGID, hostPid(ctx, pid));
        }
        return guestPgid(ctx, child);
    }

    /** A group or session id the guest gave, as the host's (see GuestProcess.hostIdOf). */
    private static long hostPgid(SyscallContext ctx, long id) {
        return id <= 0 ? id : ctx.process().hostIdOf((int) id);
    }

    /** A group or session id the host returned (or -errno), as the guest's. */
    private static long guestPgid(SyscallContext ctx, long id) {
        return id <= 0 ? id : ctx.process().guestIdOf((int) id);
    }

    /**
     * The process group a vfork child asked for by its own setsid/setpgid before its execve, when
     * {@code pid} names the child itself (0 or its pid): its pid for a group of its own, the guest's
     * id of a group it joined; 0 when it asked for none (the host's answer stands).
     */
    private static long vforkGroup(SyscallContext ctx, int pid) {
        VforkChild v = vforkSelf(ctx, pid);
        if (v == null) return 0;
        int self = ctx.process().pid();
        if (v.newSession()) return self;
        int group = v.hostGroup();
        if (group < 0) return 0;
        return group == 0 ? self : guestPgid(ctx, group);
    }

    /** The caller's vfork state when it is a vfork child and {@code pid} names it (0 or its pid); else null. */
    private static VforkChild vforkSelf(SyscallContext ctx, int pid) {
        VforkChild v = ctx.vfork();
        return v != null && (pid == 0 || pid == ctx.process().pid()) ? v : null;
    }

    /** A pid argument: 0 and the guest's own pid mean the caller; a child's, its host process. */
    private static long hostPid(SyscallContext ctx, long pid) {
        return pid == 0 || pid == ctx.process().pid() ? 0 : pid < 0 ? pid : ctx.process().hostIdOf((int) pid);
    }

    /** Guest TIDs are host TIDs, so thread-level calls pass them through; the pid means the main thread. */
    private static long hostTid(SyscallContext ctx, long pid) {
        return pid == ctx.process().pid() ? ctx.process().pid() : pid;
    }


    /**
     * prlimit64, getrlimit and setrlimit in the kernel's order: the new limit is copied in first
     * (EFAULT, even for NULL in setrlimit), then the pid (ESRCH), the resource (EINVAL) and the
     * change (EINVAL, EPERM) are checked, and only a successful call copies the old limit out
     * (EFAULT, even for NULL in getrlimit).
     */
    private static long prlimit(SyscallContext ctx, long pid, long resource, long newLimit, long oldLimit, long e, long f) {
        GuestMemory m = ctx.memory();
        long newSoft = 0, newHard = 0;
        if (newLimit != 0) {
            byte[] b = m.read(newLimit, 16);
            java.nio.ByteBuffer bb = java.nio.ByteBuffer.wrap(b).order(java.nio.ByteOrder.LITTLE_ENDIAN);
            newSoft = bb.getLong();
            newHard = bb.getLong();
        }
        if ((int) pid != 0 && (int) pid != ctx.process().pid()) return -Errno.ESRCH;
        return rlimit(ctx, (int) resource, newLimit != 0, newSoft, newHard, oldLimit != 0, oldLimit);
    }

    private static long rlimit(SyscallContext ctx, int r, boolean set, long newSoft, long newHard, boolean get, long oldLimit) {
        ResourceLimits limits = ctx.process().limits();
        if (r < 0 || r >= 16) return -Errno.EINVAL;
        long oldSoft = limits.soft(r), oldHard = limits.hard(r);
        if (set) {
            limits.set(r, newSoft, newHard);
            // The fd table enforces RLIMIT_NOFILE itself (EMFILE), as the kernel does.
            if (r == ResourceLimits.RLIMIT_NOFILE) {
                ctx.process().fds().setLimit(limits.openFilesLimit(FdTable.NR_OPEN));
            }
        }
        if (get) {
            byte[] b = new byte[16];
            java.nio.ByteBuffer.wrap(b).order(java.nio.ByteOrder.LITTLE_ENDIAN).putLong(oldSoft).putLong(oldHard);
            ctx.memory().write(oldLimit, b);
        }
        return 0;
    }

    private static long getrlimit(SyscallContext ctx, long resource, long old) {
        return rlimit(ctx, (int) resource, false, 0, 0, true, old);
    }

    private static long setrlimit(SyscallContext ctx, long resource, long nw) {
        byte[] b = ctx.memory().read(nw, 16);
        java.nio.ByteBuffer bb = java.nio.ByteBuffer.wrap(b).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        return rlimit(ctx, (int) resource, true, bb.getLong(), bb.getLong(), false, 0);
    }

    private static long prctl(SyscallContext ctx, long option, long a2, long a3, long a4, long a5, long f) {
        switch ((int) option) {
            case PR_SET_NAME, PR_GET_NAME -> {
                // The calling guest thread is a host thread of its own, so its comm is really its name.
                int prot = option == PR_SET_NAME ? Prot.READ : Prot.WRITE;
                return HostKernel.call(HostSyscall.PRCTL, option, ctx.memory().hostPointer(a2, 16));
            }
            case PR_GET_DUMPABLE -> {
                return HostKernel.call(HostSyscall.PRCTL, option);
            }
            // Read-only queries of the calling (host) thread, answered by the host with Linux's checks;
            // PDEATHSIG, TSC and CHILD_SUBREAPER store an int at arg2.
            case 40 -> { // PR_GET_TID_ADDRESS: the guest's clear_child_tid (the kernel's put_user)
                ctx.memory().writeLong(a2, ctx.clearChildTid());
                return 0;
            }
            case 2, 25, 37 -> {
                return HostKernel.call(HostSyscall.PRCTL, option, ctx.memory().hostPointer(a2, 4), a3, a4, a5);
            }
            case 5, 7, 9, 11, 13, 19, 21, 23, 27, 30, 34, 39, 42, 52, 56, 58 -> {
                return HostKernel.call(HostSyscall.PRCTL, option, a2, a3, a4, a5);
            }
            default -> {
                return -Errno.EINVAL;
            }
        }
    }

}
