package dev.herd.host;

import java.lang.foreign.MemorySegment;
import java.util.ArrayDeque;

/**
 * Scratch memory for host syscall arguments that a kernel proxy must be able to read (translated
 * iovecs and msghdrs, sockaddrs, pollfd arrays, C strings): one memfd mapped {@code MAP_SHARED},
 * handed out in fixed chunks (one per thread that asks, returned when its owner is collected).
 * A proxy maps the same memfd at the same address, so host pointers into it mean the same there.
 *
 * <p>One per JVM: scratch holds no guest state, only the arguments of calls in flight, and two runs
 * in one JVM use disjoint chunks. The area is reserved at {@link #HINT} if that is free (an address
 * far from where either process's loader, heap and thread stacks go, so the proxy finds it free
 * too), else where the kernel puts it.
 */
public final class SharedScratch {
    /** Bytes per chunk. */
    public static final int CHUNK = 256 * 1024;
    private static final int CHUNKS = 1024;
    /** 15 TiB: below the guest arenas' hints, far above the JVM's heap, far below mmap_base. */
    static final long HINT = 15L << 40;

    private static final class Holder {
        static final SharedScratch INSTANCE = new SharedScratch();
    }

    private final int memfd;
    private final long base;
    private final long size = (long) CHUNK * CHUNKS;
    private final ArrayDeque<Long> free = new ArrayDeque<>();
    private int next;

    private SharedScratch() {
        memfd = HostMm.memfdCreate("herd-scratch", HostMm.MFD_CLOEXEC);
        HostMm.ftruncate(memfd, size);
        base = HostMm.mapHinted(HINT, size, HostMm.PROT_READ | HostMm.PROT_WRITE, HostMm.MAP_SHARED | HostMm.MAP_NORESERVE, memfd);
    }

    public static SharedScratch get() { return Holder.INSTANCE; }

    public int memfd() { return memfd; }
    public long base() { return base; }
    public long size() { return size; }

    /** A zero-filled chunk of {@link #CHUNK} bytes, or 0 when all are in use. */
    public synchronized long takeChunk() {
        Long p = free.pollFirst();
        if (p != null) {
            MemorySegment.ofAddress(p).reinterpret(CHUNK).fill((byte) 0);
            return p;
        }
        if (next == CHUNKS) return 0;
        return base + (long) CHUNK * next++;
    }

    public synchronized void returnChunk(long chunk) {
        free.addFirst(chunk);
    }
}
