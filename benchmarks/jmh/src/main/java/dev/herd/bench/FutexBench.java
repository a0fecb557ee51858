package dev.herd.bench;

import dev.herd.futex.GuestFutex;
import dev.herd.memory.GuestAddressSpace;
import dev.herd.memory.GuestMemory;
import dev.herd.memory.MapFlags;
import dev.herd.memory.Prot;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * Guest futexes ({@link GuestFutex}: pointer translation + the host futex on the guest arena).
 *
 * <ul>
 * <li>{@code wakeNoWaiters}: {@code FUTEX_WAKE_PRIVATE} on a word nobody waits on (what an unlock
 *     with a stale "contended" bit costs).</li>
 * <li>{@code pingPongRoundTrip}: two Java threads hand a guest word back and forth with
 *     {@code FUTEX_WAIT_PRIVATE}/{@code FUTEX_WAKE_PRIVATE}, as glibc's mutex/condvar slow paths do;
 *     per round trip (two wakes, up to two sleeps). Compare with the guest workload
 *     {@code condvar_pingpong} (benchmarks/run.sh).</li>
 * </ul>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class FutexBench {
    static final long WORD = Code.DATA, IDLE_WORD = Code.DATA + 0x100;
    static final int WAIT = GuestFutex.FUTEX_WAIT | GuestFutex.FUTEX_PRIVATE_FLAG;
    static final int WAKE = GuestFutex.FUTEX_WAKE | GuestFutex.FUTEX_PRIVATE_FLAG;
    static final VarHandle INT = ValueLayout.JAVA_INT.varHandle();

    GuestAddressSpace as;
    GuestMemory memory;
    MemorySegment word;
    volatile boolean stop;
    Thread partner;

    @Setup(Level.Trial)
    public void setUp() {
        as = GuestAddressSpace.create(1L << 32);
        as.mmap(Code.DATA, Code.DATA_SIZE, Prot.READ | Prot.WRITE, MapFlags.PRIVATE | MapFlags.ANONYMOUS | MapFlags.FIXED, -1, 0);
        memory = as.memory();
        word = memory.segment(WORD, 4, Prot.READ | Prot.WRITE);
        partner = new Thread(() -> {
            while (!stop) {
                while ((int) INT.getVolatile(word, 0L) == 0 && !stop) GuestFutex.futex(memory, WORD, WAIT, 0, 0, 0, 0);
                if (stop) break;
                INT.setVolatile(word, 0L, 0);
                GuestFutex.futex(memory, WORD, WAKE, 1, 0, 0, 0);
            }
        }, "futex-partner");
        partner.setDaemon(true);
        partner.start();
    }

    @TearDown(Level.Trial)
    public void close() throws InterruptedException {
        stop = true;
        INT.setVolatile(word, 0L, 1);
        GuestFutex.futex(memory, WORD, WAKE, 1, 0, 0, 0);
        partner.join(5_000);
        as.close();
    }

    @Benchmark
    public long wakeNoWaiters() {
        return GuestFutex.wake(memory, IDLE_WORD, 1);
    }

    @Benchmark
    public int pingPongRoundTrip() {
        INT.setVolatile(word, 0L, 1);
        GuestFutex.futex(memory, WORD, WAKE, 1, 0, 0, 0);
        int v;
        while ((v = (int) INT.getVolatile(word, 0L)) == 1) GuestFutex.futex(memory, WORD, WAIT, 1, 0, 0, 0);
        return v;
    }
}
