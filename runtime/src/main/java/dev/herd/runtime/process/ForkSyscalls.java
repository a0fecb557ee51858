package dev.herd.runtime.process;

import dev.herd.host.Errno;
import dev.herd.host.ErrnoException;
import dev.herd.host.HostKernel;
import dev.herd.host.HostSpawn;
import dev.herd.host.HostSyscall;
import dev.herd.memory.ForkedSpace;
import dev.herd.runtime.syscall.SyscallContext;
import dev.herd.signals.SignalAction;
import dev.herd.signals.Signals;
import dev.herd.threads.CpuArch;
import dev.herd.threads.GuestThread;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * fork, and clone of a new process that does not share memory: the child is a new Herd process
 * ({@link ChildHerd#forkCommand}) started from a {@link ForkImage}. While every other guest thread
 * is kept out of guest code, the parent copies its private memory into a new memfd
 * ({@code GuestAddressSpace.forkCopy}); shared mappings (files, shared anonymous memory, System V
 * segments) go over as the same open files, so both processes share them as on Linux. Every guest
 * fd is placed at its own number in the child; the signal dispositions, the forking thread's mask,
 * alternate stack and registers, cwd, root, umask, limits and names travel in the image.
 *
 * <p>The pid fork returns is the child's guest pid (its first thread's tid, as for every Herd
 * process), which the child reports through a socket once its thread exists: so the parent's fork
 * takes as long as the child Herd's start-up. kill and /proc accept it (Linux's kill takes any
 * thread's id for its process), wait and SIGCHLD go through the child's pidfd.
 */
public final class ForkSyscalls {
    private static final int F_DUPFD_CLOEXEC = 1030;
    private ForkSyscalls() {}

    private static final long CSIGNAL = 0xff, CLONE_SETTLS = 0x80000, CLONE_PARENT_SETTID = 0x100000,
            CLONE_CHILD_CLEARTID = 0x200000, CLONE_CHILD_SETTID = 0x1000000, CLONE_CLEAR_SIGHAND = 0x100000000L;

    /**
     * The fork. {@code flags} are clone's (fork: SIGCHLD only); the caller has refused what a new
     * process cannot have without sharing memory. Returns the child's pid, or -errno.
     */
    static long fork(SyscallContext ctx, long flags, long newSp, long ptid, long ctid, long tls) {
        if (ctx.vfork() != null) return -Errno.EAGAIN; // a vfork child's own fork: not supported
        GuestProcess process = ctx.process();
        ChildHerd herd = process.childHerd();
        if (herd == null) return -Errno.ENOSYS;
        GuestThread thread = ctx.thread();
        CpuArch arch = thread.arch();
        ProcessBudget budget = process.budget();
        if (!budget.tryAcquire(ProcessBudget.limit(process.limits()))) return -Errno.EAGAIN; // RLIMIT_NPROC, Herd's cap
        boolean started = false;
        try {
            long r = forkCounted(ctx, process, herd, thread, arch, flags, newSp, ptid, ctid, tls);
            started = r > 0;
            return r;
        } finally {
            if (!started) budget.release();
        }
    }

    private static long forkCounted(SyscallContext ctx, GuestProcess process, ChildHerd herd, GuestThread thread,
                                    CpuArch arch, long flags, long newSp, long ptid, long ctid, long tls) {
        dev.herd.host.StartupTrace.mark("fork: called");
        byte[] registers = arch.saveThreadState(thread.engine());
        long resumePc = arch.pcAfterSyscall(thread.engine());

        ForkedSpace[] space = new ForkedSpace[1];
        @SuppressWarnings("unchecked") Map<Long, byte[]>[] sites = new Map[1];
        try {
            process.threads().whileGuestCodeStopped(thread, () -> {
                space[0] = process.addressSpace().forkCopy();
                sites[0] = thread.environment().atomics().patchedSites();
            });
        } catch (ErrnoException e) {
            return e.errno() == Errno.ENOSPC || e.errno() == Errno.EFBIG ? -Errno.ENOMEM : -e.errno();
        }
        dev.herd.host.StartupTrace.mark("fork: memory copied");
        List<Integer> owned = new ArrayList<>(); // host fds this call must close
        owned.add(space[0].memfd());
        for (ForkedSpace.File f : space[0].files()) owned.add(f.fd());
        // The guest's fds (a proxy fd continues as a local copy of the same file); the spare's
        // SCM_RIGHTS and the cold child's placements make the child's own copies.
        try (InheritedFds inherited = InheritedFds.forFork(process.fds())) {
            List<Integer> sources = inherited.hostFdList();
            // The System V segments, each on a copy of its memfd (the table's own may close meanwhile).
            List<SysvSharedSegments.Saved> shm = new ArrayList<>();
            for (SysvSharedSegments.Saved v : process.sysvShm().saved()) {
                int copy = (int) HostKernel.call(HostSyscall.FCNTL, v.fd(), F_DUPFD_CLOEXEC, 3);
                if (copy < 0) return copy == -Errno.EMFILE ? -Errno.ENOMEM : copy;
                owned.add(copy);
                shm.add(v.withFd(copy));
            }
            Parts parts = new Parts(ctx, flags, space[0], registers, resumePc, newSp, ctid, tls, inherited.guestFds(),
                    inherited.cloexec(), sites[0], shm);
            int pid = 0, hostPid = 0;
            ForkSpare spare = process.forkSpares().take();
            ForkSpare used = null;
            if (spare != null) {
                pid = spare.hand(parts, sources);
                hostPid = spare.pid();
                if (pid > 0) used = spare;
                else spare.close(); // it died waiting: fork cold instead
            }
            int coldReport = -1;
            if (pid <= 0) {
                int[] r = cold(ctx, herd, parts, sources);
                pid = r[0];
                hostPid = r[1];
                coldReport = r[2];
            }
            dev.herd.host.StartupTrace.mark(used != null ? "fork: child running (warm spare)" : "fork: child running (cold)");
            // A child reports its exit on its socket (GuestChildren.attachReport): a spare's
            // once the next spare is under way (replenish), a cold one's now.
            if (pid > 0) process.children().addRunning(pid, hostPid, (int) (flags & CSIGNAL), used != null || coldReport >= 0);
            if (coldReport >= 0) {
                if (pid > 0) process.children().attachReport(pid, coldReport);
                else HostKernel.call(HostSyscall.CLOSE, coldReport);
            }
            process.forkSpares().replenish(herd, ExecSyscalls.hostCwd(ctx), process.arch().machine().code(), process, used,
                    pid);
            if (pid <= 0) return pid == 0 ? -Errno.EAGAIN : pid;
            if ((flags & CLONE_PARENT_SETTID) != 0 && ptid != 0) {
                try {
                    ctx.memory().writeInt(ptid, pid);
                } catch (ErrnoException ignored) {
                    // Linux's put_user here fails silently too
                }
            }
            return pid;
        } finally {
            for (int fd : owned) HostKernel.call(HostSyscall.CLOSE, fd);
        }
    }

    /** What the image needs besides fd numbers, which depend on how the fds reach the child. */
    record Parts(SyscallContext ctx, long flags, ForkedSpace space, byte[] registers, long resumePc, long newSp, long ctid,
                 long tls, int[] guestFds, boolean[] cloexec, Map<Long, byte[]> sites,
                 List<SysvSharedSegments.Saved> shm) {
        /**
         * The image with the child's numbers: {@code guestHost[i]} for guest fd i, {@code memfd},
         * {@code files[i]} for shared file i, {@code shmFds[i]} for System V segment i, {@code report}
         * (-1: none).
         */
        ForkImage image(int[] guestHost, int memfd, int[] files, int[] shmFds, int report) {
            List<ForkedSpace.File> childFiles = new ArrayList<>();
            for (int i = 0; i < space.files().size(); i++) {
                ForkedSpace.File f = space.files().get(i);
                childFiles.add(new ForkedSpace.File(files[i], f.writable(), f.sizeAtMap(), f.path(), f.inode()));
            }
            ForkedSpace childSpace = new ForkedSpace(memfd, space.size(), space.regionCap(), space.brkStart(),
                    space.brkCur(), space.mappings(), childFiles);
            List<SysvSharedSegments.Saved> childShm = new ArrayList<>();
            for (int i = 0; i < shm.size(); i++) childShm.add(shm.get(i).withFd(shmFds[i]));
            return ForkSyscalls.image(ctx, flags, childSpace, registers, resumePc, newSp, ctid, tls, guestFds, guestHost,
                    cloexec, sites, report, childShm);
        }
    }

    /**
     * A child Herd started for this fork ({@link ChildHerd#forkCommand}): every guest fd at its own
     * number, the child's own fds above them. Returns {guest pid or 0 or -errno, host pid, this
     * end of the child's report socket or -1}.
     */
    private static int[] cold(SyscallContext ctx, ChildHerd herd, Parts parts, List<Integer> sources) {
        try (ChildFds childFds = new ChildFds(Arrays.stream(parts.guestFds()).max().orElse(2))) {
            for (int i = 0; i < sources.size(); i++) childFds.at(sources.get(i), parts.guestFds()[i]);
            int memfd = childFds.add(parts.space().memfd());
            int[] files = new int[parts.space().files().size()];
            for (int i = 0; i < files.length; i++) files[i] = childFds.add(parts.space().files().get(i).fd());
            int[] shmFds = new int[parts.shm().size()];
            for (int i = 0; i < shmFds.length; i++) shmFds[i] = childFds.add(parts.shm().get(i).fd());
            int report = childFds.reportSocket();
            int[] guestHost = parts.guestFds().clone();
            int childStateFd = childFds.addFile("herd-fork-image", parts.image(guestHost, memfd, files, shmFds, report).toBytes());
            int childBudgetFd = childFds.add(ctx.process().budget().fd());
            List<byte[]> command = herd.forkCommand(childStateFd, childBudgetFd);
            int hostPid;
            try {
                hostPid = HostSpawn.spawn(command.getFirst(), command, herd.environment(), ExecSyscalls.hostCwd(ctx),
                        childFds.placements(), childFds.closeFrom());
            } catch (ErrnoException e) {
                return new int[] {-Errno.EAGAIN, 0, -1};
            }
            int pid = childFds.readPid();
            if (pid <= 0) reap(hostPid);
            return new int[] {pid, hostPid, pid > 0 ? childFds.takeReport() : -1};
        } catch (ErrnoException e) {
            return new int[] {-e.errno(), 0, -1};
        }
    }

    private static ForkImage image(SyscallContext ctx, long flags, ForkedSpace space, byte[] registers, long resumePc,
                                   long newSp, long ctid, long tls, int[] guestFds, int[] guestHost,
                                   boolean[] cloexec, Map<Long, byte[]> sites, int reportFd,
                                   List<SysvSharedSegments.Saved> shm) {
        GuestProcess p = ctx.process();
        SignalAction[] actions = new SignalAction[Signals.MAX + 1];
        for (int s = 1; s <= Signals.MAX; s++) {
            SignalAction a = p.signals().actions().get(s);
            boolean handler = a.handler() != SignalAction.SIG_IGN && a.handler() != SignalAction.SIG_DFL;
            actions[s] = handler && (flags & CLONE_CLEAR_SIGHAND) != 0 ? SignalAction.DEFAULT : a;
        }
        long[][] rlimits = new long[ResourceLimits.COUNT][];
        for (int r = 0; r < ResourceLimits.COUNT; r++) rlimits[r] = new long[] {p.limits().soft(r), p.limits().hard(r)};
        var sig = ctx.signals();
        return new ForkImage(p.arch().machine().code(), space, registers, resumePc, newSp,
                (flags & CLONE_SETTLS) != 0 ? tls : ForkImage.NO_TLS,
                (flags & CLONE_CHILD_SETTID) != 0 ? ctid : 0, (flags & CLONE_CHILD_CLEARTID) != 0 ? ctid : 0,
                guestFds, guestHost, cloexec, actions, sig.blocked(),
                new long[] {sig.altStackBase(), sig.altStackSize(), sig.altStackFlags()},
                p.paths().cwd(), p.paths().chrootPath(), p.paths().umask(), rlimits, p.uts().hostname(),
                p.uts().domainname(), p.clock().realtimeOffsetNanos(), p.personality(), ThreadComm.current(),
                p.exePath(), p.argvAddress(), p.envpAddress(), p.auxv(), sites, p.pid(),
                (int) HostKernel.call(HostSyscall.GETPID), reportFd, shm);
    }

    /** The child's guest pid from the report pipe or socket; 0 if the child ended first (EOF). */
    static int readPid(int fd) {
        try (java.lang.foreign.Arena a = java.lang.foreign.Arena.ofConfined()) {
            MemorySegment buf = a.allocate(4, 4);
            int got = 0;
            while (got < 4) {
                long r = HostKernel.call(HostSyscall.READ, fd, buf.address() + got, 4 - got);
                if (r == -Errno.EINTR) continue;
                if (r <= 0) return 0;
                got += (int) r;
            }
            return buf.get(ValueLayout.JAVA_INT, 0);
        }
    }

    static void reap(int hostPid) {
        while (HostKernel.call(HostSyscall.WAIT4, hostPid, 0, 0, 0) == -Errno.EINTR) {
            // retry
        }
    }
}
