package dev.herd.runtime.cli;

import dev.herd.host.FdPassing;
import dev.herd.host.HostKernel;
import dev.herd.host.HostSyscall;
import dev.herd.proxy.ProxyNetwork;
import dev.herd.proxy.ProxyStartException;
import dev.herd.runtime.launch.GuestLauncher;
import dev.herd.runtime.launch.MainThreadSlot;
import dev.herd.runtime.launch.ProxySettings;
import dev.herd.runtime.launch.RunConfig;
import dev.herd.runtime.loader.ExecFormatException;
import dev.herd.runtime.process.ChildHerd;
import dev.herd.runtime.process.ForkImage;
import dev.herd.runtime.process.HandoverHeader;
import dev.herd.runtime.process.SpawnImage;
import dev.herd.runtime.process.LinuxKernel;
import dev.herd.runtime.process.ProcessExit;
import dev.herd.signals.Signals;
import dev.herd.threads.ExecutionMode;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code herd run [--rootfs DIR] [--strace] [--mode parallel|serial] PROGRAM [ARGS...]}.
 *
 * <p>The guest owns stdio and the exit status (128+N when signal N ends it). Herd's own messages
 * are single lines starting with {@code herd:}; a Java stack trace never reaches the user
 * (set {@code HERD_DEBUG=1} to see one for an internal error).
 */
public final class HerdMain {
    private static final String USAGE =
            "usage: herd run [--rootfs DIR] [--strace] [--mode parallel|serial]\n"
            + "                [--proxy [--forward NAME,NAME,...] [--net host|isolated]] PROGRAM [ARGS...]";

    /**
     * Before the guest's first instruction: signals sent to this JVM go to the guest. One instance
     * made at class initialisation, not a lambda at each call: a lambda's first use spins a class
     * (~1-4 ms), which a fork's child would pay after the fork.
     */
    private static final java.util.function.Consumer<LinuxKernel> FORWARD_HOST_SIGNALS = HerdMain::beforeGuestStarts;

    /** Signals to the guest, and the guest's command line as this JVM's (for ps, pgrep and other guests' /proc reads). */
    private static void beforeGuestStarts(LinuxKernel kernel) {
        HostSignalForwarding.install(kernel.process());
        ProcessTitle.show(kernel.process());
        kernel.process().onNewImage(ProcessTitle::show);
    }

    /** Status for a command line Herd does not understand (like a shell builtin's misuse). */
    static final int USAGE_STATUS = 2;

    private HerdMain() {}

    public static void main(String[] args) {
        dev.herd.host.StartupTrace.mark("HerdMain.main");
        int status;
        PrintStream err = System.err;
        try {
            status = run(args, err);
        } catch (Throwable t) {
            err.println("herd: internal error: " + t);
            if (System.getenv("HERD_DEBUG") != null) t.printStackTrace(err);
            status = LinuxKernel.INTERNAL_ERROR_STATUS;
        }
        HostSignalForwarding.stop();
        dev.herd.host.StartupTrace.mark("guest ended, halting");
        err.flush();
        System.out.flush();
        // A guest killed by a signal: Herd dies by the same signal, so that whoever waits for it
        // (a shell, or the parent Herd of an execve or posix_spawn) sees WIFSIGNALED as for the
        // program itself; 128+N if the signal does not end the JVM.
        if (killedBy > 0) dieBy(killedBy);
        // Not exit: guest threads may still be blocked in host syscalls, and no JVM shutdown work
        // is needed (the guest's fds are host fds the kernel closes). Not even the JVM's halt,
        // which stops every thread at a safepoint first (milliseconds that a fork's
        // fork+exit+wait pays): the process's own exit_group, unless this JVM must write its
        // ahead-of-time cache at exit (the build's training run).
        if (!WRITES_AOT_CACHE) HostKernel.call(HostSyscall.EXIT_GROUP, status);
        Runtime.getRuntime().halt(status);
    }

    /**
     * Whether this JVM may be recording an ahead-of-time cache, which it writes at exit: the
     * build's training run (scripts/aot-cache.sh) sets HERD_AOT_OUTPUT, and bin/herd then adds
     * -XX:AOTCacheOutput (the management API would tell for sure, at a start-up cost).
     */
    private static final boolean WRITES_AOT_CACHE = System.getenv("HERD_AOT_OUTPUT") != null;

    /** The signal that killed the guest (0: it exited), for {@link #main}. */
    private static volatile int killedBy;

    /**
     * Ends this process by {@code sig} with its default action: no core file (RLIMIT_CORE 0),
     * the JVM's handler replaced by SIG_DFL, the signal unblocked and sent to this thread.
     */
    private static void dieBy(int sig) {
        try (java.lang.foreign.Arena a = java.lang.foreign.Arena.ofConfined()) {
            java.lang.foreign.MemorySegment zero = a.allocate(16, 8); // rlimit {0, 0}
            HostKernel.call(HostSyscall.PRLIMIT64, 0, 4 /* RLIMIT_CORE */, zero.address(), 0);
        }
        HostSignalForwarding.raiseWithDefaultAction(sig);
    }

