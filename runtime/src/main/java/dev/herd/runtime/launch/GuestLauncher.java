package dev.herd.runtime.launch;

import dev.herd.memory.GuestAddressSpace;
import dev.herd.proxy.ProxyProcess;
import dev.herd.proxy.ProxyStartException;
import dev.herd.runtime.fs.FdTable;
import dev.herd.host.Errno;
import dev.herd.host.ErrnoException;
import dev.herd.host.HostKernel;
import dev.herd.host.HostSyscall;
import dev.herd.runtime.fs.ExecFiles;
import dev.herd.runtime.fs.PathResolver;
import dev.herd.runtime.loader.ElfFile;
import dev.herd.runtime.loader.ElfLoader;
import dev.herd.runtime.loader.ExecFormatException;
import dev.herd.runtime.process.ChildHerd;
import dev.herd.runtime.process.ForkImage;
import dev.herd.runtime.process.ResourceLimits;
import dev.herd.runtime.process.ProcessBudget;
import dev.herd.signals.SignalAction;
import dev.herd.signals.Signals;
import dev.herd.runtime.loader.LoadedImage;
import dev.herd.runtime.loader.StartState;
import dev.herd.runtime.process.GuestChildren;
import dev.herd.runtime.process.GuestProcess;
import dev.herd.runtime.process.LinuxKernel;
import dev.herd.runtime.process.ProcessExit;
import dev.herd.runtime.syscall.Strace;
import dev.herd.runtime.syscall.SyscallContext;
import dev.herd.runtime.syscall.SyscallDispatcher;
import dev.herd.runtime.arch.GuestArch;
import dev.herd.threads.CpuArch;
import dev.herd.memory.Mapping;
import dev.herd.memory.Prot;
import dev.herd.runtime.signal.SignalDelivery;
import dev.herd.threads.EnginePool;
import dev.herd.threads.HostCallInterrupter;
import dev.herd.threads.ExecutionGate;
import dev.herd.threads.ExecutionMode;
import dev.herd.threads.GuestThread;
import dev.herd.threads.PreparedEngine;
import dev.herd.threads.SerialGate;
import dev.herd.threads.ThreadEnvironment;
import dev.herd.threads.atomics.AtomicSites;
import dev.herd.threads.atomics.NoAtomicPatching;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;

/**
 * Assembles a guest process from a {@link RunConfig}: address space, loaded image, initial stack,
 * fds, filesystem view, syscall dispatcher, and its first thread on a new platform thread.
 */
public final class GuestLauncher {
    private GuestLauncher() {}

    /**
     * The smallest guest space Herd starts with, when a file-size limit forces one below the
     * default (the space lives in one memfd whose size the limit caps).
     */
    private static final long MIN_SPACE_SIZE = 1L << 30;


    /** A started guest process. {@link #exit()} completes when it has ended. */
    public record RunningGuest(GuestProcess process, Thread mainThread, CompletableFuture<ProcessExit> exit,
                               CompletableFuture<Integer> started) {}

    public static RunningGuest start(RunConfig config) throws IOException, ExecFormatException {
        return start(config, null);
    }

    /**
     * Like {@link #start(RunConfig)}, calling {@code beforeStart} with the process's kernel once
     * everything is assembled and before the first guest thread starts (where the embedding API
     * registers syscall interceptors and its thread observer).
     */
    public static RunningGuest start(RunConfig config, java.util.function.Consumer<LinuxKernel> beforeStart)
            throws IOException, ExecFormatException {
        return start(config, beforeStart, null, null, null);
    }

