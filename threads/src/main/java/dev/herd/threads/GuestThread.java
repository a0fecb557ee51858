package dev.herd.threads;

import dev.herd.host.HostKernel;
import dev.herd.memory.EngineMemoryView;
import dev.herd.memory.GuestAddressSpace;
import dev.herd.threads.atomics.AtomicSiteFault;
import dev.herd.unicorn.HookFailedException;
import dev.herd.unicorn.UcMemType;
import dev.herd.unicorn.Unicorn;
import dev.herd.unicorn.UnicornException;

/**
 * One guest thread: a Java platform thread driving its own Unicorn engine over the shared address
 * space. Syscalls are handled inside the syscall hook and return straight to the guest; the engine
 * is left ({@code uc_emu_start} returns) only when the thread must: exit, a memory change to
 * apply, a fault, a kick.
 *
 * <p><b>Coherence protocol.</b> {@link SafePointHandshake} (tested with jcstress): the thread
 * announces guest code <em>before</em> reading the address-space version, and a thread that changes
 * memory bumps the version <em>before</em> asking whether others must be kicked, so either this
 * thread sees the new version and syncs, or the changer sees it in guest code and kicks it
 * ({@link GuestThreads#awaitCoherent}).
 *
 * <p>Everything here runs on the thread itself except {@link #kick()}, {@link #requestStop()},
 * {@link #requestExit()} and the state queries, which any thread may call.
 */
public final class GuestThread implements Runnable {
    /** uc_emu_start's "until" address that no guest reaches (not canonical on x86_64 or aarch64). */
    private static final long NO_UNTIL = 0xffff_ffff_ffff_fff0L;

    private final ThreadEnvironment env;
    private final CpuArch arch;
    private final GuestAddressSpace addressSpace;
    private final GuestKernel kernel;
    private final EngineSlot slot;
    private final Unicorn engine;
    private final EngineMemoryView memoryView;
    private final long[] syscallArgs = new long[7];

    private volatile int tid;
    /** Coherence with memory changes by other threads (see {@link SafePointHandshake}). */
    private final SafePointHandshake handshake;
    private volatile boolean exitRequested;
    private volatile boolean stopRequested;
    /** The kernel wants this thread at its safe point ({@link GuestKernel#safePoint}). */
    private volatile boolean attention;
    /** The thread has reached its first instruction or ended: no host call to interrupt then. */
    private volatile boolean running;
    private GuestFault pendingFault;
    private GuestFault.Kind pendingMemoryFaultKind;
    private long pendingMemoryFaultAddress;
    private long pendingMemoryFaultPc;
    /** An instruction the translator could not make a host atomic: its next run is alone (see {@link #runAlone}). */
    private long exclusiveStepAt = -1;
    private volatile Thread javaThread;
    private Object kernelState;

    /**
     * Creates a thread on an engine from the process's pool (or a fresh one), registered in its
     * group; registers must be set (through {@link #engine()}) before {@link #run()}: every
     * register a pooled engine still holds from its previous thread is overwritten by
     * {@link CpuArch#copyThreadState} or {@link CpuArch#initProcessRegisters}.
     */
    public GuestThread(ThreadEnvironment env) {
        this.env = env;
        this.arch = env.arch();
        this.addressSpace = env.addressSpace();
        this.kernel = env.kernel();
        this.handshake = new SafePointHandshake(addressSpace::version);
        this.slot = env.engines().take();
        this.engine = slot.engine;
        this.memoryView = slot.memoryView;
        slot.attach(this, env.group().preciseFaults());
        env.group().add(this, env.gate().concurrent());
    }

    public ThreadEnvironment environment() { return env; }
    public CpuArch arch() { return arch; }
    public Unicorn engine() { return engine; }
    public GuestAddressSpace addressSpace() { return addressSpace; }

    /** Guest TID: the host TID of the Java thread running this guest thread (0 before it runs). */
    public int tid() { return tid; }

