package dev.herd.runtime.cli;

import dev.herd.memory.ForkedSpace;
import dev.herd.memory.GuestAddressSpace;
import dev.herd.memory.MapFlags;
import dev.herd.memory.Prot;
import dev.herd.runtime.arch.GuestArch;
import dev.herd.runtime.fs.FdTable;
import dev.herd.runtime.launch.GuestArchs;
import dev.herd.runtime.launch.LinuxSyscalls;
import dev.herd.runtime.loader.ElfFile;
import dev.herd.runtime.process.ForkImage;
import dev.herd.runtime.process.SpawnImage;
import dev.herd.signals.SignalAction;
import dev.herd.threads.CpuArch;
import dev.herd.unicorn.Unicorn;

import java.util.Map;

/**
 * What a warm fork spare does before it waits: one pass over the start-up work every fork's child
 * repeats whatever state it receives (the architecture's CPU probes and an engine, a small address
 * space copied and adopted as a fork copies one, an image written and read, the syscall table,
 * an fd table), so that classes are loaded and linked, call sites bound and downcall stubs made
 * before a fork needs them. Measured in docs/BENCHMARKS.md ("Processes"). Best effort: a failure
 * here only leaves the work to the fork.
 */
final class SpareWarmUp {
    private SpareWarmUp() {}

    private static final int ROUNDS = 10, MAPPINGS = 200;

    /**
     * What the warm-up leaves for the fork: the syscall table it built and an engine opened for the
     * child's first thread (each null if its part failed).
     */
    record Ready(dev.herd.runtime.syscall.SyscallTable table, dev.herd.threads.PreparedEngine engine) {}

    /** Warms up; never fails (a failed part leaves its work to the fork). */
    static Ready run(int machineCode) {
        dev.herd.runtime.syscall.SyscallTable table = warmUp(machineCode);
        rehearseRun();
        dev.herd.threads.PreparedEngine engine = null;
        try {
            engine = dev.herd.runtime.launch.GuestLauncher.prepareEngine(machineCode);
        } catch (RuntimeException | LinkageError e) {
            if (System.getenv("HERD_DEBUG") != null) e.printStackTrace();
        }
        // The rounds left the heap grown (G1 starts at 1/64 of the machine's memory and the
        // warm-up touches much of its young generation): a full collection gives it back, so
        // the fork's child, which ends with this JVM, unmaps that much less at its exit.
        // Measured: exit_group to the parent's wait 16 ms -> 5 ms, fork+exit+wait median
        // 36-45 ms -> 30-33 ms (docs/BENCHMARKS.md, "Processes").
        System.gc();
        return new Ready(table, engine);
    }

    /**
     * What a reused spare ({@link SpareRecycling}) gets ready again after a child's run: a new
     * syscall table and engine (the run closed its own); no warm-up, the run was one.
     */
    static Ready prepare(int machineCode) {
        dev.herd.runtime.syscall.SyscallTable table = null;
        dev.herd.threads.PreparedEngine engine = null;
        try {
            table = LinuxSyscalls.table(ElfFile.Machine.of(machineCode));
            engine = dev.herd.runtime.launch.GuestLauncher.prepareEngine(machineCode);
        } catch (RuntimeException | LinkageError e) {
            if (System.getenv("HERD_DEBUG") != null) e.printStackTrace();
        }
        return new Ready(table, engine);
    }

    /** How often {@link #rehearseRun} runs its program. */
    private static final int RUNS = 3;

    /**
     * Runs the host's {@code /bin/true} (dynamically linked: the loader, libc's start-up, a few
     * dozen syscalls, the exit) as a throwaway guest process in this JVM, a few times: a spare's
     * child runs that code first, and in a fresh JVM it is cold (interpreted, classes still to
     * load): /bin/true ran ~40 ms in a new Herd against ~10 ms in a warm one. Nothing of the
     * run stays: the process ends and releases its memory, engines and fds.
     */
    private static void rehearseRun() {
        java.nio.file.Path program = java.nio.file.Path.of("/bin/true");
        if (!java.nio.file.Files.isExecutable(program)) return;
        java.io.PrintStream quiet = new java.io.PrintStream(java.io.OutputStream.nullOutputStream());
        for (int run = 0; run < RUNS; run++) {
            try {
                dev.herd.runtime.launch.RunConfig config = new dev.herd.runtime.launch.RunConfig(program,
                        java.util.List.of(new byte[] {'t', 'r', 'u', 'e'}), java.util.List.of(), java.nio.file.Path.of("/"), "/",
                        dev.herd.threads.ExecutionMode.PARALLEL, false, -1, -1, -1, quiet);
                dev.herd.runtime.launch.GuestLauncher.start(config).exit().get(10, java.util.concurrent.TimeUnit.SECONDS);
            } catch (Exception | LinkageError e) {
                if (System.getenv("HERD_DEBUG") != null) e.printStackTrace();
                return;
            }
        }
    }