    /**
     * As {@link #start(RunConfig, java.util.function.Consumer)} in a warm fork spare that runs a
     * vfork child's new image: its first thread is {@code slot}'s (whose id the parent already has
     * as the pid), with the spare's syscall table and prepared engine (null: made now).
     */
    public static RunningGuest start(RunConfig config, java.util.function.Consumer<LinuxKernel> beforeStart,
                                     MainThreadSlot slot, dev.herd.runtime.syscall.SyscallTable table, PreparedEngine engine)
            throws IOException, ExecFormatException {
        // After an execve the parent hands over the image it checked as an open fd: reading it by
        // name again would let the guest swap the file (or a directory on its path) in between.
        int imageFd = config.inherited().programFd();
        Path imageFile = imageFd >= 0 ? Path.of(PathResolver.procFd(imageFd)) : config.program();
        GuestAddressSpace space = null;
        FdTable fds = null;
        PathResolver paths = null;
        try {
            ElfFile elf = ElfFile.read(imageFile);
            dev.herd.host.StartupTrace.mark("ELF header read");
            long spaceSize = GuestAddressSpace.sizeWithinFileLimit(GuestAddressSpace.DEFAULT_SIZE);
            if (spaceSize < MIN_SPACE_SIZE) {
                throw new ExecFormatException("the file-size limit (ulimit -f) leaves no room for guest memory: Herd's "
                        + "memory file needs at least " + (MIN_SPACE_SIZE >> 20) + " MiB");
            }
            space = GuestAddressSpace.create(spaceSize);
            dev.herd.host.StartupTrace.mark("guest address space created");
            paths = new PathResolver(config.rootfs(), config.cwd());
            // After a parent Herd's execve in a chroot: the same guest root, found confined again.
            if (!config.inherited().chroot().equals("/")) {
                try {
                    paths.chrootTo(config.inherited().chroot());
                } catch (ErrnoException e) {
                    throw new IOException("the guest's root " + config.inherited().chroot() + ": " + Errno.describe(e.errno()));
                }
            }
            LoadedImage image;
            try {
                image = load(space, elf, imageFile, paths);
            } finally {
                if (imageFd >= 0) HostKernel.call(HostSyscall.CLOSE, imageFd);
            }
            dev.herd.host.StartupTrace.mark("ELF loaded");
            if (dev.herd.host.StartupTrace.enabled()) {
                dev.herd.unicorn.Unicorn.version();
                dev.herd.host.StartupTrace.mark("libunicorn loaded (FFM binding)");
            }
            GuestArch guestArch = GuestArchs.of(image.machine());
            CpuArch arch = guestArch.newCpu();
            dev.herd.host.StartupTrace.mark("CPU probes (exception latch, CPUID)");
            StartState start = guestArch.initialStack(space, image, arch)
                    .argvBytes(config.argv())
                    .envBytes(config.env())
                    .execFn(config.argv().isEmpty() ? config.program().toString()
                            : new String(config.argv().getFirst(), java.nio.charset.StandardCharsets.UTF_8))
                    .build();
            dev.herd.host.StartupTrace.mark("initial stack built");
            fds = FdTable.withStdio(config.stdin(), config.stdout(), config.stderr());
            // After a parent Herd's execve: its guest fds (see ExecSyscalls).
            int[] inheritedFds = config.inherited().fds(), inheritedHost = config.inherited().hostFds();
            for (int i = 0; i < inheritedFds.length; i++) fds.installAt(inheritedFds[i], inheritedHost[i], false);
            GuestProcess process = new GuestProcess(guestArch, space, fds, paths, config.program().toAbsolutePath().toString());
            // execve keeps the umask and the resource limits (a parent Herd's execve passes them).
            if (config.inherited().umask() >= 0) paths.umask(config.inherited().umask());
            long[][] limits = config.inherited().rlimits();
            for (int r = 0; limits != null && r < limits.length && r < ResourceLimits.COUNT; r++) {
                try {
                    process.limits().set(r, limits[r][0], limits[r][1]);
                } catch (ErrnoException ignored) {
                    // above the host's hard limit: the host's stays (the parent could not exceed it either)
                }
            }
            process.startState(start.argvAddress(), start.envpAddress(), start.auxvBytes());
            if (config.inherited().parentPid() != 0) process.parent(config.inherited().parentPid(), config.inherited().parentHostPid());
            return launch(config, guestArch, arch, space, fds, paths, process, beforeStart,
                    new NewImageFirstThread(config.inherited().blocked(), arch, start.pc(), start.stackPointer()), null, slot, table, engine);
        } catch (IOException | ExecFormatException | RuntimeException e) {
            if (fds != null) fds.close();
            if (paths != null) paths.close();
            if (space != null) space.close();
            throw e;
        }
    }

