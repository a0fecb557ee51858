package dev.herd.runtime.process;

import dev.herd.host.Errno;
import dev.herd.host.ErrnoException;
import dev.herd.host.HostKernel;
import dev.herd.host.HostSpawn;
import dev.herd.host.HostStat;
import dev.herd.host.HostSyscall;
import dev.herd.memory.GuestMemory;
import dev.herd.runtime.fs.ExecFiles;
import dev.herd.runtime.fs.FdTable;
import dev.herd.runtime.fs.PathResolver;
import dev.herd.runtime.fs.PathSyscalls;
import dev.herd.runtime.loader.ElfFile;
import dev.herd.runtime.loader.ExecFormatException;
import dev.herd.runtime.syscall.SyscallContext;
import dev.herd.runtime.syscall.SyscallTable;
import dev.herd.signals.SignalAction;
import dev.herd.signals.Signals;
import dev.herd.threads.GuestThread;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * execve and execveat: in this process ({@link InProcessExec}) where nothing else shares it, else by
 * delegation to a child Herd process (described here).
 *
 * <p>Herd checks what the kernel checks before the point of no return (the path inside the
 * rootfs, a regular file with execute permission, an x86_64 ELF or a {@code #!} script whose
 * interpreter is one, argv/envp readable and not too large) and returns those errors to the guest.
 * Then it starts a new Herd JVM ({@link ChildHerd}) on the new image with the guest's argv and envp
 * bytes (the environment in a memfd, never as the child JVM's own: see {@link ChildHerd}), the
 * checked image as an open fd, its cwd, every fd that is not close-on-exec at the same number, the ignored signals and
 * the blocked mask; stops the guest's other threads (the kernel's de_thread) and waits for the
 * child, whose exit status becomes this process's. Differences from the kernel, documented: the
 * new image runs with the child's pid (the parent's wait, kill and /proc see the delegating
 * process, which forwards only the exit status), pending signals and timers do not carry over,
 * and interval timers are not inherited.
 */
public final class ExecSyscalls {
    private ExecSyscalls() {}

    private static final int AT_FDCWD = -100, AT_EMPTY_PATH = 0x1000, AT_SYMLINK_NOFOLLOW = 0x100;
    private static final int O_RDONLY = 0, O_CLOEXEC = 0x80000, F_DUPFD_CLOEXEC = 1030, MFD_CLOEXEC = 1;
    private static final int X_OK = 1, AT_EACCESS = 0x200;
    /** Linux's MAX_ARG_STRLEN and a total close to its default limit (a quarter of an 8 MiB stack). */
    private static final int MAX_ARG_STRLEN = 32 * 4096, MAX_ARGS_TOTAL = 2 * 1024 * 1024;
    private static final int BINPRM_BUF_SIZE = 256;

    public static void register(SyscallTable t) {
        t.define("execve", "path ptr ptr", (ctx, path, argv, envp, d, e, f) -> execveat(ctx, AT_FDCWD, path, argv, envp, 0));
        t.define("execveat", "dirfd path ptr ptr atflags", (ctx, dirfd, path, argv, envp, flags, f) ->
                execveat(ctx, dirfd, path, argv, envp, flags));
    }