    static int run(String[] args, PrintStream err) throws InterruptedException {
        // "fork" is internal: a parent Herd's fork starts the child with it (ForkSyscalls).
        if (args.length == 0 || !(args[0].equals("run") || args[0].equals("fork"))) {
            err.println(USAGE);
            return USAGE_STATUS;
        }
        boolean forkChild = args[0].equals("fork");
        int stateFd = -1;
        boolean spare = false;
        int budgetFd = -1, parentPid = 0, parentHostPid = 0, reportFd = -1;
        int machine = 62; // EM_X86_64
        Path rootfs = Path.of("/");
        boolean strace = false;
        // Options a parent Herd's execve passes to the child that runs the new image (ExecSyscalls).
        String programOption = null;
        int programFd = -1, envFd = -1;
        int[] inheritFds = new int[0];
        int stdio = 7; // bit n: fd n is the guest's
        long sigIgnore = 0, sigMask = 0;
        String chroot = "/";
        int umask = -1;
        long[][] rlimits = null;
        ExecutionMode mode = ExecutionMode.PARALLEL;
        boolean proxy = false;
        List<String> forward = null;
        ProxyNetwork net = ProxyNetwork.HOST;
        int joinNet = 0;
        int i = 1;
        while (i < args.length && args[i].startsWith("--")) {
            String option = args[i++];
            if (option.equals("--")) break;
            switch (option) {
                case "--strace" -> strace = true;
                case "--proxy" -> proxy = true;
                case "--forward" -> {
                    if (i >= args.length) return usage(err, "--forward needs syscall names");
                    forward = new ArrayList<>();
                    for (String name : args[i++].split(",")) {
                        if (!name.isBlank()) forward.add(name.trim());
                    }
                    proxy = true;
                }
                case "--net-join" -> { // a parent Herd's execve: share its isolated network
                    if (i >= args.length) return usage(err, "--net-join needs a pid");
                    try {
                        joinNet = Integer.parseInt(args[i++]);
                    } catch (NumberFormatException e) {
                        return usage(err, "--net-join: not a pid");
                    }
                    net = ProxyNetwork.ISOLATED;
                    proxy = true;
                }
                case "--net" -> {
                    if (i >= args.length) return usage(err, "--net needs host or isolated");
                    String n = args[i++];
                    switch (n) {
                        case "host" -> net = ProxyNetwork.HOST;
                        case "isolated" -> net = ProxyNetwork.ISOLATED;
                        default -> { return usage(err, "unknown network " + n + " (host or isolated)"); }
                    }
                    proxy = true;
                }
                case "--rootfs" -> {
                    if (i >= args.length) return usage(err, "--rootfs needs a directory");
                    String dir = args[i++];
                    rootfs = Path.of(dir).toAbsolutePath().normalize();
                    if (!Files.isDirectory(rootfs)) {
                        err.println("herd: --rootfs " + dir + ": not a directory");
                        return USAGE_STATUS;
                    }
                }
                case "--mode" -> {
                    if (i >= args.length) return usage(err, "--mode needs parallel or serial");
                    String m = args[i++];
                    switch (m) {
                        case "parallel" -> mode = ExecutionMode.PARALLEL;
                        case "serial" -> mode = ExecutionMode.SERIAL;
                        default -> { return usage(err, "unknown mode " + m); }
                    }
                }
                case "--program" -> {
                    if (i >= args.length) return usage(err, "--program needs a path");
                    programOption = args[i++];
                }
                case "--state-fd", "--spare-fd" -> {
                    if (!forkChild || i >= args.length) return usage(err, option + ": only for a fork's child, with an fd number");
                    try {
                        stateFd = Integer.parseInt(args[i++]);
                    } catch (NumberFormatException e) {
                        return usage(err, option + ": not an fd number");
                    }
                    spare = option.equals("--spare-fd");
                }
                case "--machine" -> { // a warm fork spare: the guest architecture it warms up for
                    if (!forkChild || i >= args.length) return usage(err, "--machine: only for a fork's spare, with an ELF machine");
                    try {
                        machine = Integer.parseInt(args[i++]);
                    } catch (NumberFormatException e) {
                        return usage(err, "--machine: not a number");
                    }
                }
                case "--report-fd" -> { // a vfork child's execve: where the new image's pid goes
                    if (i >= args.length) return usage(err, "--report-fd needs an fd number");
                    try {
                        reportFd = Integer.parseInt(args[i++]);
                    } catch (NumberFormatException e) {
                        return usage(err, "--report-fd: not an fd number");
                    }
                }
                case "--ppid" -> { // an execve's: the guest's parent, GUEST:HOST (see ExecInheritance)
                    if (i >= args.length) return usage(err, "--ppid needs GUEST:HOST");
                    String[] p = args[i++].split(":");
                    try {
                        parentPid = Integer.parseInt(p[0]);
                        parentHostPid = Integer.parseInt(p[1]);
                    } catch (NumberFormatException | ArrayIndexOutOfBoundsException e) {
                        return usage(err, "--ppid: not GUEST:HOST");
                    }
                }
                case "--budget-fd" -> { // a parent Herd's: the run's count of Herd processes
                    if (i >= args.length) return usage(err, "--budget-fd needs an fd number");
                    try {
                        budgetFd = Integer.parseInt(args[i++]);
                    } catch (NumberFormatException e) {
                        return usage(err, "--budget-fd: not an fd number");
                    }
                }
                case "--program-fd", "--env-fd" -> {
                    if (i >= args.length) return usage(err, option + " needs an fd number");
                    int fd;
                    try {
                        fd = Integer.parseInt(args[i++]);
                    } catch (NumberFormatException e) {
                        return usage(err, option + ": not an fd number");
                    }
                    if (option.equals("--program-fd")) programFd = fd; else envFd = fd;
                }
                case "--stdio" -> { // which of fds 0-2 are the guest's (default all; bin/herd, a parent Herd's execve)
                    if (i >= args.length) return usage(err, "--stdio needs a list of fds among 0-2, or -");
                    String list = args[i++];
                    stdio = 0;
                    if (!list.equals("-")) {
                        for (String n : list.split(",")) {
                            if (!n.equals("0") && !n.equals("1") && !n.equals("2")) return usage(err, "--stdio: not a list of fds among 0-2");
                            stdio |= 1 << Integer.parseInt(n);
                        }
                    }
                }
                case "--inherit-fds" -> {
                    if (i >= args.length) return usage(err, "--inherit-fds needs a list");
                    try {
                        inheritFds = java.util.Arrays.stream(args[i++].split(",")).mapToInt(Integer::parseInt).toArray();
                    } catch (NumberFormatException e) {
                        return usage(err, "--inherit-fds: not a list of fd numbers");
                    }
                }
                case "--umask" -> { // a parent Herd's execve: the guest's umask
                    if (i >= args.length) return usage(err, "--umask needs an octal mask");
                    try {
                        umask = Integer.parseInt(args[i++], 8) & 0777;
                    } catch (NumberFormatException e) {
                        return usage(err, "--umask: not an octal mask");
                    }
                }
                case "--rlimits" -> { // a parent Herd's execve: the guest's limits, SOFT:HARD in hex per resource
                    if (i >= args.length) return usage(err, "--rlimits needs a list");
                    String[] parts = args[i++].split(",");
                    rlimits = new long[parts.length][];
                    try {
                        for (int r = 0; r < parts.length; r++) {
                            String[] sh = parts[r].split(":");
                            rlimits[r] = new long[] {Long.parseUnsignedLong(sh[0], 16), Long.parseUnsignedLong(sh[1], 16)};
                        }
                    } catch (NumberFormatException | ArrayIndexOutOfBoundsException e) {
                        return usage(err, "--rlimits: not a list of SOFT:HARD");
                    }
                }
                case "--chroot" -> {
                    if (i >= args.length) return usage(err, "--chroot needs a path inside the rootfs");
                    chroot = args[i++];
                    if (!chroot.startsWith("/")) return usage(err, "--chroot: not an absolute path");
                }
                case "--sigign", "--sigmask" -> {
                    if (i >= args.length) return usage(err, option + " needs a hexadecimal mask");
                    long v;
                    try {
                        v = Long.parseUnsignedLong(args[i++], 16);
                    } catch (NumberFormatException e) {
                        return usage(err, option + ": not a hexadecimal mask");
                    }
                    if (option.equals("--sigign")) sigIgnore = v; else sigMask = v;
                }
                default -> { return usage(err, "unknown option " + option); }
            }
        }
        ProxySettings proxySettings = !proxy ? null : new ProxySettings(net, forward == null ? ProxySettings.network(net).forwards()
                : forward.stream().map(n -> new ProxySettings.Forward(n, false)).toList(), joinNet);
        if (forkChild) {
            if (stateFd < 0) return usage(err, "fork needs --state-fd or --spare-fd");
            return spare ? runSpare(stateFd, machine, budgetFd, rootfs, mode, strace, proxySettings, err)
                    : runForkChild(stateFd, budgetFd, rootfs, mode, strace, proxySettings, err);
        }
        if (programOption == null && i >= args.length) return usage(err, "no program given");
        // With --program, every remaining argument is the guest's argv, argv[0] included.
        String programArg = programOption != null ? programOption : args[i];
        List<byte[]> argv = RawCommandLine.arguments(args).subList(i, args.length);

        Path program;
        if (programFd >= 0) {
            // A parent Herd's execve checked the image and hands it over open: the path only names it.
            program = Path.of(programArg);
        } else {
            program = ProgramLookup.find(programArg);
            if (program == null) {
                err.println("herd: " + programArg + ": No such file or directory");
                return 127;
            }
            if (Files.isDirectory(program)) {
                err.println("herd: " + programArg + ": Is a directory");
                return 126;
            }
            // execve refuses anything but a regular file with EACCES (a FIFO would block the read).
            if (!Files.isRegularFile(program) || !Files.isReadable(program)) {
                err.println("herd: " + programArg + ": Permission denied");
                return 126;
            }
        }
        List<byte[]> env;
        if (envFd >= 0) {
            // The guest environment of a parent Herd's execve (this JVM's own environment is not it).
            try {
                env = ChildHerd.nulSeparated(Files.readAllBytes(Path.of("/proc/self/fd/" + envFd)));
            } catch (IOException e) {
                err.println("herd: --env-fd " + envFd + ": " + e.getMessage());
                return USAGE_STATUS;
            } finally {
                HostKernel.call(HostSyscall.CLOSE, envFd);
            }
        } else {
            env = RawCommandLine.environment();
        }
        // A top-level Herd's guest starts with the signals ignored that its shell ignored (execve
        // keeps them); a child Herd is told the guest's own set by --sigign.
        if (envFd < 0) sigIgnore |= HostSignalForwarding.hostIgnored() | startIgnored();
        dev.herd.host.StartupTrace.mark("command line parsed");
        String cwd = guestCwd(rootfs);
        // A vfork child's new image: its pid goes to the parent before any of its code runs (see
        // earlyPid), and the parent resumes then. On a socket, its exit report follows, and this
        // JVM may go on as the parent's fork spare (SpareRecycling).
        boolean keepReport = reportFd >= 0 && isSocket(reportFd);
        MainThreadSlot slot = reportFd < 0 ? null : keepReport ? earlyPidKept(reportFd) : earlyPid(reportFd);
        SpareRecycling recycling = keepReport ? SpareRecycling.begin() : null;
        // A closed stdio fd stays closed in the guest, even where the JVM has opened a file since.
        RunConfig config = new RunConfig(program, argv, env, rootfs, cwd, mode, strace,
                (stdio & 1) != 0 ? 0 : -1, (stdio & 2) != 0 ? 1 : -1, (stdio & 4) != 0 ? 2 : -1, err,
                new RunConfig.ExecInheritance(inheritFds, inheritFds, sigIgnore, sigMask, programFd, chroot,
                        recycling == null ? budgetFd : dupCloexec(budgetFd), parentPid,
                        parentHostPid, umask, rlimits), proxySettings);
        GuestLauncher.RunningGuest guest = null;
        try {
            // Forwarding is in place before the first guest instruction runs.
            guest = GuestLauncher.start(config, FORWARD_HOST_SIGNALS, slot, null, null);
        } catch (ExecFormatException e) {
            err.println("herd: " + programArg + ": " + e.getMessage());
            return 126;
        } catch (IOException e) {
            err.println("herd: " + programArg + ": " + e.getMessage());
            return 126;
        } catch (ProxyStartException e) {
            err.println(e.getMessage());
            return 1;
        }
        int status = awaitExit(guest, err);
        if (!keepReport) return status;
        boolean returning = recycling != null && recycling.mayReturn(guest, killedBy != 0, proxySettings != null);
        returning = reportExit(guest, reportFd, status, err, returning);
        if (!returning || !recycling.reset(guest, err)) return status;
        int guestMachine = guest.process().arch().machine().code();
        return serveForks(reportFd, guestMachine, SpareWarmUp.prepare(guestMachine), recycling, budgetFd, rootfs, mode, strace,
                proxySettings, err);
    }

