package dev.herd.runtime.process;

import dev.herd.host.Errno;
import dev.herd.host.ErrnoException;
import dev.herd.host.HostFd;
import dev.herd.host.HostKernel;
import dev.herd.host.HostSpawn;
import dev.herd.host.HostSyscall;
import dev.herd.memory.ForkedSpace;
import dev.herd.runtime.fs.FdTable;
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
 * process), which the child reports through a pipe once its thread exists: so the parent's fork
 * takes as long as the child Herd's start-up. kill and /proc accept it (Linux's kill takes any
 * thread's id for its process), wait and SIGCHLD go through the child's pidfd.
 */
public final class ForkSyscalls {
    private ForkSyscalls() {}

    private static final long CSIGNAL = 0xff, CLONE_SETTLS = 0x80000, CLONE_PARENT_SETTID = 0x100000,
            CLONE_CHILD_CLEARTID = 0x200000, CLONE_CHILD_SETTID = 0x1000000, CLONE_CLEAR_SIGHAND = 0x100000000L;
    private static final long O_CLOEXEC = 0x80000;

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
        List<Integer> owned = new ArrayList<>(); // host fds this call must close
        owned.add(space[0].memfd());
        for (ForkedSpace.File f : space[0].files()) owned.add(f.fd());
        int reportRead = -1;
        try {
            FdTable fds = process.fds();
            int[] open = fds.openFds();
            int base = Math.max(Arrays.stream(open).max().orElse(2) + 1, 3);
            List<HostSpawn.FdPlacement> placements = new ArrayList<>();
            List<Integer> guestFds = new ArrayList<>();
            List<Boolean> cloexec = new ArrayList<>();
            for (int g : open) {
                int host = fds.hostOrMinus1(g);
                if (host < 0) continue;
                // A proxy fd continues in the child as a local copy of the same open file.
                int local = HostFd.isProxy(host) ? fds.sides().localCopy(host) : host;
                int copy;
                try {
                    copy = ExecSyscalls.dupAbove(local, base);
                } finally {
                    if (local != host) HostKernel.call(HostSyscall.CLOSE, local);
                }
                owned.add(copy);
                placements.add(new HostSpawn.FdPlacement(copy, g));
                guestFds.add(g);
                cloexec.add((fds.getFdFlags(g) & FdTable.FD_CLOEXEC) != 0);
            }
            // The child's own fds (memory, shared files, pid report, image) go above every guest fd
            // and every source, so that no placement overwrites another's source.
            MemorySegment pipe = ctx.scratch();
            long r = HostKernel.call(HostSyscall.PIPE2, pipe.address(), O_CLOEXEC);
            if (r < 0) return r;
            reportRead = pipe.get(ValueLayout.JAVA_INT, 0);
            int reportWrite = pipe.get(ValueLayout.JAVA_INT, 4);
            owned.add(reportWrite);
            int[] extras = new int[2 + space[0].files().size()];
            extras[0] = ExecSyscalls.dupAbove(space[0].memfd(), base);
            owned.add(extras[0]);
            for (int i = 0; i < space[0].files().size(); i++) {
                extras[1 + i] = ExecSyscalls.dupAbove(space[0].files().get(i).fd(), base);
                owned.add(extras[1 + i]);
            }
            extras[extras.length - 1] = ExecSyscalls.dupAbove(reportWrite, base);
            owned.add(extras[extras.length - 1]);
            int next = owned.stream().mapToInt(Integer::intValue).max().orElseThrow() + 1;
            int[] targets = new int[extras.length];
            for (int i = 0; i < extras.length; i++) {
                targets[i] = next++;
                placements.add(new HostSpawn.FdPlacement(extras[i], targets[i]));
            }
            List<ForkedSpace.File> childFiles = new ArrayList<>();
            for (int i = 0; i < space[0].files().size(); i++) {
                ForkedSpace.File f = space[0].files().get(i);
                childFiles.add(new ForkedSpace.File(targets[1 + i], f.writable(), f.sizeAtMap(), f.path(), f.inode()));
            }
            ForkedSpace childSpace = new ForkedSpace(targets[0], space[0].size(), space[0].regionCap(), space[0].brkStart(),
                    space[0].brkCur(), space[0].mappings(), childFiles);
            ForkImage image = image(ctx, flags, childSpace, registers, resumePc, newSp, ctid, tls, guestFds, cloexec,
                    sites[0], targets[targets.length - 1]);
            int stateFd = ExecSyscalls.memfdWith("herd-fork-image", image.toBytes());
            int stateCopy;
            try {
                stateCopy = ExecSyscalls.dupAbove(stateFd, next);
            } finally {
                HostKernel.call(HostSyscall.CLOSE, stateFd);
            }
            owned.add(stateCopy);
            int childStateFd = Math.max(next, stateCopy + 1);
            placements.add(new HostSpawn.FdPlacement(stateCopy, childStateFd));
            List<byte[]> command = herd.forkCommand(childStateFd);
            int hostPid;
            try {
                hostPid = HostSpawn.spawn(command.getFirst(), command, herd.environment(), ExecSyscalls.hostCwd(ctx),
                        placements, childStateFd + 1);
            } catch (ErrnoException e) {
                return -Errno.EAGAIN;
            }
            for (int fd : owned) HostKernel.call(HostSyscall.CLOSE, fd);
            owned.clear();
            int pid = readPid(reportRead);
            if (pid <= 0) {
                reap(hostPid);
                return -Errno.EAGAIN;
            }
            process.children().addRunning(pid, hostPid);
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
            if (reportRead >= 0) HostKernel.call(HostSyscall.CLOSE, reportRead);
        }
    }

    private static ForkImage image(SyscallContext ctx, long flags, ForkedSpace space, byte[] registers, long resumePc,
                                   long newSp, long ctid, long tls, List<Integer> guestFds, List<Boolean> cloexec,
                                   Map<Long, byte[]> sites, int reportFd) {
        GuestProcess p = ctx.process();
        SignalAction[] actions = new SignalAction[Signals.MAX + 1];
        for (int s = 1; s <= Signals.MAX; s++) {
            SignalAction a = p.signals().actions().get(s);
            boolean handler = a.handler() != SignalAction.SIG_IGN && a.handler() != SignalAction.SIG_DFL;
            actions[s] = handler && (flags & CLONE_CLEAR_SIGHAND) != 0 ? SignalAction.DEFAULT : a;
        }
        long[][] rlimits = new long[ResourceLimits.COUNT][];
        for (int r = 0; r < ResourceLimits.COUNT; r++) rlimits[r] = new long[] {p.limits().soft(r), p.limits().hard(r)};
        boolean[] cx = new boolean[cloexec.size()];
        for (int i = 0; i < cx.length; i++) cx[i] = cloexec.get(i);
        var sig = ctx.signals();
        return new ForkImage(p.arch().machine().code(), space, registers, resumePc, newSp,
                (flags & CLONE_SETTLS) != 0 ? tls : ForkImage.NO_TLS,
                (flags & CLONE_CHILD_SETTID) != 0 ? ctid : 0, (flags & CLONE_CHILD_CLEARTID) != 0 ? ctid : 0,
                guestFds.stream().mapToInt(Integer::intValue).toArray(), cx, actions, sig.blocked(),
                new long[] {sig.altStackBase(), sig.altStackSize(), sig.altStackFlags()},
                p.paths().cwd(), p.paths().chrootPath(), p.paths().umask(), rlimits, p.uts().hostname(),
                p.uts().domainname(), p.clock().realtimeOffsetNanos(), p.personality(), ThreadComm.current(),
                p.exePath(), p.argvAddress(), p.envpAddress(), p.auxv(), sites, p.pid(),
                (int) HostKernel.call(HostSyscall.GETPID), reportFd);
    }

    /** The child's guest pid from the report pipe; 0 if the child ended first (EOF). */
    private static int readPid(int fd) {
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

    private static void reap(int hostPid) {
        while (HostKernel.call(HostSyscall.WAIT4, hostPid, 0, 0, 0) == -Errno.EINTR) {
            // retry
        }
    }
}
