package dev.herd.threads;

import dev.herd.host.HostKernel;
import dev.herd.memory.EngineMemoryView;
import dev.herd.memory.GuestAddressSpace;
import dev.herd.unicorn.HookFailedException;
import dev.herd.unicorn.UcHook;
import dev.herd.unicorn.UcMemType;
import dev.herd.unicorn.Unicorn;
import dev.herd.unicorn.UnicornException;

/**
 * One guest thread: a Java platform thread driving its own Unicorn engine over the shared
 * address space. Syscalls are handled inside the syscall hook and return straight to the guest;
 * the engine is left ({@code uc_emu_start} returns) only when the thread must: exit, a mapping
 * change to apply, a fault.
 *
 * <p>Everything here runs on the thread itself except {@link #requestStop()}, which any thread may
 * call.
 */
public final class GuestThread implements Runnable {
    /** uc_emu_start's "until" address that no guest reaches (not canonical on x86_64 or aarch64). */
    private static final long NO_UNTIL = 0xffff_ffff_ffff_fff0L;

    private final CpuArch arch;
    private final GuestAddressSpace addressSpace;
    private final GuestKernel kernel;
    private final Unicorn engine;
    private final EngineMemoryView memoryView;
    private final long[] syscallArgs = new long[7];

    private volatile int tid;
    private volatile boolean exitRequested;
    private volatile boolean stopRequested;
    private GuestFault pendingFault;
    private Object kernelState;

    /**
     * Creates a thread with a fresh engine; registers must be set (through {@link #engine()}) before
     * {@link #run()}. Call on any thread; the engine is then used only by the running thread.
     */
    public GuestThread(CpuArch arch, GuestAddressSpace addressSpace, GuestKernel kernel) {
        this.arch = arch;
        this.addressSpace = addressSpace;
        this.kernel = kernel;
        this.engine = arch.openEngine();
        try {
            this.memoryView = new EngineMemoryView(addressSpace, engine);
            arch.hookSyscalls(engine, this::onSyscall);
            engine.hookMemInvalid(UcHook.UC_HOOK_MEM_INVALID, (uc, type, address, size, value) -> {
                onInvalidMemory(type, address);
                return false;
            });
            engine.hookInterrupt((uc, intno) -> onInterrupt(intno));
        } catch (RuntimeException e) {
            engine.close();
            throw e;
        }
    }

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

    /** Ends this thread once the current syscall returns (exit, or exit_group's own thread). */
    public void requestExit() {
        exitRequested = true;
        engine.emuStop();
    }

    /** Makes the engine leave guest code at the next block boundary; safe from any thread. */
    public void requestStop() {
        stopRequested = true;
        engine.emuStop();
    }

    @Override
    public void run() {
        tid = HostKernel.gettid();
        try {
            kernel.threadStarted(this);
            loop();
        } catch (Throwable t) {
            kernel.internalError(this, t instanceof HookFailedException h && h.getCause() != null ? h.getCause() : t);
        } finally {
            engine.close();
            kernel.threadExited(this);
        }
    }

    private void loop() {
        while (!exitRequested) {
            syncMemory();
            long pc = engine.regRead(arch.pcRegister());
            stopRequested = false;
            try {
                engine.emuStart(pc, NO_UNTIL, 0, 0);
            } catch (HookFailedException e) {
                throw e;
            } catch (UnicornException e) {
                GuestFault fault = pendingFault != null ? pendingFault : faultFromError(e);
                pendingFault = null;
                kernel.fault(this, fault);
                continue;
            }
            if (pendingFault != null) {
                GuestFault fault = pendingFault;
                pendingFault = null;
                kernel.fault(this, fault);
            }
        }
    }

    private void syncMemory() {
        if (memoryView.syncedVersion() != addressSpace.version()) {
            memoryView.sync();
            // With one engine per process today, this engine being in sync means every engine is;
            // the threads layer will replace this with an all-engines barrier.
            addressSpace.releaseDeferred();
        }
    }

    private void onSyscall() {
        kernel.syscall(this);
        if (exitRequested || memoryView.syncedVersion() != addressSpace.version()) engine.emuStop();
    }

    private void onInvalidMemory(int type, long address) {
        long pc = engine.regRead(arch.pcRegister());
        GuestFault.Kind kind = switch (type) {
            case UcMemType.UC_MEM_READ_UNMAPPED -> GuestFault.Kind.READ_UNMAPPED;
            case UcMemType.UC_MEM_WRITE_UNMAPPED -> GuestFault.Kind.WRITE_UNMAPPED;
            case UcMemType.UC_MEM_FETCH_UNMAPPED -> GuestFault.Kind.FETCH_UNMAPPED;
            case UcMemType.UC_MEM_READ_PROT -> GuestFault.Kind.READ_PROT;
            case UcMemType.UC_MEM_WRITE_PROT -> GuestFault.Kind.WRITE_PROT;
            default -> GuestFault.Kind.FETCH_PROT;
        };
        pendingFault = new GuestFault(kind, address, pc, -1);
    }

    private void onInterrupt(int intno) {
        long pc = engine.regRead(arch.pcRegister());
        pendingFault = new GuestFault(GuestFault.Kind.INTERRUPT, pc, pc, intno);
        engine.emuStop();
    }

    private GuestFault faultFromError(UnicornException e) {
        long pc = engine.regRead(arch.pcRegister());
        return new GuestFault(GuestFault.Kind.INVALID_INSTRUCTION, pc, pc, -1);
    }
}