    /**
     * Tells a parent Herd this child's pid (its first thread's id) on {@code fd}, then closes it,
     * before the process exists: sent once the guest ran, the report could come too late, when
     * a guest that stops itself at once (raise(SIGSTOP) right after fork) stopped this whole JVM
     * first and its parent waited for the pid for ever (jobctl, ~1 run in 20 under load). Signals
     * the parent sends from then on are kept until the process exists, as in a warm spare.
     */
    private static MainThreadSlot earlyPid(int fd) {
        MainThreadSlot slot = earlyPidKept(fd);
        HostKernel.call(HostSyscall.CLOSE, fd);
        return slot;
    }

    /** As {@link #earlyPid}, leaving {@code fd} open (a fork's report socket). */
    private static MainThreadSlot earlyPidKept(int fd) {
        HostSignalForwarding.install();
        dev.herd.threads.HostCallInterrupter.installHandler();
        MainThreadSlot slot = new MainThreadSlot();
        sendPid(fd, slot.tid());
        return slot;
    }

    private static int awaitExit(GuestLauncher.RunningGuest guest, PrintStream err) throws InterruptedException {
        try {
            ProcessExit exit = guest.exit().get();
            killedBy = exit.signal();
            return exit.shellStatus();
        } catch (java.util.concurrent.ExecutionException e) {
            err.println("herd: internal error: " + e.getCause());
            return LinuxKernel.INTERNAL_ERROR_STATUS;
        }
    }