    private static long execveat(SyscallContext ctx, long dirfd, long pathPtr, long argvPtr, long envpPtr, long flags) {
        if ((flags & ~(AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW)) != 0) return -Errno.EINVAL;
        ChildHerd child = ctx.process().childHerd();
        if (child == null) return -Errno.ENOSYS;
        GuestMemory mem = ctx.memory();
        byte[] pathBytes = mem.readCStringBytes(pathPtr, PathResolver.PATH_MAX);
        if (pathBytes.length >= PathResolver.PATH_MAX) return -Errno.ENAMETOOLONG;
        String path = new String(pathBytes, StandardCharsets.ISO_8859_1);
        // One budget for both, checked while reading: a hostile argv cannot make Herd copy more.
        long[] budget = {MAX_ARGS_TOTAL};
        List<byte[]> argv = strings(mem, argvPtr, budget);
        List<byte[]> envp = strings(mem, envpPtr, budget);
        if (argv.isEmpty()) argv = List.of(new byte[0]); // Linux 5.18+: argc 0 becomes one empty argv[0]

        PathResolver paths = ctx.process().paths();
        FdTable fds = ctx.process().fds();
        // Like the kernel the guest thinks it runs on: an image of its own architecture, else ENOEXEC.
        int machine = ctx.process().arch().machine().code();
        int hostDir = AT_FDCWD;
        if (path.isEmpty()) {
            if ((flags & AT_EMPTY_PATH) == 0) return -Errno.ENOENT;
        } else if (path.charAt(0) != '/' && (int) dirfd != AT_FDCWD) {
            hostDir = fds.get((int) dirfd);
        }
        // The image, and for a script its interpreter: both must pass the kernel's checks. The
        // child reads the file opened here (imageFd), never the path again.
        String program;
        int imageFd;
        List<byte[]> finalArgv = argv;
        if (!path.isEmpty() && (flags & AT_SYMLINK_NOFOLLOW) != 0 && isSymlink(paths, hostDir, path)) return -Errno.ELOOP;
        try (PathResolver.Target image = path.isEmpty() ? PathResolver.ofFd(fds.get((int) dirfd)) : PathSyscalls.follow(ctx, hostDir, path)) {
            byte[] head = checkExecutable(image.dirFd());
            if (isElf(head)) {
                if (!isMachine(head, machine)) return -Errno.ENOEXEC;
                // The kernel opens PT_INTERP before the point of no return: a missing or
                // unusable interpreter is execve's error, not the new image's death.
                long interpError = checkInterpreter(paths, image.dirFd());
                if (interpError < 0) return interpError;
                program = PathResolver.readlinkProcFd(image.dirFd());
                imageFd = dupAbove(image.dirFd(), 3);
            } else if (head.length >= 2 && head[0] == '#' && head[1] == '!') {
                List<String> interp = interpreterLine(head);
                if (interp.isEmpty()) return -Errno.ENOEXEC;
                try (PathResolver.Target in = paths.follow(AT_FDCWD, interp.getFirst())) {
                    byte[] ih = checkExecutable(in.dirFd());
                    if (!isElf(ih) || !isMachine(ih, machine)) return -Errno.ENOEXEC;
                    program = PathResolver.readlinkProcFd(in.dirFd());
                    imageFd = dupAbove(in.dirFd(), 3);
                }
                // The kernel's argv for a script: interpreter, its one optional argument, the
                // script's path as given to execve, then argv[1..].
                List<byte[]> a = new ArrayList<>();
                for (String s : interp) a.add(s.getBytes(StandardCharsets.ISO_8859_1));
                a.add(path.isEmpty() ? ("/dev/fd/" + dirfd).getBytes(StandardCharsets.US_ASCII) : pathBytes);
                a.addAll(argv.subList(1, argv.size()));
                finalArgv = a;
            } else {
                return -Errno.ENOEXEC;
            }
        }
        if (InProcessExec.possible(ctx) && InProcessExec.soleThread(ctx)) {
            // The kernel's way: this process, this pid. The registers this call would return in
            // are replaced at the safe point that follows (InProcessExec), which closes imageFd.
            ctx.execPending(new InProcessExec(program, imageFd, path.isEmpty() ? program : path, finalArgv, envp));
            ctx.thread().requestSafePoint();
            return 0;
        }
        try {
            return delegate(ctx, child, program, imageFd, finalArgv, envp);
        } finally {
            HostKernel.call(HostSyscall.CLOSE, imageFd);
        }
    }

    /** 0, or execve's error for the image's PT_INTERP (ENOEXEC for headers the loader refuses). */
    private static long checkInterpreter(PathResolver paths, int imageFd) {
        ElfFile elf;
        try {
            elf = ElfFile.read(Path.of(PathResolver.procFd(imageFd)));
        } catch (ExecFormatException e) {
            return -Errno.ENOEXEC;
        } catch (IOException e) {
            return -Errno.EIO;
        }
        if (!elf.isDynamic()) return 0;
        try {
            HostKernel.call(HostSyscall.CLOSE, ExecFiles.open(paths, elf.interpreter()));
            return 0;
        } catch (ErrnoException e) {
            return -e.errno();
        }
    }

    /** A close-on-exec copy of a host fd at {@code min} or above. */
    static int dupAbove(int fd, int min) {
        return (int) HostKernel.check(HostKernel.call(HostSyscall.FCNTL, fd, F_DUPFD_CLOEXEC, min));
    }

    /** A close-on-exec memfd holding {@code bytes}. */
    static int memfdWith(String name, byte[] bytes) {
        try (Arena arena = Arena.ofConfined()) {
            int fd = (int) HostKernel.check(HostKernel.call(HostSyscall.MEMFD_CREATE,
                    arena.allocateFrom(name).address(), MFD_CLOEXEC));
            MemorySegment buf = arena.allocate(Math.max(1, bytes.length));
            MemorySegment.copy(bytes, 0, buf, ValueLayout.JAVA_BYTE, 0, bytes.length);
            long done = 0;
            while (done < bytes.length) {
                long r = HostKernel.call(HostSyscall.WRITE, fd, buf.address() + done, bytes.length - done);
                if (r == -Errno.EINTR) continue;
                if (r <= 0) {
                    HostKernel.call(HostSyscall.CLOSE, fd);
                    throw new ErrnoException(r < 0 ? (int) -r : Errno.EIO);
                }
                done += r;
            }
            return fd;
        }
    }