    /** Loads {@code elf} (read from {@code file}) and its interpreter, found in {@code paths}, into {@code space}. */
    private static LoadedImage load(GuestAddressSpace space, ElfFile elf, Path file, PathResolver paths)
            throws IOException, ExecFormatException {
        List<Integer> loaderFds = new ArrayList<>();
        try {
            return ElfLoader.load(space, elf, file, interp -> ExecFiles.openInterpreter(paths, interp, loaderFds));
        } finally {
            for (int fd : loaderFds) HostKernel.call(HostSyscall.CLOSE, fd);
        }
    }

    /**
     * A warm fork spare's rehearsal of {@link #start}'s image set-up (a vfork child's execve may
     * come to it): {@code file} and its interpreter loaded into a throwaway address space and an
     * initial stack built, so that the loader's classes are loaded and its code warm (the first
     * load in a JVM took ~11 ms for /bin/true, measured with HERD_STARTUP_TRACE).
     */
    public static void rehearseImageLoad(Path file) throws IOException, ExecFormatException {
        ElfFile elf = ElfFile.read(file);
        try (GuestAddressSpace space = GuestAddressSpace.create(MIN_SPACE_SIZE);
             PathResolver paths = new PathResolver(Path.of("/"), "/")) {
            LoadedImage image = load(space, elf, file, paths);
            GuestArch guestArch = GuestArchs.of(image.machine());
            guestArch.initialStack(space, image, guestArch.newCpu()).argvBytes(List.of(new byte[] {'x'}))
                    .envBytes(List.of(new byte[] {'x', '=', 'y'})).execFn("x").build();
        }
    }

    /**
     * A new image's first thread: the mask of the thread that called execve (it survives the
     * exec), the registers at the entry point. A class, not a lambda: a lambda's first use spins a
     * class (~1-4 ms), and in a warm spare that runs a vfork child's execve it is after the handoff.
     */
    private record NewImageFirstThread(long blocked, CpuArch arch, long pc, long sp) implements FirstThread {
        @Override
        public void accept(GuestThread main, SyscallContext ctx) {
            if (blocked != 0) ctx.signals().setBlocked(blocked);
            arch.initProcessRegisters(main.engine(), pc, sp);
        }
    }

    /**
     * A fork's child process from its {@link ForkImage}: the parent's copy of memory and mapping
     * table, the guest fds waiting at their numbers, the process state of the image, and one
     * thread with the forking thread's registers, whose fork returns 0. {@code config} gives the
     * run's options (rootfs, mode, tracing, proxy, diagnostics); its program is the parent's.
     * {@code engine}: the first thread's engine, opened by a warm spare before the fork
     * ({@link #prepareEngine}; null: opened now).
     */
    public static RunningGuest startForked(RunConfig config, ForkImage image,
                                           java.util.function.Consumer<LinuxKernel> beforeStart, MainThreadSlot slot,
                                           dev.herd.runtime.syscall.SyscallTable table, PreparedEngine engine)
            throws IOException {
        GuestAddressSpace space = null;
        FdTable fds = null;
        PathResolver paths = null;
        try {
            GuestArch guestArch = GuestArchs.of(ElfFile.Machine.of(image.machine()));
            space = GuestAddressSpace.adopt(image.space());
            dev.herd.host.StartupTrace.mark("fork: memory adopted");
            CpuArch arch = guestArch.newCpu();
            paths = new PathResolver(config.rootfs(), image.cwd());
            if (!image.chroot().equals("/")) paths.chrootTo(image.chroot());
            paths.umask(image.umask());
            fds = new FdTable();
            for (int i = 0; i < image.guestFds().length; i++) {
                int host = image.hostFds()[i];
                if (host <= 2) {
                    // This JVM's own stdio stays its own (Herd's report lines go to its stderr):
                    // the guest closing or replacing its fd 2 must not close or replace it.
                    int copy = (int) HostKernel.call(HostSyscall.FCNTL, host, 1030 /* F_DUPFD_CLOEXEC */, 3);
                    if (copy < 0) throw new ErrnoException(-copy);
                    host = copy;
                }
                fds.installAt(image.guestFds()[i], host, image.cloexec()[i]);
            }
            GuestProcess process = new GuestProcess(guestArch, space, fds, paths, image.exePath());
            process.sysvShm().restore(image.sysvShm());
            process.startState(image.argv(), image.envp(), image.auxv());
            process.parent(image.parentPid(), image.parentHostPid());
            for (int r = 0; r < image.rlimits().length && r < ResourceLimits.COUNT; r++) {
                try {
                    process.limits().set(r, image.rlimits()[r][0], image.rlimits()[r][1]);
                } catch (ErrnoException ignored) {
                    // a limit above the host's hard one: the host's stays (the parent could not exceed it either)
                }
            }
            if (image.hostname() != null) process.uts().hostname(image.hostname());
            if (image.domainname() != null) process.uts().domainname(image.domainname());
            process.clock().realtimeOffsetNanos(image.clockOffset());
            process.personality(image.personality());
            for (int sig = 1; sig < image.actions().length && sig <= Signals.MAX; sig++) {
                if (sig != Signals.SIGKILL && sig != Signals.SIGSTOP) process.signals().actions().set(sig, image.actions()[sig]);
            }
            return launch(config, guestArch, arch, space, fds, paths, process, beforeStart, new ForkedFirstThread(image, arch),
                    image.atomicSites(), slot, table, engine);
        } catch (RuntimeException e) {
            if (fds != null) fds.close();
            if (paths != null) paths.close();
            if (space != null) space.close();
            if (e instanceof ErrnoException errno) {
                throw new IOException("cannot set up the forked process: " + Errno.describe(errno.errno()));
            }
            throw e;
        }
    }