    /**
     * A fork's child: the process state comes from the parent's {@link ForkImage} in
     * {@code stateFd}; once the first thread exists its pid goes back to the parent, whose fork
     * returns it. Its report socket then carries the "running" pid and the exit report, after
     * which this JVM may go on as the parent's next fork spare ({@link SpareRecycling}).
     */
    private static int runForkChild(int stateFd, int budgetFd, Path rootfs, ExecutionMode mode, boolean strace, ProxySettings proxy,
                                    PrintStream err) throws InterruptedException {
        ForkImage image;
        try {
            image = ForkImage.fromFd(stateFd);
        } catch (IOException e) {
            err.println("herd: fork: cannot read the parent's state: " + e.getMessage());
            return LinuxKernel.INTERNAL_ERROR_STATUS;
        } finally {
            HostKernel.call(HostSyscall.CLOSE, stateFd);
        }
        int report = image.pidReportFd();
        if (report < 0) return runForked(image, -1, false, budgetFd, rootfs, mode, strace, proxy, err, null, null, null, null).status();
        if (!isSocket(report)) {
            return runForked(image, -1, false, budgetFd, rootfs, mode, strace, proxy, err, earlyPid(report), null, null, null).status();
        }
        MainThreadSlot slot = earlyPidKept(report);
        SpareRecycling recycling = SpareRecycling.begin(); // with Herd's own signal handlers in place
        int runBudget = recycling == null ? budgetFd : dupCloexec(budgetFd); // see serveForks
        Finished f = runForked(image, report, true, runBudget, rootfs, mode, strace, proxy, err, slot, null, null, recycling);
        if (!f.returning() || !recycling.reset(f.guest(), err)) return f.status();
        return serveForks(report, image.machine(), SpareWarmUp.prepare(image.machine()), recycling, budgetFd, rootfs, mode,
                strace, proxy, err);
    }

