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
        int fd = -1;
        long at = 0;
        try {
            fd = HostMm.memfdCreate("herd-scratch", HostMm.MFD_CLOEXEC);
            HostMm.ftruncate(fd, size);
            at = HostMm.mapHinted(HINT, size, HostMm.PROT_READ | HostMm.PROT_WRITE, HostMm.MAP_SHARED | HostMm.MAP_NORESERVE, fd);
        } catch (ErrnoException e) {
            // e.g. a file-size limit (ulimit -f) below the area: threads use private scratch
            // memory, and a kernel proxy cannot start
            if (fd >= 0) HostMm.close(fd);
            fd = -1;
            at = 0;
        }
        memfd = fd;
        base = at;
    }

    /** False when the area could not be made (then no chunk is handed out). */
    public boolean available() { return base != 0; }

    /** True when [address, address + length) lies inside the area. */
    public boolean contains(long address, long length) {
        return base != 0 && address >= base && length >= 0 && address + length <= base + size;
    }

    public static SharedScratch get() { return Holder.INSTANCE; }

    public int memfd() { return memfd; }
    public long base() { return base; }
    public long size() { return size; }

    /** A zero-filled chunk of {@link #CHUNK} bytes, or 0 when all are in use. */
    public synchronized long takeChunk() {
        if (base == 0) return 0;
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