    /** The point of no return: start the child Herd, end this image, wait, take over the status. */
    private static long delegate(SyscallContext ctx, ChildHerd child, String program, int imageFd,
                                 List<byte[]> argv, List<byte[]> envp) {
        VforkChild vfork = ctx.vfork();
        if (vfork != null) {
            long r = spawnInSpare(ctx, vfork, child, program, imageFd, argv, envp);
            if (r != NO_SPARE) return r;
        }
        List<Integer> inherited = new ArrayList<>();
        int stdio = 0; // which of the guest's fds 0-2 the new image has
        try (InheritedFds fds = InheritedFds.forExec(ctx.process().fds());
             ChildFds childFds = new ChildFds(fds.highestGuestFd())) {
            for (int i = 0; i < fds.count(); i++) {
                int g = fds.guestFd(i);
                childFds.at(fds.hostFd(i), g);
                if (g > 2) inherited.add(g); else stdio |= 1 << g;
            }
            // The image, the guest's environment and the run's process budget, for the child Herd
            // only (above every guest fd).
            int childImageFd = childFds.add(imageFd);
            int childEnvFd = childFds.addFile("herd-exec-env", ChildHerd.nulTerminated(envp));
            int childBudgetFd = childFds.add(ctx.process().budget().fd());
            // A vfork child's new image reports its pid (its first thread's id), which the parent's
            // vfork returns: the same pid the image's getpid says and its wait, kill and SIGCHLD use.
            // On a socket, which then carries its exit report (and its return as a spare).
            int childReportFd = ctx.vfork() != null ? childFds.reportSocket() : -1;
            // execve keeps the parent: a vfork child's is the process it borrowed the thread of.
            int parentPid = ctx.process().guestParentPid();
            List<byte[]> command = child.command(program, childImageFd, childEnvFd, childBudgetFd, parentPid, childReportFd, argv,
                    inherited.stream().mapToInt(Integer::intValue).toArray(), stdio, ignoredSignals(ctx.process()), ctx.signals().blocked(),
                    ctx.process().paths().chrootPath(), ctx.process().paths().umask(), rlimits(ctx.process()));
            // Linux checks RLIMIT_NPROC at execve too; here the new image is a process more.
            ProcessBudget budget = ctx.process().budget();
            if (!budget.tryAcquire(ProcessBudget.limit(ctx.process().limits()))) return -Errno.EAGAIN;
            int pid;
            try {
                pid = HostSpawn.spawn(command.getFirst(), command, child.environment(), hostCwd(ctx),
                        childFds.placements(), childFds.closeFrom(), vfork != null ? vfork.hostGroup() : -1,
                        vfork != null && vfork.newSession());
            } catch (ErrnoException e) {
                budget.release();
                return -e.errno();
            }
            // A vfork child's execve: the new image is a child of the parent, which resumes once the
            // image runs (Linux's vfork parent resumes after the exec), with the image's pid.
            if (vfork != null) {
                int guestPid = childFds.readPid();
                int report = guestPid > 0 ? childFds.takeReport() : -1;
                long r = vfork.finish(ctx, guestPid > 0 ? guestPid : pid, pid, 0, report >= 0);
                if (report >= 0) vfork.parent().children().attachReport(guestPid, report);
                // A spare for the next spawn (or fork) of the parent.
                vfork.parent().forkSpares().replenish(child, hostCwd(ctx), ctx.process().arch().machine().code(),
                        vfork.parent(), null, 0);
                return r;
            }
            // The old image is gone: nothing of it may handle or die of a signal any more; signals
            // sent to this process from outside go to the child (HostSignalForwarding).
            ctx.process().execChild(pid);
            for (int s = 1; s <= Signals.MAX; s++) {
                if (s != Signals.SIGKILL && s != Signals.SIGSTOP) {
                    ctx.process().signals().actions().set(s, new SignalAction(SignalAction.SIG_IGN, 0, 0, 0));
                }
            }
            endOtherThreads(ctx);
            childFds.close();
            ProcessExit exit = waitFor(ctx.process(), pid);
            ctx.process().exitGroup(exit);
            return 0;
        } catch (ErrnoException e) {
            return -e.errno();
        }
    }