    /** A close-on-exec copy of {@code fd} (-1 stays -1; so does a failed copy). */
    private static int dupCloexec(int fd) {
        if (fd < 0) return -1;
        long copy = HostKernel.call(HostSyscall.FCNTL, fd, 1030 /* F_DUPFD_CLOEXEC */, 3);
        return copy < 0 ? -1 : (int) copy;
    }

    /** Whether {@code fd} is a socket. */
    private static boolean isSocket(int fd) {
        try (java.lang.foreign.Arena a = java.lang.foreign.Arena.ofConfined()) {
            java.lang.foreign.MemorySegment v = a.allocate(8, 4);
            v.set(java.lang.foreign.ValueLayout.JAVA_INT, 4, 4);
            return HostKernel.call(HostSyscall.GETSOCKOPT, fd, 1 /* SOL_SOCKET */, 3 /* SO_TYPE */, v.address(), v.address() + 4) == 0;
        }
    }

    /** How a guest run of this JVM ended: its status, and whether its exit report said this JVM goes on as a spare. */
    private record Finished(int status, GuestLauncher.RunningGuest guest, boolean returning) {
        static Finished status(int status) {
            return new Finished(status, null, false);
        }
    }

    /**
     * A warm spare (see {@code ForkSpare}): boots, then serves forks on {@code socket}; at EOF
     * (the parent ended without needing it) it ends quietly.
     */
    private static int runSpare(int socket, int machine, int budgetFd, Path rootfs, ExecutionMode mode, boolean strace, ProxySettings proxy,
                                PrintStream err) throws InterruptedException {
        // Ready before the parent can know this process: signals kept until the guest exists, the
        // first guest thread started, whose id (the child's pid) the parent gets now, so that its
        // fork returns as soon as it has handed the state over.
        HostSignalForwarding.install();
        SpareWarmUp.Ready ready = SpareWarmUp.run(machine);
        return serveForks(socket, machine, ready, SpareRecycling.begin(), budgetFd, rootfs, mode, strace, proxy, err);
    }

    /**
     * Serves forks on {@code socket}: announces a first guest thread (its id is the next child's
     * pid), takes a fork's or a vfork child's execve's state and runs it; then, if the guest left
     * this JVM as it found it ({@code recycling}, null: never), offers itself again.
     */
    private static int serveForks(int socket, int machine, SpareWarmUp.Ready ready, SpareRecycling recycling, int budgetFd,
                                  Path rootfs, ExecutionMode mode, boolean strace, ProxySettings proxy, PrintStream err)
            throws InterruptedException {
        while (true) {
            MainThreadSlot slot = new MainThreadSlot();
            HostSignalForwarding.dropKept();
            if (!sendPid(socket, slot.tid())) return 0;
            // The run closes the budget fd it is given: a JVM that may serve again keeps its own.
            int runBudget = recycling == null ? budgetFd : dupCloexec(budgetFd);
            Finished f = serveOne(socket, ready, recycling, runBudget, rootfs, mode, strace, proxy, err, slot);
            if (!f.returning() || !recycling.reset(f.guest(), err)) return f.status();
            ready = SpareWarmUp.prepare(machine);
        }
    }