    /** The syscall number and arguments of the call in progress (filled by {@link #readSyscall()}). */
    public long[] syscallArgs() { return syscallArgs; }

    /** Reads the current syscall's number and arguments into {@link #syscallArgs()}. */
    public long[] readSyscall() {
        arch.readSyscall(engine, syscallArgs);
        return syscallArgs;
    }

    /** Per-thread state owned by the kernel implementation (e.g. its syscall context). */
    public Object kernelState() { return kernelState; }
    public void kernelState(Object state) { this.kernelState = state; }

    /**
     * Ends this thread at its next safe point (exit, exit_group), interrupting a blocking host
     * syscall if it is in one. Safe from any thread.
     */
    public void requestExit() {
        exitRequested = true;
        stopEngine();
        if (Thread.currentThread() != javaThread) env.interrupter().interrupt(this);
    }

    /**
     * Brings this thread to its safe point soon: out of guest code at the next block, or out of a
     * blocking host syscall (EINTR). The kernel's {@link GuestKernel#safePoint} then runs on the
     * thread. Safe from any thread.
     */
    public void requestSafePoint() {
        attention = true;
        stopEngine();
        // Also when the thread is in guest code now: the engine stop takes effect at the next
        // block, but a syscall instruction in this block may already be on its way into a
        // blocking host call; the interrupter watches until the safe point has run.
        if (Thread.currentThread() != javaThread) env.interrupter().interrupt(this);
    }

    private final java.util.concurrent.ConcurrentLinkedQueue<Runnable> safePointTasks =
            new java.util.concurrent.ConcurrentLinkedQueue<>();

    /**
     * Runs {@code task} on this thread at its next safe point (engine stopped, outside the gate):
     * how other threads change an engine (install a hook, read registers consistently). Safe from
     * any thread; tasks run in submission order, before signal delivery.
     */
    public void runAtSafePoint(Runnable task) {
        safePointTasks.add(task);
        requestSafePoint();
    }

    /** Installs the exact-fault-PC hook on this thread's engine (see EngineSlot); at its safe point. */
    void enablePreciseFaults() {
        runAtSafePoint(slot::enablePreciseFaults);
    }

    /** Whether this thread still owes a safe point (a request not yet taken) and runs. */
    boolean awaitsSafePoint() {
        return running && (attention || exitRequested);
    }

    public boolean exitRequested() { return exitRequested; }

    /** Releases a thread that was created but whose Java thread could not be started. */
    public void abandon() {
        env.group().remove(this);
        env.engines().give(slot);
    }

    /** Makes the engine leave guest code at the next block boundary; safe from any thread. */
    public void requestStop() {
        stopRequested = true;
        stopEngine();
    }

    /**
     * Exact stop at the next block start. Never {@code uc_emu_stop} from another thread: with
     * libunicorn 2.0.1 that resumes at a stale PC and re-executes guest instructions
     * ({@link Unicorn#enableExactStops()}).
     */
    private void stopEngine() {
        try {
            engine.stopAtNextBlock();
        } catch (IllegalStateException closed) {
            // the thread has ended and closed its engine: nothing left to stop
        }
    }

    /** A kick: leave guest code and come back through the safe point (re-syncing memory). */
    void kick() { requestStop(); }

    /** True while the engine may execute guest code with regions older than {@code version}. */
    boolean runsGuestCodeOlderThan(long version) {
        return handshake.mustKick(version);
    }

    @Override
    public void run() {
        boolean failed = false;
        javaThread = Thread.currentThread();
        tid = HostKernel.gettid();
        running = true;
        env.group().started(this);
        try {
            kernel.threadStarted(this);
            loop();
        } catch (Throwable t) {
            failed = true;
            kernel.internalError(this, t instanceof HookFailedException h && h.getCause() != null ? h.getCause() : t);
        } finally {
            running = false;
            handshake.leaveGuest();
            env.gate().leave(this);
            env.group().remove(this);
            // An engine that ended in an internal error may hold a half-done state: close it.
            if (failed) slot.close(); else env.engines().give(slot);
            kernel.threadExited(this);
        }
    }