    /** {@link #spawnInSpare}'s answer when there is no booted spare (the caller then starts a child Herd cold). */
    private static final long NO_SPARE = Long.MIN_VALUE;

    /**
     * A vfork child's execve in a warm fork spare: the parent's booted child Herd becomes the new
     * image's process (its pid is the spare's first thread's id, as for a fork), so no JVM starts
     * on the way. The spare gets what a cold child Herd gets on its command line
     * ({@link SpawnImage}), joins the process group or session the child asked for, and says when
     * the image runs; the parent resumes then, as Linux's vfork parent after the exec.
     */
    private static long spawnInSpare(SyscallContext ctx, VforkChild vfork, ChildHerd child, String program,
                                     int imageFd, List<byte[]> argv, List<byte[]> envp) {
        GuestProcess parent = vfork.parent();
        ProcessBudget budget = ctx.process().budget();
        // Linux checks RLIMIT_NPROC at execve too; here the new image is a process more.
        if (!budget.tryAcquire(ProcessBudget.limit(ctx.process().limits()))) return -Errno.EAGAIN;
        ForkSpare spare = parent.forkSpares().take();
        if (spare == null) {
            budget.release();
            return NO_SPARE;
        }
        int pid = 0;
        try (InheritedFds fds = InheritedFds.forExec(ctx.process().fds())) {
            int n = fds.count();
            int[] indexes = new int[n];
            for (int i = 0; i < n; i++) indexes[i] = i;
            List<Integer> sources = fds.hostFdList();
            sources.add(imageFd);
            SpawnImage image = new SpawnImage(program, n, argv, envp, hostCwd(ctx), ctx.process().paths().chrootPath(),
                    ctx.process().paths().umask(), rlimits(ctx.process()), ignoredSignals(ctx.process()), ctx.signals().blocked(),
                    ctx.process().guestParentPid(), (int) ProcessHandle.current().pid(),
                    fds.guestFds(), indexes, vfork.newSession(), vfork.hostGroup());
            pid = spare.spawn(image, sources);
        } catch (ErrnoException e) {
            budget.release();
            spare.close();
            return -e.errno();
        }
        if (pid <= 0) {
            budget.release();
            spare.close(); // it died waiting
            return NO_SPARE;
        }
        dev.herd.host.StartupTrace.mark("vfork exec: image handed to the warm spare");
        // The spare says when it is in the session or group asked for, and goes on to load the image.
        spare.awaitRunning(-1);
        dev.herd.host.StartupTrace.mark("vfork exec: child running (warm spare)");
        long r = vfork.finish(ctx, pid, spare.pid(), 0, true);
        parent.forkSpares().replenish(child, hostCwd(ctx), ctx.process().arch().machine().code(), parent, spare, pid);
        return r;
    }

    /** The signals {@code process} ignores (SIG_IGN), which an execve keeps, as a mask. */
    private static long ignoredSignals(GuestProcess process) {
        long ignored = 0;
        for (int s = 1; s <= Signals.MAX; s++) {
            if (s != Signals.SIGKILL && s != Signals.SIGSTOP && process.signals().actions().get(s).handler() == SignalAction.SIG_IGN) {
                ignored |= Signals.bit(s);
            }
        }
        return ignored;
    }

    /** The guest's cwd as a host path, where a child Herd starts. */
    static byte[] hostCwd(SyscallContext ctx) {
        String cwd = ctx.process().paths().cwd();
        String root = ctx.process().paths().rootHostPath();
        String hostCwd = root.equals("/") ? cwd : cwd.equals("/") ? root : root + cwd;
        return hostCwd.getBytes(StandardCharsets.ISO_8859_1);
    }

    /** The kernel's de_thread: every other thread of the old image ends. */
    private static void endOtherThreads(SyscallContext ctx) {
        for (GuestThread t : ctx.process().threads().threads()) {
            if (t != ctx.thread()) t.requestExit();
        }
    }