    /** Returns the syscall table it built, for the fork to use (null if the warm-up failed). */
    private static dev.herd.runtime.syscall.SyscallTable warmUp(int machineCode) {
        try {
            ElfFile.Machine machine = ElfFile.Machine.of(machineCode);
            GuestArch arch = GuestArchs.of(machine);
            CpuArch cpu = arch.newCpu();
            Unicorn engine = cpu.openEngine();
            byte[] registers;
            try {
                registers = cpu.saveThreadState(engine);
                cpu.restoreThreadState(engine, registers);
            } finally {
                engine.close();
            }
            // Rounds of the per-fork work on a state of a few hundred mappings, so that the JIT
            // compiles its loops and small methods (run once, they stay interpreted: measured
            // ~5 ms to parse a fork's image and ~4 ms for its fds and paths).
            for (int round = 0; round < ROUNDS; round++) {
                try (GuestAddressSpace space = GuestAddressSpace.create(1L << 30)) {
                    for (int i = 0; i < MAPPINGS; i++) {
                        long at = space.mmap(0, 4096, i % 2 == 0 ? Prot.READ | Prot.WRITE : Prot.READ,
                                MapFlags.PRIVATE | MapFlags.ANONYMOUS, -1, 0);
                        if (i % 2 == 0) space.memory().writeInt(at, i);
                    }
                    space.mmap(0, 4096, Prot.READ | Prot.WRITE, MapFlags.SHARED | MapFlags.ANONYMOUS, -1, 0);
                    ForkedSpace copy = space.forkCopy();
                    SignalAction[] actions = new SignalAction[65];
                    java.util.Arrays.fill(actions, SignalAction.DEFAULT);
                    ForkImage image = new ForkImage(machineCode, copy, registers, 0, 0, ForkImage.NO_TLS, 0, 0,
                            new int[] {0, 1, 2}, new int[] {0, 1, 2}, new boolean[3], actions, 0, new long[3], "/", "/", 022,
                            new long[16][2], new byte[0], new byte[0], 0, 0, "warm-up", "/", 0, 0, new byte[512], Map.of(), 1, 1, -1,
                            java.util.List.of());
                    int imageFd = dev.herd.host.HostMm.memfdCreate("herd-warm-up", dev.herd.host.HostMm.MFD_CLOEXEC);
                    try {
                        byte[] bytes = image.toBytes();
                        try (java.lang.foreign.Arena a = java.lang.foreign.Arena.ofConfined()) {
                            java.lang.foreign.MemorySegment buf = a.allocate(bytes.length);
                            java.lang.foreign.MemorySegment.copy(bytes, 0, buf, java.lang.foreign.ValueLayout.JAVA_BYTE, 0, bytes.length);
                            dev.herd.host.HostMm.pwrite(imageFd, buf.address(), bytes.length, 0);
                        }
                        image = ForkImage.fromFd(imageFd);
                        int[] same = new int[image.maxFd() + 1];
                        for (int i = 0; i < same.length; i++) same[i] = i;
                        image = image.withFds(same);
                    } finally {
                        dev.herd.host.HostMm.close(imageFd);
                    }
                    GuestAddressSpace.adopt(image.space()).close();
                }
                new FdTable().close();
                new dev.herd.runtime.fs.PathResolver("/", "/").close();
            }
            // A vfork child's execve may come instead of a fork (ExecSyscalls.spawnInSpare): its
            // state's form, and an image loaded (this JVM's own executable: the loader's paths are
            // the same for any ELF) with its initial stack.
            for (int round = 0; round < ROUNDS; round++) {
                SpawnImage spawn = new SpawnImage("/x", 3, java.util.List.of(new byte[] {'x'}), java.util.List.of(new byte[] {'x'}),
                        new byte[] {'/'}, "/", 022, new long[16][2], 0, 0, 1, 1, new int[] {0, 1, 2}, new int[] {0, 1, 2}, false, -1);
                SpawnImage.fromBytes(spawn.toBytes()).withFds(new int[] {0, 1, 2, 3}).hostFdOf(2);
            }
            dev.herd.runtime.launch.GuestLauncher.rehearseImageLoad(java.nio.file.Path.of("/proc/self/exe"));
            dev.herd.runtime.syscall.SyscallTable table = LinuxSyscalls.table(machine);
            // The spare's first act on a fork's message is a pass over its threads' policy: made
            // here with a pid that cannot exist (nothing changes), its handle and call path cost
            // 1-2 ms on the fork's path when first made there (measured with HERD_STARTUP_TRACE).
            dev.herd.runtime.process.SpareScheduling.allThreads(-1, dev.herd.runtime.process.SpareScheduling.SCHED_OTHER);
            return table;
        } catch (Exception | LinkageError e) {
            if (System.getenv("HERD_DEBUG") != null) e.printStackTrace();
            return null;
        }
    }
}