    /** Takes one fork's (or spawn's) state from {@code socket} and runs it to its end. */
    private static Finished serveOne(int socket, SpareWarmUp.Ready ready, SpareRecycling recycling, int budgetFd, Path rootfs,
                                     ExecutionMode mode, boolean strace, ProxySettings proxy, PrintStream err,
                                     MainThreadSlot slot) throws InterruptedException {
        List<Integer> fds = new ArrayList<>();
        int total = -1;
        ForkImage image;
        SpawnImage spawn = null;
        try {
            while (total < 0 || fds.size() < total) {
                FdPassing.Message m;
                try {
                    m = FdPassing.receive(socket, 64);
                } catch (dev.herd.host.ErrnoException e) {
                    // The parent closed its end without reading this spare's ready message: gone.
                    if (e.errno() == ECONNRESET) return Finished.status(0);
                    throw e;
                }
                dev.herd.host.StartupTrace.mark("fork spare: message received");
                if (fds.isEmpty()) dev.herd.runtime.process.SpareScheduling.allThreads(0, dev.herd.runtime.process.SpareScheduling.SCHED_OTHER);
                if (m.eof()) return Finished.status(0);
                HandoverHeader h = HandoverHeader.of(m.data());
                if (h == null || h.first() != fds.size()) throw new IOException("fork spare: message out of order");
                if (fds.isEmpty()) {
                    // Signals that came before the parent handed the child over are not the child's.
                    HostSignalForwarding.forkHandedAt(h.handedAt());
                    // Into the parent's group (an idle spare is in one of its own: ForkSpare), and
                    // say so: the parent's fork returns then. One that cannot join serves no one.
                    long joined = HostKernel.call(HostSyscall.SETPGID, 0, h.group());
                    if (!sendPid(socket, joined == 0 ? h.group() : (int) joined) || joined != 0) return Finished.status(0);
                }
                total = h.total();
                for (int fd : m.fds()) fds.add(fd);
            }
            int imageFd = fds.getLast();
            byte[] bytes;
            try {
                bytes = ForkImage.bytesOf(imageFd);
            } finally {
                HostKernel.call(HostSyscall.CLOSE, imageFd);
            }
            if (SpawnImage.is(bytes)) {
                int[] received = new int[fds.size()];
                for (int i = 0; i < received.length; i++) received[i] = fds.get(i);
                spawn = SpawnImage.fromBytes(bytes).withFds(received);
                image = null;
            } else {
                image = ForkImage.fromBytes(bytes);
            }
        } catch (IOException | dev.herd.host.ErrnoException e) {
            err.println("herd: fork: cannot receive the parent's state: " + e.getMessage());
            return Finished.status(LinuxKernel.INTERNAL_ERROR_STATUS);
        }
        if (spawn != null) return runSpawned(spawn, socket, budgetFd, rootfs, mode, strace, proxy, err, slot, ready, recycling);
        int[] received = new int[fds.size()];
        for (int i = 0; i < received.length; i++) received[i] = fds.get(i);
        image = image.withFds(received);
        // Herd's own lines (a fault report) go where a cold fork's child writes them: the guest's
        // stderr, not the parent Herd's that this spare started with.
        for (int i = 0; i < image.guestFds().length; i++) {
            if (image.guestFds()[i] == 2) HostKernel.call(HostSyscall.DUP3, image.hostFds()[i], 2, 0);
        }
        dev.herd.host.StartupTrace.mark("fork spare: image read");
        // The pid again once the child runs: the parent starts its next spare only then, so
        // that the two JVMs do not share the CPU while this one sets up.
        return runForked(image, socket, true, budgetFd, rootfs, mode, strace, proxy, err, slot, ready.table(), ready.engine(),
                recycling);
    }

    /**
     * A warm spare that runs a vfork child's new image (see {@code ExecSyscalls.spawnInSpare}): as
     * a cold child Herd started with the same state on its command line would, in the process
     * group or session the child asked for, with its pid (the spare's first thread's, which the
     * parent already has) and its running and exit reports on {@code socket}.
     */
    private static Finished runSpawned(SpawnImage spawn, int socket, int budgetFd, Path rootfs, ExecutionMode mode, boolean strace,
                                       ProxySettings proxy, PrintStream err, MainThreadSlot slot, SpareWarmUp.Ready ready,
                                       SpareRecycling recycling)
            throws InterruptedException {
        // posix_spawn's POSIX_SPAWN_SETSID and POSIX_SPAWN_SETPGROUP, as a cold child's spawn makes them.
        if (spawn.newSession()) HostKernel.call(HostSyscall.SETSID);
        else if (spawn.hostGroup() >= 0) HostKernel.call(HostSyscall.SETPGID, 0, spawn.hostGroup());
        try (java.lang.foreign.Arena a = java.lang.foreign.Arena.ofConfined()) {
            java.lang.foreign.MemorySegment cwd = a.allocate(spawn.hostCwd().length + 1L);
            java.lang.foreign.MemorySegment.copy(spawn.hostCwd(), 0, cwd, java.lang.foreign.ValueLayout.JAVA_BYTE, 0, spawn.hostCwd().length);
            HostKernel.call(HostSyscall.CHDIR, cwd.address());
        }
        // Herd's own lines (a fault report) go to the guest's stderr, as a cold child Herd's.
        int guestErr = spawn.hostFdOf(2);
        if (guestErr >= 0) HostKernel.call(HostSyscall.DUP3, guestErr, 2, 0);
        // Arrays and loops, no streams: their first use in this JVM spins classes after the handoff.
        int n = 0;
        for (int g : spawn.guestFds()) if (g > 2) n++;
        int[] inherited = new int[n], inheritedHost = new int[n];
        n = 0;
        for (int i = 0; i < spawn.guestFds().length; i++) {
            if (spawn.guestFds()[i] > 2) {
                inherited[n] = spawn.guestFds()[i];
                inheritedHost[n++] = spawn.hostFds()[i];
            }
        }
        int in = spawn.hostFdOf(0), out = spawn.hostFdOf(1);
        RunConfig config = new RunConfig(Path.of(spawn.program()), spawn.argv(), spawn.env(), rootfs, guestCwd(rootfs), mode, strace,
                in, out, guestErr, err,
                new RunConfig.ExecInheritance(inherited, inheritedHost, spawn.ignored(), spawn.blocked(),
                        spawn.programFd(), spawn.chroot(), budgetFd, spawn.parentPid(), spawn.parentHostPid(), spawn.umask(),
                        spawn.rlimits()), proxy);
        // The parent resumes now (the session or group is made; what fails from here on ends the
        // image, as past execve's point of no return). Not once the image runs: one that stops
        // itself at once would stop this JVM before the message left, and the parent would wait
        // for ever (see earlyPid).
        boolean reporting = sendPid(socket, slot.tid());
        GuestLauncher.RunningGuest guest = null;
        try {
            guest = GuestLauncher.start(config, FORWARD_HOST_SIGNALS, slot, ready.table(), ready.engine());
        } catch (ExecFormatException | IOException e) {
            // Past execve's point of no return: the image dies, as the kernel's does.
            err.println("herd: " + spawn.program() + ": " + e.getMessage());
            return Finished.status(126);
        } catch (ProxyStartException e) {
            err.println(e.getMessage());
            return Finished.status(1);
        } finally {
            // The launcher made its own copies of the guest's stdio.
            for (int fd : new int[] {in, out, guestErr}) if (fd > 2) HostKernel.call(HostSyscall.CLOSE, fd);
            if (guest == null) HostKernel.call(HostSyscall.CLOSE, socket);
        }
        dev.herd.host.StartupTrace.mark("spawn: image started in the spare");
        int status = awaitExit(guest, err);
        boolean returning = reporting && recycling != null && recycling.mayReturn(guest, killedBy != 0, proxy != null);
        if (reporting) returning = reportExit(guest, socket, status, err, returning);
        return new Finished(status, guest, returning);
    }