    private void loop() {
        ExecutionGate gate = env.gate();
        while (!exitRequested) {
            if (attention) {
                attention = false;
                for (Runnable task; (task = safePointTasks.poll()) != null; ) task.run();
                kernel.safePoint(this);
                continue;
            }
            gate.enter(this);
            syncMemory();
            GuestFault fault = null;
            if (!exitRequested) {
                stopRequested = false;
                long pc = engine.regRead(arch.pcRegister());
                try {
                    if (pc == exclusiveStepAt) {
                        exclusiveStepAt = -1;
                        runAlone(pc);
                    } else {
                        engine.emuStart(pc, NO_UNTIL, 0, 0);
                    }
                } catch (HookFailedException e) {
                    throw e;
                } catch (UnicornException e) {
                    fault = pendingFault != null ? pendingFault : faultFromError(e);
                }
                if (pendingMemoryFaultKind != null) {
                    // The engine stopped on the faulting instruction; its PC is exact now.
                    fault = new GuestFault(pendingMemoryFaultKind, pendingMemoryFaultAddress,
                            pendingMemoryFaultPc, -1);
                    pendingMemoryFaultKind = null;
                }
            }
            if (engine.takeExclusiveStep()) {
                // Translator atomics: the engine stopped before an instruction the translator cannot
                // make a host atomic (DESIGN fact 13). Patch it to the trap and re-translate (other
                // engines that meet it stop the same way); one that is not a known atomic site runs
                // as libunicorn does it, atomic only within this engine.
                long at = engine.regRead(arch.pcRegister());
                long operand = engine.takeExclusiveAddress();
                if (operand != 0 && memoryView.mapOnDemand(operand)) {
                    // The operand's region was only not mapped in this engine yet (lazy data
                    // regions): now it is, with its fast-store range, and the instruction runs
                    // again as a host atomic. (Run alone instead, each first touch of another
                    // thread's stack by an aarch64 CAS cost a translation-cache flush: sig_storm.)
                } else if (env.atomics().patchInstruction(at)) {
                    engine.removeCache(at, at + 16);
                } else {
                    exclusiveStepAt = at;
                }
            }
            handshake.leaveGuest();
            gate.leave(this);
            if (fault == null) fault = pendingFault;
            pendingFault = null;
            if (fault != null) {
                // Leave the PC on the faulting instruction, as the kernel reports it.
                engine.regWrite(arch.pcRegister(), fault.pc());
                if (fault.kind() == GuestFault.Kind.INTERRUPT) arch.afterException(engine, fault.vector());
                kernel.fault(this, fault);
            }
        }
    }

    /**
     * Announces guest code (IN_GUEST), then brings this engine's regions and translations up to the
     * address space's current version, in the handshake's order.
     */
    private void syncMemory() {
        ExclusiveSection exclusive = env.group().exclusive();
        for (;;) {
            boolean current = handshake.enterGuest();
            if (exclusive.heldByOther(this)) {
                // Another thread runs an instruction alone: wait outside guest code.
                handshake.leaveGuest();
                exclusive.awaitFree(this);
                continue;
            }
            if (current) return;
            memoryView.sync();
            handshake.synced(memoryView.syncedVersion());
        }
    }

    /**
     * Runs the instruction at {@code pc} -- one the translator could not make a host atomic and no
     * site patcher handles -- while no other guest thread executes guest code, which makes it
     * atomic with respect to all of them (QEMU's cpu_exec_step_atomic under start_exclusive):
     * translated once without translator atomics, one instruction only, and that translation
     * dropped again so that its next execution stops the same way.
     */
    private void runAlone(long pc) {
        env.group().runExclusive(this, () -> {
            engine.passExclusiveStep(pc);
            try {
                engine.emuStart(pc, NO_UNTIL, 0, 1);
            } finally {
                engine.removeCache(pc, pc + 1);
            }
        });
    }

