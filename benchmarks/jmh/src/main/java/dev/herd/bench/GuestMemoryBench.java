package dev.herd.bench;

import dev.herd.memory.GuestAddressSpace;
import dev.herd.memory.GuestMemory;
import dev.herd.memory.MapFlags;
import dev.herd.memory.Prot;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
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
 * Guest-memory accessors ({@link GuestMemory}): every Java access is checked against the mapping
 * table (EFAULT on a bad pointer) and goes through the alias view. {@code rawSegmentReadLong} reads
 * the same word from a segment obtained once (no per-access check), the floor.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class GuestMemoryBench {
    static final long BUF = Code.DATA + 0x1000;
    GuestAddressSpace as;
    GuestMemory memory;
    MemorySegment raw;
    final byte[] page = new byte[4096];
    long value = 42;

    @Setup(Level.Trial)
    public void setUp() {
        as = GuestAddressSpace.create(1L << 32);
        // a few mappings around the one accessed, so the lookup is not trivially the only entry
        int fl = MapFlags.PRIVATE | MapFlags.ANONYMOUS | MapFlags.FIXED;
        for (int i = 0; i < 16; i++) {
            as.mmap(0x10000000L + i * 0x20000L, 0x10000, (i & 1) == 0 ? Prot.READ : Prot.READ | Prot.WRITE, fl, -1, 0);
        }
        as.mmap(Code.DATA, Code.DATA_SIZE, Prot.READ | Prot.WRITE, fl, -1, 0);
        memory = as.memory();
        raw = memory.segment(BUF, 8, Prot.READ);
    }

    @TearDown(Level.Trial)
    public void close() { as.close(); }

    @Benchmark
    public long readLong() { return memory.readLong(BUF); }

    @Benchmark
    public void writeLong() { memory.writeLong(BUF, value++); }

    @Benchmark
    public int readInt() { return memory.readInt(BUF); }

    @Benchmark
    public byte[] read4k() {
        memory.read(BUF, page, 0, page.length);
        return page;
    }

    @Benchmark
    public void write4k() { memory.write(BUF, page, 0, page.length); }

    @Benchmark
    public long rawSegmentReadLong() { return raw.get(ValueLayout.JAVA_LONG, 0); }
}