    /**
     * Runs a fork's child from {@code image}; its guest pid goes to {@code report} once known, and
     * with {@code exitReport} its exit status too (then the fd stays open until then; otherwise it
     * is closed after the pid). With {@code recycling} (null: never) this JVM may go on as a spare
     * after the guest's exit.
     */
    private static Finished runForked(ForkImage image, int report, boolean exitReport, int budgetFd, Path rootfs,
                                      ExecutionMode mode, boolean strace,
                                      ProxySettings proxy, PrintStream err, MainThreadSlot slot,
                                      dev.herd.runtime.syscall.SyscallTable table, dev.herd.threads.PreparedEngine engine,
                                      SpareRecycling recycling)
            throws InterruptedException {
        RunConfig config = new RunConfig(Path.of(image.exePath()), List.of(), List.of(), rootfs, image.cwd(), mode, strace,
                -1, -1, -1, err, RunConfig.ExecInheritance.budgetOnly(budgetFd), proxy);
        GuestLauncher.RunningGuest guest;
        try {
            guest = GuestLauncher.startForked(config, image, FORWARD_HOST_SIGNALS, slot, table, engine);
        } catch (IOException e) {
            err.println("herd: fork: " + e.getMessage());
            if (report >= 0) HostKernel.call(HostSyscall.CLOSE, report);
            return Finished.status(LinuxKernel.INTERNAL_ERROR_STATUS);
        } catch (ProxyStartException e) {
            err.println(e.getMessage());
            if (report >= 0) HostKernel.call(HostSyscall.CLOSE, report);
            return Finished.status(1);
        }
        boolean keep = report >= 0 && reportPid(guest, report, exitReport);
        int status = awaitExit(guest, err);
        boolean returning = keep && recycling != null && recycling.mayReturn(guest, killedBy != 0, proxy != null);
        if (keep) returning = reportExit(guest, report, status, err, returning);
        return new Finished(status, guest, returning);
    }

    /**
     * Sends the guest's pid (its first thread's id) to a parent Herd once known, then closes
     * {@code fd} unless {@code keep}; returns whether {@code fd} is still open.
     */
    private static boolean reportPid(GuestLauncher.RunningGuest guest, int fd, boolean keep) throws InterruptedException {
        boolean sent = false;
        try {
            int pid = guest.started().get();
            dev.herd.host.StartupTrace.mark("first thread started, pid reported");
            sent = sendPid(fd, pid);
        } catch (java.util.concurrent.ExecutionException e) {
            // the thread did not start: the parent sees EOF
        }
        if (keep && sent) return true;
        HostKernel.call(HostSyscall.CLOSE, fd);
        return false;
    }