    /** Sets up the first thread's registers and kernel state before it starts. */
    private interface FirstThread {
        void accept(GuestThread main, SyscallContext context);
    }

    /**
     * A fork's child's first thread: the forking thread's mask, altstack, comm, tid addresses and
     * registers, with fork's result 0. A class, not a lambda: a lambda's first use spins a class
     * (~1-4 ms), and this one's first use is in every fork's child, after the fork.
     */
    private record ForkedFirstThread(ForkImage image, CpuArch arch) implements FirstThread {
        @Override
        public void accept(GuestThread main, SyscallContext ctx) {
            ctx.signals().setBlocked(image.blocked());
            ctx.signals().restoreAltStack(image.altStack()[0], image.altStack()[1], (int) image.altStack()[2]);
            ctx.initialComm(image.comm());
            if (image.clearChildTid() != 0) ctx.clearChildTid(image.clearChildTid());
            ctx.tidTargets(image.setChildTid(), 0);
            arch.restoreThreadState(main.engine(), image.registers());
            main.engine().regWrite(arch.pcRegister(), image.resumePc());
            arch.writeSyscallResult(main.engine(), 0);
            if (image.stack() != 0) main.engine().regWrite(arch.spRegister(), image.stack());
            if (image.tls() != ForkImage.NO_TLS) arch.setThreadPointer(main.engine(), image.tls());
        }
    }

    /**
     * Whether this process's engines translate atomics as host atomics (DESIGN fact 13): not when
     * the library's own atomics are atomic, and only where the translator wrapper works.
     */
    private static boolean translatorAtomics() {
        return !AtomicSupport.engineAtomicsAreAtomic() && AtomicSupport.translatorAtomics();
    }

    /**
     * An engine for a future fork's child of machine {@code machineCode} (a warm spare makes it
     * while it waits; {@link #startForked} gives it to the child's first thread), opened as this
     * launcher would open it.
     */
    public static PreparedEngine prepareEngine(int machineCode) {
        return PreparedEngine.open(GuestArchs.of(ElfFile.Machine.of(machineCode)).newCpu(), translatorAtomics());
    }