    /** For {@link GuestThreads#runExclusive}: announce guest code, memory synced (the owner, so no wait). */
    void enterGuestCode() {
        while (!handshake.enterGuest()) {
            memoryView.sync();
            handshake.synced(memoryView.syncedVersion());
        }
    }

    void leaveGuestCode() { handshake.leaveGuest(); }

    boolean inGuestCode() { return handshake.inGuest(); }

    void onSyscall() {
        // 2.0.1 keeps executing the block after an invalid access it could not complete; a syscall
        // (or atomic site) at its end must not run on behalf of an instruction that faulted.
        if (pendingMemoryFaultKind != null) return;
        long pc = engine.regRead(arch.pcRegister());
        try {
            if (env.atomics().execute(engine, pc)) return;
        } catch (AtomicSiteFault f) {
            pendingFault = new GuestFault(f.write() ? GuestFault.Kind.WRITE_UNMAPPED : GuestFault.Kind.READ_UNMAPPED,
                    f.address(), pc, -1);
            stopEngine();
            return;
        }
        handshake.leaveGuest();
        env.gate().leave(this);
        try {
            kernel.syscall(this);
        } finally {
            env.gate().enter(this);
            boolean current = handshake.enterGuest();
            if (exitRequested || stopRequested || attention || !current || env.group().exclusive().heldByOther(this)) {
                stopEngine();
            }
        }
    }

    /** Returns true when the access may be retried (a data region mapped on first touch). */
    boolean onInvalidMemory(int type, long address) {
        if ((type == UcMemType.UC_MEM_READ_UNMAPPED || type == UcMemType.UC_MEM_WRITE_UNMAPPED
                || type == UcMemType.UC_MEM_FETCH_UNMAPPED) && memoryView.mapOnDemand(address)) {
            return true;
        }
        // The PC is read here, before the block goes on (2.0.1 completes a block after a store it
        // could not do) and leaves with the next block's PC. For a data access, the load/store
        // helper's note makes it the faulting instruction's; otherwise it is exact only with the
        // precise-faults memory hook (EngineSlot.enablePreciseFaults).
        if (type != UcMemType.UC_MEM_FETCH_UNMAPPED && type != UcMemType.UC_MEM_FETCH_PROT) engine.syncFaultPc(address);
        pendingMemoryFaultKind = switch (type) {
            case UcMemType.UC_MEM_READ_UNMAPPED -> GuestFault.Kind.READ_UNMAPPED;
            case UcMemType.UC_MEM_WRITE_UNMAPPED -> GuestFault.Kind.WRITE_UNMAPPED;
            case UcMemType.UC_MEM_FETCH_UNMAPPED -> GuestFault.Kind.FETCH_UNMAPPED;
            case UcMemType.UC_MEM_READ_PROT -> GuestFault.Kind.READ_PROT;
            case UcMemType.UC_MEM_WRITE_PROT -> GuestFault.Kind.WRITE_PROT;
            default -> GuestFault.Kind.FETCH_PROT;
        };
        pendingMemoryFaultAddress = address;
        pendingMemoryFaultPc = engine.regRead(arch.pcRegister());
        return false;
    }

    void onInterrupt(int intno) {
        long pc = engine.regRead(arch.pcRegister());
        pendingFault = new GuestFault(GuestFault.Kind.INTERRUPT, pc, pc, intno);
        stopEngine();
    }

    private GuestFault faultFromError(UnicornException e) {
        // UC_ERR_INSN_INVALID, and any other engine error without a memory event: the guest cannot
        // continue at this PC, and SIGILL is what Linux gives for code the CPU cannot execute.
        long pc = engine.regRead(arch.pcRegister());
        return new GuestFault(GuestFault.Kind.INVALID_INSTRUCTION, pc, pc, -1);
    }
}
