package dev.herd.bench;

import dev.herd.host.HostKernel;
import dev.herd.host.HostSyscall;
import dev.herd.runtime.launch.LinuxSyscalls;
import dev.herd.runtime.syscall.SyscallDispatcher;
import dev.herd.runtime.arch.x86_64.SyscallNumbersX86_64;
import dev.herd.threads.CpuArch;
import dev.herd.threads.SafePointHandshake;
import dev.herd.threads.atomics.AtomicSites;
import dev.herd.threads.atomics.NoAtomicPatching;
import dev.herd.threads.x86_64.CpuX86_64;
import dev.herd.unicorn.Unicorn;
import dev.herd.unicorn.x86_64.X86Reg;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * Syscall dispatch: the runtime's {@link SyscallDispatcher} over the real syscall table
 * ({@code LinuxSyscalls.table(dev.herd.runtime.loader.ElfFile.Machine.X86_64)}, as {@code GuestLauncher} builds it), for {@code getuid}: a handler that needs no
 * {@code SyscallContext} (getppid's now asks the process: a fork's child answers its parent).
 *
 * <ul>
 * <li>{@code hostGetpid}: the host call alone (JNA {@code HostKernel.call}), the floor.</li>
 * <li>{@code dispatchGetuid}: {@code SyscallDispatcher.dispatch} from Java (table lookup, handler,
 *     host call). No {@code SyscallContext} is built.</li>
 * <li>{@code hookPathGetuid}: a guest loop of {@code mov eax, 102; syscall} whose syscall hook does
 *     what {@code GuestThread.onSyscall} does on the way to the kernel layer: read RIP, ask the
 *     atomic sites (none here), leave the safe-point handshake, read the syscall registers in one
 *     batch ({@code CpuArch.readSyscall}), dispatch, write RAX, re-enter the handshake.
 *     {@code GuestThread.onSyscall} itself is package-private and needs a whole process; what is
 *     left out is the execution gate (a no-op in parallel mode) and {@code LinuxKernel.syscall}'s
 *     bookkeeping around the dispatcher (signal and restart checks).</li>
 * </ul>
 * Compare with the guest workload {@code getppid} in benchmarks/run.sh (whole runtime, ns per
 * iteration) and native getppid (~90-150 ns on the reference machine).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class SyscallBench {
    static final int N = 10_000;
    static final long GETUID = 102;

    SyscallDispatcher dispatcher;
    final long[] args = {GETUID, 0, 0, 0, 0, 0, 0};
    Unicorn engine;
    CpuArch arch;
    AtomicSites atomics;
    SafePointHandshake handshake;
    final long[] regs = new long[7];
    long version = 1;

    @Setup(Level.Trial)
    public void setUp() {
        dispatcher = new SyscallDispatcher(LinuxSyscalls.table(dev.herd.runtime.loader.ElfFile.Machine.X86_64), SyscallNumbersX86_64.INSTANCE.count(),
                SyscallNumbersX86_64.INSTANCE::name, System.err, null);
        arch = new CpuX86_64();
        atomics = NoAtomicPatching.INSTANCE;
        handshake = new SafePointHandshake(() -> version);
        handshake.synced(version);
        engine = Code.privateEngine();
        engine.hookSyscall(uc -> {
            long pc = uc.regRead(X86Reg.RIP);
            if (atomics.execute(uc, pc)) return;
            handshake.leaveGuest();
            arch.readSyscall(uc, regs);
            long result = dispatcher.dispatch(null, regs[0], regs);
            arch.writeSyscallResult(uc, result);
            if (!handshake.enterGuest()) uc.emuStop();
        });
    }

    @TearDown(Level.Trial)
    public void close() {
        engine.close();
    }

    @Benchmark
    public long hostGetpid() {
        return HostKernel.call(HostSyscall.GETPID);
    }

    @Benchmark
    public long dispatchGetuid() {
        return dispatcher.dispatch(null, GETUID, args);
    }

    @Benchmark
    @OperationsPerInvocation(N)
    public long hookPathGetuid() {
        engine.regWrite(X86Reg.RBX, N);
        engine.emuStart(Code.GETUID_LOOP.address(), Code.GETUID_LOOP.end(), 0, 0);
        return regs[0];
    }
}
