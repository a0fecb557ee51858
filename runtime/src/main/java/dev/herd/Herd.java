package dev.herd;

import dev.herd.runtime.launch.GuestLauncher;
import dev.herd.runtime.launch.RunConfig;
import dev.herd.runtime.loader.ExecFormatException;
import dev.herd.runtime.syscall.SyscallDispatcher;
import dev.herd.runtime.syscall.SyscallInterceptors;
import dev.herd.unicorn.HookHandle;
import dev.herd.unicorn.UcHook;
import dev.herd.unicorn.UcMemType;
import dev.herd.unicorn.Unicorn;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * One guest program run under Herd, with the hooks that watch or change it: the public entry point
 * of the embedding API.
 *
 * <pre>{@code
 * try (Herd herd = Herd.builder().program("/bin/busybox", "echo", "hi").build()) {
 *     herd.setSyscall("write", Intercept.ENTER, ev -> System.err.println(ev));
 *     int status = herd.run();
 * }
 * }</pre>
 *
 * <p>A {@code Herd} runs its program once ({@link #run()} or {@link #start()}). Hooks can be added
 * before the start or while the guest runs, from any thread; each returns a
 * {@link HookRegistration} that removes it. Several {@code Herd} instances run independently in one
 * JVM: nothing is shared between them. {@link #close()} stops a run still going and releases its
 * resources.
 */
public final class Herd implements AutoCloseable {
    private final Builder config;
    private final Object lock = new Object();
    private final List<SyscallRegistration> syscallHooks = new ArrayList<>();
    final CopyOnWriteArrayList<ThreadListener> threadListeners = new CopyOnWriteArrayList<>();
    final EngineInstrumentation instrumentation = new EngineInstrumentation();
    private SyscallDispatcher dispatcher;
    private volatile HerdRun run;
    private KernelProxy proxy;
    private boolean closed;

    private Herd(Builder config) {
        this.config = config;
    }

    /** @return a new builder */
    public static Builder builder() {
        return new Builder();
    }

    // ------------------------------------------------------------------ syscalls

    /**
     * Hooks a syscall (Qiling's {@code set_syscall}).
     *
     * @param nameOrNumber Linux name ({@code "openat"}), resolved in the guest's own numbering when
     *                     a run starts (x86_64 and aarch64 number calls differently; a call the
     *                     guest's architecture lacks, such as {@code "open"} on aarch64, never
     *                     fires), or a decimal number ({@code "100000"}), taken as is
     * @param when         before ({@link Intercept#ENTER}), instead of ({@link Intercept#CALL}) or
     *                     after ({@link Intercept#EXIT}) the call
     * @param hook         the hook; runs on the calling guest thread, concurrently on many threads
     * @return a registration that removes the hook
     * @throws IllegalArgumentException for an unknown name
     */
    public HookRegistration setSyscall(String nameOrNumber, Intercept when, SyscallHook hook) {
        int x86Number = Syscalls.number(nameOrNumber); // validates the name (IllegalArgumentException)
        boolean byName = !nameOrNumber.chars().allMatch(Character::isDigit);
        return register(new SyscallRegistration(byName ? nameOrNumber : null, x86Number, when, hook));
    }

    /**
     * Hooks a syscall by number; see {@link #setSyscall(String, Intercept, SyscallHook)}.
     *
     * @param number the guest architecture's syscall number (any non-negative int, also ones Herd
     *               does not implement)
     * @param when   phase
     * @param hook   the hook
     * @return a registration that removes the hook
     */
    public HookRegistration setSyscall(int number, Intercept when, SyscallHook hook) {
        if (number < 0) throw new IllegalArgumentException("negative syscall number " + number);
        return register(new SyscallRegistration(null, number, when, hook));
    }

    private HookRegistration register(SyscallRegistration r) {
        Objects.requireNonNull(r.when);
        Objects.requireNonNull(r.hook);
        synchronized (lock) {
            syscallHooks.add(r);
            if (dispatcher != null) r.attach(dispatcher);
        }
        return r;
    }

    private final class SyscallRegistration implements HookRegistration {
        final String name;  // null: by number
        final int number;
        final Intercept when;
        final SyscallHook hook;
        SyscallInterceptors.Registration live;
        boolean removed;

        SyscallRegistration(String name, int number, Intercept when, SyscallHook hook) {
            this.name = name;
            this.number = number;
            this.when = when;
            this.hook = hook;
        }

        void attach(SyscallDispatcher d) {
            SyscallInterceptors.Phase phase = SyscallInterceptors.Phase.valueOf(when.name());
            int nr = name == null ? number : d.number(name);
            if (nr < 0) return; // the guest's architecture has no such call
            live = d.interceptors().add(nr, phase, call -> {
                HerdRun r = run;
                SyscallEvent ev = new SyscallEvent(r, call, when);
                try {
                    hook.onSyscall(ev);
                } catch (Throwable t) {
                    throw r.hookFailed(call.context().tid(), call.name() + "/" + when, t);
                } finally {
                    ev.invalidate();
                }
            });
        }

        @Override
        public void remove() {
            synchronized (lock) {
                if (removed) return;
                removed = true;
                syscallHooks.remove(this);
                if (live != null) live.close();
            }
        }
    }

    // ------------------------------------------------------------------ engine instrumentation

    /**
     * Calls {@code hook} before every guest instruction in {@code [start, end)}, on every guest
     * thread, including threads created later. Added while the guest runs, it takes effect on each
     * running thread at its next safe point (within a block or a syscall).
     *
     * @param start first address
     * @param end   one past the last address
     * @param hook  the hook
     * @return a registration that removes the hook
     */
    public HookRegistration hookCode(long start, long end, InstructionHook hook) {
        if (Long.compareUnsigned(start, end) >= 0) throw new IllegalArgumentException("empty range");
        Objects.requireNonNull(hook);
        return addEngineHook(new EngineInstrumentation.Spec() {
            @Override
            HookHandle install(Unicorn engine, EngineInstrumentation.EngineState state) {
                return engine.hookCode(start, end - 1, (uc, address, size) -> {
                    if (removed) return;
                    HerdRun r = run;
                    HookContext ctx = new HookContext(EngineInstrumentation.tid(state), r.memory(), uc);
                    try {
                        hook.onInstruction(ctx, address, size);
                    } catch (Throwable t) {
                        throw r.hookFailed(ctx.tid(), "code 0x" + Long.toHexString(address), t);
                    } finally {
                        ctx.invalidate();
                    }
                });
            }

            @Override
            void invalidate(Unicorn engine) {
                EngineInstrumentation.invalidateRange(engine, start, end);
            }
        });
    }

    /**
     * Calls {@code hook} for guest data accesses in {@code [start, end)}, on every guest thread,
     * including threads created later (see {@link MemoryAccessHook} for what it does not see).
     *
     * @param kinds reads, writes or both
     * @param start first address
     * @param end   one past the last address
     * @param hook  the hook
     * @return a registration that removes the hook
     */
    public HookRegistration hookMemory(MemoryAccess kinds, long start, long end, MemoryAccessHook hook) {
        if (Long.compareUnsigned(start, end) >= 0) throw new IllegalArgumentException("empty range");
        Objects.requireNonNull(hook);
        int types = switch (kinds) {
            case READ -> UcHook.UC_HOOK_MEM_READ;
            case WRITE -> UcHook.UC_HOOK_MEM_WRITE;
            case READ_WRITE -> UcHook.UC_HOOK_MEM_READ | UcHook.UC_HOOK_MEM_WRITE;
        };
        return addEngineHook(new EngineInstrumentation.Spec() {
            @Override
            HookHandle install(Unicorn engine, EngineInstrumentation.EngineState state) {
                return engine.hookMem(types, start, end - 1, (uc, type, address, size, value) -> {
                    if (removed) return;
                    HerdRun r = run;
                    HookContext ctx = new HookContext(EngineInstrumentation.tid(state), r.memory(), uc);
                    boolean write = type == UcMemType.UC_MEM_WRITE;
                    try {
                        hook.onAccess(ctx, write, address, size, value);
                    } catch (Throwable t) {
                        throw r.hookFailed(ctx.tid(), (write ? "write 0x" : "read 0x") + Long.toHexString(address), t);
                    } finally {
                        ctx.invalidate();
                    }
                });
            }
        });
    }

    private HookRegistration addEngineHook(EngineInstrumentation.Spec spec) {
        instrumentation.add(spec);
        return () -> instrumentation.remove(spec);
    }

    /**
     * Adds a listener told of every guest thread's start and end. Threads already running when it
     * is added are not reported as started.
     *
     * @param listener the listener
     * @return a registration that removes it
     */
    public HookRegistration addThreadListener(ThreadListener listener) {
        Objects.requireNonNull(listener);
        threadListeners.add(listener);
        return () -> threadListeners.remove(listener);
    }

    // ------------------------------------------------------------------ running

    /**
     * Runs the program to its end.
     *
     * @return the guest's exit status, or 128+N when signal N killed it
     * @throws HookFailedException  when a user hook threw (the run was ended)
     * @throws HerdException        when the program could not be started
     * @throws InterruptedException when the calling thread is interrupted while waiting (the guest
     *                              keeps running; {@link #close()} stops it)
     */
    public int run() throws InterruptedException {
        return start().await();
    }

    /**
     * Starts the program and returns at once.
     *
     * @return the running guest
     * @throws HerdException         when the program could not be started
     * @throws IllegalStateException when already started or closed
     */
    public HerdRun start() {
        synchronized (lock) {
            if (closed) throw new IllegalStateException("closed");
            if (run != null) throw new IllegalStateException("a Herd runs its program once; build another");
        }
        Stdio stdio = Stdio.open(config);
        HerdRun r = new HerdRun(this, stdio);
        RunConfig rc = new RunConfig(config.program, utf8(config.argv), utf8(config.envEntries()), config.rootfs,
                config.guestCwd(), config.mode.internal(), config.strace, stdio.guestIn, stdio.guestOut,
                stdio.guestErr, config.diagnostics);
        KernelProxy kp;
        synchronized (lock) {
            kp = proxy;
        }
        if (kp != null) rc = rc.withProxy(kp.settings());
        GuestLauncher.RunningGuest guest;
        try {
            guest = GuestLauncher.start(rc, kernel -> {
                r.kernel(kernel);
                instrumentation.attach(r);
                kernel.observer(r.observer());
                synchronized (lock) {
                    run = r;
                    dispatcher = kernel.dispatcher();
                    for (SyscallRegistration s : syscallHooks) s.attach(dispatcher);
                }
            });
        } catch (IOException | ExecFormatException | RuntimeException e) {
            stdio.abort();
            synchronized (lock) {
                run = null;
                dispatcher = null;
            }
            throw new HerdException("cannot start " + config.program + ": " + e.getMessage(), e);
        }
        stdio.started();
        r.started(guest);
        return r;
    }

    /** Attaches a kernel proxy (KernelProxy.start). */
    void attachProxy(KernelProxy p) {
        synchronized (lock) {
            checkNotStarted();
            if (proxy != null) throw new IllegalStateException("this Herd has a kernel proxy already");
            proxy = p;
        }
    }

    void checkNotStarted() {
        synchronized (lock) {
            if (closed) throw new IllegalStateException("closed");
            if (run != null) throw new IllegalStateException("the run has started: configure the kernel proxy before");
        }
    }

    /** @return the run started by {@link #start()} or {@link #run()}, or null before */
    public HerdRun currentRun() {
        synchronized (lock) {
            return run;
        }
    }

    /** Stops the run if it is still going (as {@link HerdRun#stop()}) and releases its resources. */
    @Override
    public void close() {
        HerdRun r;
        synchronized (lock) {
            closed = true;
            r = run;
        }
        if (r != null) r.stop();
    }

    private static List<byte[]> utf8(List<String> strings) {
        return strings.stream().map(s -> s.getBytes(StandardCharsets.UTF_8)).toList();
    }

    // ------------------------------------------------------------------ builder

    /** Configures a {@link Herd}. Not thread-safe; {@link #build()} copies what it needs. */
    public static final class Builder {
        Path program;
        List<String> argv;
        List<String> env;
        Path rootfs = Path.of("/");
        String cwd;
        ExecutionMode mode = ExecutionMode.PARALLEL;
        boolean strace;
        PrintStream diagnostics = System.err;
        InputStream stdin;
        OutputStream stdout, stderr;
        int stdinFd = 0, stdoutFd = 1, stderrFd = 2;

        private Builder() {}

        /**
         * The program (a static x86_64 ELF, a host path) and its arguments; argv[0] is {@code path}.
         *
         * @param path host path of the program
         * @param args arguments after argv[0]
         * @return this
         */
        public Builder program(String path, String... args) {
            this.program = Path.of(path);
            List<String> a = new ArrayList<>();
            a.add(path);
            a.addAll(List.of(args));
            this.argv = List.copyOf(a);
            return this;
        }

        /**
         * The program and its full argv (argv[0] included), for an argv[0] other than the path.
         *
         * @param path host path of the program
         * @param argv the guest's argv
         * @return this
         */
        public Builder program(Path path, List<String> argv) {
            this.program = path;
            this.argv = List.copyOf(argv);
            return this;
        }

        /**
         * The guest's root directory (default: the host's {@code /}).
         *
         * @param rootfs a host directory
         * @return this
         */
        public Builder rootfs(Path rootfs) {
            this.rootfs = rootfs.toAbsolutePath().normalize();
            return this;
        }

        /**
         * The guest's environment (default: the JVM's).
         *
         * @param env variables
         * @return this
         */
        public Builder env(Map<String, String> env) {
            List<String> l = new ArrayList<>();
            env.forEach((k, v) -> l.add(k + "=" + v));
            this.env = List.copyOf(l);
            return this;
        }

        /**
         * The guest's environment as {@code NAME=value} entries, in order.
         *
         * @param entries the entries
         * @return this
         */
        public Builder env(List<String> entries) {
            this.env = List.copyOf(entries);
            return this;
        }

        /**
         * The guest's initial working directory, a guest path (default: the JVM's working directory
         * seen from inside the rootfs, or {@code /} when outside it).
         *
         * @param guestPath absolute guest path
         * @return this
         */
        public Builder cwd(String guestPath) {
            this.cwd = guestPath;
            return this;
        }

        /**
         * Parallel (default) or serial execution.
         *
         * @param mode the mode
         * @return this
         */
        public Builder mode(ExecutionMode mode) {
            this.mode = Objects.requireNonNull(mode);
            return this;
        }

        /**
         * Print one line per syscall to the diagnostics stream.
         *
         * @param strace whether to trace
         * @return this
         */
        public Builder strace(boolean strace) {
            this.strace = strace;
            return this;
        }

        /**
         * Where Herd's own messages (warnings, fault reports, strace) go (default: System.err).
         *
         * @param diagnostics the stream
         * @return this
         */
        public Builder diagnostics(PrintStream diagnostics) {
            this.diagnostics = Objects.requireNonNull(diagnostics);
            return this;
        }

        /**
         * The guest reads its stdin from {@code in} (through a pipe fed by a daemon thread; the
         * guest sees EOF when {@code in} ends).
         *
         * @param in the input
         * @return this
         */
        public Builder stdin(InputStream in) {
            this.stdin = Objects.requireNonNull(in);
            return this;
        }

        /**
         * The guest's stdout goes to {@code out} (through a pipe drained by a daemon thread; all of
         * it has been written and flushed when the run's status is available).
         *
         * @param out the output
         * @return this
         */
        public Builder stdout(OutputStream out) {
            this.stdout = Objects.requireNonNull(out);
            return this;
        }

        /**
         * The guest's stderr goes to {@code err}; see {@link #stdout(OutputStream)}.
         *
         * @param err the output
         * @return this
         */
        public Builder stderr(OutputStream err) {
            this.stderr = Objects.requireNonNull(err);
            return this;
        }

        /**
         * The guest's fds 0, 1 and 2 duplicate these host fds (default 0, 1, 2: inherited; -1
         * leaves the guest fd closed). Overridden by the stream versions.
         *
         * @param in  host fd for stdin
         * @param out host fd for stdout
         * @param err host fd for stderr
         * @return this
         */
        public Builder stdioFds(int in, int out, int err) {
            this.stdinFd = in;
            this.stdoutFd = out;
            this.stderrFd = err;
            this.stdin = null;
            this.stdout = null;
            this.stderr = null;
            return this;
        }

        /**
         * @return a new {@link Herd}
         * @throws IllegalStateException when no program was given
         */
        public Herd build() {
            if (program == null) throw new IllegalStateException("no program");
            Builder copy = new Builder();
            copy.program = program;
            copy.argv = argv;
            copy.env = env;
            copy.rootfs = rootfs;
            copy.cwd = cwd;
            copy.mode = mode;
            copy.strace = strace;
            copy.diagnostics = diagnostics;
            copy.stdin = stdin;
            copy.stdout = stdout;
            copy.stderr = stderr;
            copy.stdinFd = stdinFd;
            copy.stdoutFd = stdoutFd;
            copy.stderrFd = stderrFd;
            return new Herd(copy);
        }

        List<String> envEntries() {
            if (env != null) return env;
            List<String> l = new ArrayList<>();
            System.getenv().forEach((k, v) -> l.add(k + "=" + v));
            return l;
        }

        String guestCwd() {
            if (cwd != null) return cwd;
            Path here = Path.of("").toAbsolutePath().normalize();
            if (!here.startsWith(rootfs)) return "/";
            String rel = rootfs.relativize(here).toString();
            return rel.isEmpty() ? "/" : "/" + rel;
        }
    }
}