    /**
     * The part of a launch after the process exists: child Herd description, signals, syscall
     * dispatch, kernel proxy, atomics, engines, and the first thread. {@code forkSites}: a fork's
     * patched atomic sites (null: scan the executable mappings instead); {@code slot}: the thread
     * that runs the first guest thread (null: a new one); {@code table}: the syscall table a warm
     * fork spare built while it waited (null: build it).
     */
    private static RunningGuest launch(RunConfig config, GuestArch guestArch, CpuArch arch, GuestAddressSpace space,
                                       FdTable fds, PathResolver paths, GuestProcess process,
                                       java.util.function.Consumer<LinuxKernel> beforeStart, FirstThread firstThread,
                                       java.util.Map<Long, byte[]> forkSites, MainThreadSlot slot,
                                       dev.herd.runtime.syscall.SyscallTable table, PreparedEngine engine) {
        String childRootfs = config.rootfs().toString();
        boolean childSerial = config.mode() == ExecutionMode.SERIAL, childStrace = config.strace();
        ProcessBudget budget = config.inherited().budgetFd() >= 0 ? ProcessBudget.adopt(config.inherited().budgetFd())
                : ProcessBudget.create();
        process.budget(budget);
        process.childHerd(() -> ChildHerd.ofThisJvm(childRootfs, childSerial, childStrace, childProxyOptions(process, config)));
        for (int sig = 1; sig <= Signals.MAX; sig++) {
            if ((config.inherited().ignored() & Signals.bit(sig)) != 0 && sig != Signals.SIGKILL && sig != Signals.SIGSTOP) {
                process.signals().actions().set(sig, new SignalAction(SignalAction.SIG_IGN, 0, 0, 0));
            }
        }
        fds.setLimit(process.limits().openFilesLimit(FdTable.NR_OPEN));
        dev.herd.host.StartupTrace.mark("process state (fds, signals)");
        Strace strace = config.strace() ? new Strace(config.diagnostics()) : null;
        SyscallDispatcher dispatcher = new SyscallDispatcher(table != null ? table : LinuxSyscalls.table(guestArch.machine()),
                guestArch.numbering().count(),
                guestArch.numbering()::name, config.diagnostics(), strace);
        ProxyProcess proxy = config.proxy() == null ? null : startProxy(config, space, fds, dispatcher);
        SignalDelivery delivery = new SignalDelivery(process, guestArch.signalFrames(space), config.diagnostics());
        process.delivery(delivery);
        process.children().onExit(info -> {
            // A child's stop or continue signals nothing when SIGCHLD's action has SA_NOCLDSTOP.
            boolean job = info.code() == GuestChildren.CLD_STOPPED || info.code() == GuestChildren.CLD_CONTINUED;
            if (!job || (process.signals().actions().get(Signals.SIGCHLD).flags() & Signals.SA_NOCLDSTOP) == 0) {
                delivery.send(null, info);
            }
        });
        LinuxKernel kernel = new LinuxKernel(process, dispatcher, delivery, config.diagnostics());
        dev.herd.host.StartupTrace.mark("syscall table and kernel");
        boolean serial = config.mode() == ExecutionMode.SERIAL;
        // Serial mode runs one engine at a time, so guest atomics are atomic within the process
        // without patching; in parallel mode a libunicorn that is atomic already needs none, and
        // translator atomics (DESIGN fact 13) patch only what the translator cannot do. Both modes
        // use translator atomics where they work: an engine translates atomics as plain accesses
        // until the memory is reached from elsewhere at once (GuestAddressSpace.concurrentAccess:
        // a second thread in parallel mode, in either mode a writable shared mapping that another
        // process may use too).
        boolean translatorAtomics = translatorAtomics();
        AtomicSites atomics = (serial && !AtomicSupport.forced()) || AtomicSupport.engineAtomicsAreAtomic()
                ? new NoAtomicPatching() : guestArch.sitePatcher(space, translatorAtomics);
        if (atomics == null) {
            // This architecture has no site patcher: without translator atomics its atomics
            // are exact only when one engine runs at a time.
            if (!translatorAtomics && !serial) {
                config.diagnostics().println("herd: warning: no atomics across engines for " + guestArch.name()
                        + " guests with this libunicorn: running in serial mode");
                serial = true;
            }
            atomics = new NoAtomicPatching();
        }
        ExecutionGate gate = serial ? new SerialGate() : ExecutionGate.parallel();
        dev.herd.host.StartupTrace.mark(atomics instanceof NoAtomicPatching ? "atomic self-test (answer: no patching)"
                : translatorAtomics ? "atomic self-test (answer: translator atomics)" : "atomic self-test (answer: patching)");
        if (forkSites == null) {
            for (Mapping m : space.mappings()) {
                if ((m.prot() & Prot.EXEC) != 0) atomics.scan(m.start(), m.end());
            }
        } else {
            // A fork's memory holds its parent's patches: the same sites, patched again from
            // their original bytes, so that this patcher knows them.
            for (var site : forkSites.entrySet()) {
                space.writeIgnoringProtection(site.getKey(), site.getValue(), 0, site.getValue().length);
                atomics.patchInstruction(site.getKey());
            }
        }
        dev.herd.host.StartupTrace.mark("atomic-site scan of executable mappings");
        EnginePool engines = new EnginePool(arch, space, EnginePool.DEFAULT_CAPACITY, translatorAtomics, engine);
        HostCallInterrupter interrupter = new HostCallInterrupter();
        ThreadEnvironment threads = new ThreadEnvironment(arch, space, kernel, process.threads(), gate, atomics,
                engines, interrupter);
        if (beforeStart != null) beforeStart.accept(kernel);
        GuestThread main = new GuestThread(threads);
        dev.herd.host.StartupTrace.mark("first engine created");
        SyscallContext mainContext = new SyscallContext(process, main);
        main.kernelState(mainContext);
        firstThread.accept(main, mainContext);
        process.threadCreated();
        FdTable ownedFds = fds;
        PathResolver ownedPaths = paths;
        ProxyProcess ownedProxy = proxy;
        CompletableFuture<ProcessExit> exit = process.exitFuture().whenComplete((how, err) -> {
            process.timers().close();
            delivery.signalFds().close();
            gate.close();
            interrupter.close();
            engines.close();
            ownedFds.close();
            ownedPaths.close();
            // The children first: once closed, no child comes back as a spare.
            process.children().close();
            process.forkSpares().close();
            budget.release();
            budget.close();
            if (ownedProxy != null) ownedProxy.close();
        });
        dev.herd.host.StartupTrace.mark("registers set");
        Thread t = slot != null ? slot.start(main) : Thread.ofPlatform().name("guest-main").start(main);
        return new RunningGuest(process, t, exit, mainContext.started());
    }