    /**
     * Waits for the child Herd; its exit status (a shell status) is this process's. This JVM is
     * the process the guest's parent (a shell) waits for, so when the image stops, it stops too,
     * by the same signal; the SIGCONT that resumes it is forwarded to the image.
     */
    private static ProcessExit waitFor(GuestProcess process, int pid) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment status = arena.allocate(4);
            while (true) {
                long r = HostKernel.call(HostSyscall.WAIT4, pid, status.address(), WUNTRACED, 0);
                if (r == -Errno.EINTR) continue;
                if (r < 0) return ProcessExit.exited(LinuxKernel.INTERNAL_ERROR_STATUS);
                int st = status.get(ValueLayout.JAVA_INT, 0);
                if ((st & 0xff) == 0x7f) { // stopped
                    java.util.function.IntConsumer stop = process.hostStop();
                    if (stop != null) stop.accept((st >> 8) & 0xff);
                    continue;
                }
                int sig = st & 0x7f;
                if (sig == 0) return ProcessExit.exited((st >> 8) & 0xff);
                return ProcessExit.killed(sig);
            }
        }
    }

    private static final int WUNTRACED = 2;

    /** The first bytes of the file, after the checks for a regular file with execute permission. */
    private static byte[] checkExecutable(int oPathFd) {
        try (Arena arena = Arena.ofConfined()) {
            if (HostStat.of(oPathFd).type() != HostStat.S_IFREG) throw new ErrnoException(Errno.EACCES);
            MemorySegment empty = arena.allocateFrom("");
            long r = HostKernel.call(HostSyscall.FACCESSAT2, oPathFd, empty.address(), X_OK, AT_EMPTY_PATH | AT_EACCESS);
            if (r < 0) throw new ErrnoException((int) -r);
            MemorySegment proc = arena.allocateFrom(PathResolver.procFd(oPathFd));
            int fd = (int) HostKernel.check(HostKernel.call(HostSyscall.OPENAT, AT_FDCWD, proc.address(), O_RDONLY | O_CLOEXEC, 0));
            try {
                MemorySegment buf = arena.allocate(BINPRM_BUF_SIZE);
                long n = HostKernel.check(HostKernel.call(HostSyscall.READ, fd, buf.address(), BINPRM_BUF_SIZE));
                return buf.asSlice(0, n).toArray(ValueLayout.JAVA_BYTE);
            } finally {
                HostKernel.call(HostSyscall.CLOSE, fd);
            }
        }
    }

    private static boolean isSymlink(PathResolver paths, int hostDir, String path) {
        try (PathResolver.Target t = paths.noFollow(hostDir, path)) {
            return HostStat.at(t.dirFd(), t.name(), t.noFollowFlag()).type() == HostStat.S_IFLNK;
        } catch (ErrnoException e) {
            return false; // a missing file is for the follow lookup to report
        }
    }

    private static boolean isElf(byte[] h) {
        return h.length >= 20 && h[0] == 0x7f && h[1] == 'E' && h[2] == 'L' && h[3] == 'F';
    }

    /** A 64-bit little-endian ELF for {@code machine}: what this process's kernel would run. */
    private static boolean isMachine(byte[] h, int machine) {
        return h[4] == 2 && h[5] == 1 && ((h[18] & 0xff) | (h[19] & 0xff) << 8) == machine;
    }

    /** The interpreter and its optional single argument from a {@code #!} line (as Linux splits it). */
    private static List<String> interpreterLine(byte[] head) {
        int end = 2;
        while (end < head.length && head[end] != '\n') end++;
        String line = new String(head, 2, end - 2, StandardCharsets.ISO_8859_1).strip();
        if (line.isEmpty()) return List.of();
        int sp = 0;
        while (sp < line.length() && line.charAt(sp) != ' ' && line.charAt(sp) != '\t') sp++;
        String interp = line.substring(0, sp);
        String arg = line.substring(sp).strip();
        return arg.isEmpty() ? List.of(interp) : List.of(interp, arg);
    }

    /**
     * A NULL-terminated array of C strings in guest memory (NULL itself: an empty list); E2BIG once
     * the strings with their NULs exceed {@code budget[0]}, which is decremented.
     */
    private static List<byte[]> strings(GuestMemory mem, long array, long[] budget) {
        List<byte[]> out = new ArrayList<>();
        if (array == 0) return out;
        for (long at = array; ; at += 8) {
            long p = mem.readLong(at);
            if (p == 0) return out;
            byte[] s;
            try {
                s = mem.readCStringBytes(p, MAX_ARG_STRLEN + 1);
            } catch (ErrnoException e) {
                throw e.errno() == Errno.ENAMETOOLONG ? new ErrnoException(Errno.E2BIG) : e;
            }
            budget[0] -= s.length + 1;
            if (s.length > MAX_ARG_STRLEN || budget[0] < 0) throw new ErrnoException(Errno.E2BIG);
            out.add(s);
        }
    }

    /** The process's resource limits, {soft, hard} per resource: execve keeps them. */
    private static long[][] rlimits(GuestProcess p) {
        long[][] out = new long[ResourceLimits.COUNT][];
        for (int r = 0; r < ResourceLimits.COUNT; r++) out[r] = new long[] {p.limits().soft(r), p.limits().hard(r)};
        return out;
    }
}