    /**
     * A warm spare's child that exited (not killed: then the parent learns it from the host) tells
     * its parent before its JVM exits, whose memory teardown takes milliseconds first
     * (GuestChildren, "Exit reports"). Everything a parent could still see of the child is let go
     * before: the guest's fds (a pipe's reader gets its EOF, locks are released) and this JVM's
     * stdio (which may be the guest's too), with Herd's own output flushed. The report carries the
     * process group the child ended in (a wait for a group selects it by that); a JVM that goes
     * on as a spare ({@code returning}) leaves that group then (see ForkSpare), and returns
     * whether it did.
     */
    private static boolean reportExit(GuestLauncher.RunningGuest guest, int fd, int status, PrintStream err, boolean returning) {
        if (killedBy != 0) return false;
        int group = (int) HostKernel.call(HostSyscall.GETPGID, 0);
        int session = (int) HostKernel.call(HostSyscall.GETSID, 0);
        err.flush();
        System.out.flush();
        guest.process().fds().close();
        int nul = (int) HostKernel.call(HostSyscall.OPENAT, -100 /* AT_FDCWD */, DevNull.PATH.address(), 2 /* O_RDWR */, 0);
        if (nul >= 0) {
            for (int std = 0; std <= 2; std++) if (std != nul) HostKernel.call(HostSyscall.DUP3, nul, std, 0);
            if (nul > 2) HostKernel.call(HostSyscall.CLOSE, nul);
        }
        try (java.lang.foreign.Arena a = java.lang.foreign.Arena.ofConfined()) {
            java.lang.foreign.MemorySegment buf = a.allocate(dev.herd.runtime.process.GuestChildren.EXIT_REPORT_SIZE, 4);
            buf.set(java.lang.foreign.ValueLayout.JAVA_INT, 0, returning ? dev.herd.runtime.process.GuestChildren.RETURN_REPORT_MAGIC
                    : dev.herd.runtime.process.GuestChildren.EXIT_REPORT_MAGIC);
            buf.set(java.lang.foreign.ValueLayout.JAVA_INT, 4, status);
            buf.set(java.lang.foreign.ValueLayout.JAVA_INT, 8, group);
            buf.set(java.lang.foreign.ValueLayout.JAVA_INT, 12, session);
            long r;
            do r = HostKernel.call(HostSyscall.SENDTO, fd, buf.address(), dev.herd.runtime.process.GuestChildren.EXIT_REPORT_SIZE,
                    0x4000 /* MSG_NOSIGNAL */, 0, 0);
            while (r == -dev.herd.host.Errno.EINTR);
        }
        // Out of the group only now: until the parent has the report, a wait for the group must
        // find the child there. (A signal to the group in between goes to the exited guest, or
        // is dropped with the rest kept before the next handover.) One that cannot leave ends.
        return returning && HostKernel.call(HostSyscall.SETPGID, 0, 0) == 0;
    }

    /** "/dev/null" for {@link #reportExit}, made at first use: HerdMain's class initialisation runs
     *  before anything else, and a string copied into native memory there was the JVM's first
     *  memory-segment access, whose set-up (var handles, spun classes) then delayed every start. */
    private static final class DevNull {
        static final java.lang.foreign.MemorySegment PATH = java.lang.foreign.Arena.global().allocateFrom("/dev/null");
    }

    private static final int ECONNRESET = 104;

    /** Writes a fork's child pid (4 bytes) to its parent; false if the parent is gone. */
    private static boolean sendPid(int fd, int pid) {
        try (java.lang.foreign.Arena a = java.lang.foreign.Arena.ofConfined()) {
            java.lang.foreign.MemorySegment buf = a.allocate(4, 4);
            buf.set(java.lang.foreign.ValueLayout.JAVA_INT, 0, pid);
            long r;
            do r = HostKernel.call(HostSyscall.SENDTO, fd, buf.address(), 4, 0x4000 /* MSG_NOSIGNAL */, 0, 0);
            while (r == -dev.herd.host.Errno.EINTR);
            if (r == -dev.herd.host.Errno.ENOTSOCK) {
                do r = HostKernel.call(HostSyscall.WRITE, fd, buf.address(), 4); while (r == -dev.herd.host.Errno.EINTR);
            }
            return r == 4;
        }
    }

    /**
     * The host cwd seen from inside the rootfs, or "/" when the cwd is outside it. As the raw bytes
     * of the path (Herd's strings for paths are ISO-8859-1, one char per byte): the JVM's own view
     * of the cwd decodes them with its file-name charset, which turned a cwd such as "tmpæ" into
     * "tmp?" under an ASCII locale (and every later path into ENOENT).
     */
    private static String guestCwd(Path rootfs) {
        String cwd;
        try (java.lang.foreign.Arena a = java.lang.foreign.Arena.ofConfined()) {
            java.lang.foreign.MemorySegment buf = a.allocate(4096);
            long r = HostKernel.call(HostSyscall.GETCWD, buf.address(), 4096);
            if (r <= 0) return "/";
            // The raw call returns the length with the NUL. Copied in bulk: getString reads byte by
            // byte through a var handle, interpreted this early (~2 ms of every start).
            cwd = new String(buf.asSlice(0, r - 1).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE),
                    java.nio.charset.StandardCharsets.ISO_8859_1);
        }
        String root = new String(rootfs.toString().getBytes(), java.nio.charset.StandardCharsets.ISO_8859_1);
        if (root.equals("/")) return cwd;
        if (cwd.equals(root)) return "/";
        return cwd.startsWith(root + "/") ? cwd.substring(root.length()) : "/";
    }

    /**
     * The signals bin/herd's shell found ignored at its start ({@code -Dherd.host.sigign}, a hex
     * mask with bit N-1 for signal N), SIGKILL and SIGSTOP left out; 0 without.
     */
    private static long startIgnored() {
        String hex = System.getProperty("herd.host.sigign");
        if (hex == null) return 0;
        try {
            return Long.parseUnsignedLong(hex.strip(), 16) & ~(Signals.bit(Signals.SIGKILL) | Signals.bit(Signals.SIGSTOP));
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    private static int usage(PrintStream err, String problem) {
        err.println("herd: " + problem);
        err.println(USAGE);
        return USAGE_STATUS;
    }
}