    /** The proxy options of a child Herd (an execve's new image): this run's, sharing its network. */
    private static List<String> childProxyOptions(GuestProcess process, RunConfig config) {
        dev.herd.proxy.ProxyHost host = process.fds().sides().proxy();
        if (config.proxy() == null || host == null) return List.of();
        return config.proxy().childOptions(host.pid());
    }

    /**
     * Starts the run's kernel proxy over this address space and forwards the chosen calls to it.
     * A proxy that cannot start ends the launch with its one-line reason ({@link ProxyStartException}).
     */
    private static ProxyProcess startProxy(RunConfig config, GuestAddressSpace space, FdTable fds, SyscallDispatcher dispatcher) {
        ProxySettings settings = config.proxy();
        ProxyProcess proxy = settings.joinNetworkOf() > 0
                ? ProxyProcess.startJoining(space.memfd(), space.hostBase(), space.size(), settings.joinNetworkOf(),
                        HostCallInterrupter.SIGNAL, config.diagnostics())
                : ProxyProcess.start(space.memfd(), space.hostBase(), space.size(), settings.network(),
                        HostCallInterrupter.SIGNAL, config.diagnostics());
        fds.sides().proxy(proxy.host(), proxy.pid());
        // The proxy maps all of the memfd read-write; from here on it has Herd's host protection,
        // so a forwarded call faults on a bad guest pointer exactly as a local one.
        dev.herd.proxy.ProxyHost host = proxy.host();
        space.mirrorHostView((address, length, prot) -> host.call(HostSyscall.MPROTECT, address, length, prot));
        for (ProxySettings.Forward f : config.proxy().forwards()) {
            String problem;
            try {
                problem = dispatcher.forward(f.name(), f.returnsFd(), proxy.host()) || !f.required() ? null
                        : "no such syscall for this architecture";
            } catch (IllegalArgumentException e) {
                problem = e.getMessage();
            }
            if (problem != null) {
                proxy.close();
                throw new ProxyStartException("herd: cannot forward " + f.name() + ": " + problem);
            }
        }
        dev.herd.host.StartupTrace.mark("kernel proxy started");
        return proxy;
    }

}
