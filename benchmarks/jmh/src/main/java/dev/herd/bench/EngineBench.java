package dev.herd.bench;

import dev.herd.unicorn.HookHandle;
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
 * The Unicorn binding's hot paths (FFM): a hook firing (an upcall from translated code into Java),
 * batched and single register access (downcalls), and entering the engine.
 *
 * <p>{@code hookUpcall} runs a guest loop of {@value #N} {@code syscall} instructions whose hook
 * (the {@code UC_HOOK_INSN} syscall hook Herd uses) does nothing but count; {@code noHookLoop} is
 * the same loop with a NOP in its place. Their difference per iteration is the upcall's cost
 * (DESIGN fact 9: ~35 ns measured in C harnesses). {@code emuStartEmpty} is one
 * {@code uc_emu_start} that runs a single loop iteration (fact 10: ~4 µs).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class EngineBench {
    static final int N = 10_000;
    /** The registers the syscall path reads: number and six arguments. */
    static final int[] SYSCALL_REGS = {X86Reg.RAX, X86Reg.RDI, X86Reg.RSI, X86Reg.RDX, X86Reg.R10, X86Reg.R8, X86Reg.R9};

    Unicorn engine;
    HookHandle hook;
    long hooks;
    final long[] values = {110, 1, 2, 3, 4, 5, 6};
    final long[] out = new long[7];

    @Setup(Level.Trial)
    public void open() {
        engine = Code.privateEngine();
        hook = engine.hookSyscall(uc -> hooks++);
        engine.regWriteBatch(SYSCALL_REGS, values);
    }

    @TearDown(Level.Trial)
    public void close() {
        engine.close();
    }

    private long run(Code.Routine r, int iterations) {
        engine.regWrite(X86Reg.RBX, iterations);
        engine.emuStart(r.address(), r.end(), 0, 0);
        return hooks;
    }

    @Benchmark
    @OperationsPerInvocation(N)
    public long hookUpcall() { return run(Code.SYSCALL_LOOP, N); }

    @Benchmark
    @OperationsPerInvocation(N)
    public long noHookLoop() { return run(Code.NOP_LOOP, N); }

    @Benchmark
    public long emuStartEmpty() { return run(Code.NOP_LOOP, 1); }

    @Benchmark
    public long[] regReadBatch7() {
        engine.regReadBatch(SYSCALL_REGS, out);
        return out;
    }

    @Benchmark
    public void regWriteBatch7() {
        engine.regWriteBatch(SYSCALL_REGS, values);
    }

    @Benchmark
    public long regRead1() {
        return engine.regRead(X86Reg.RAX);
    }

    @Benchmark
    public void regWrite1() {
        engine.regWrite(X86Reg.RAX, 110);
    }
}
