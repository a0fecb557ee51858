package dev.herd.memory;

import dev.herd.host.ErrnoException;
import dev.herd.host.HostMm;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * The host side of the guest address space: one memfd of {@code size} bytes, mapped
 * {@code MAP_SHARED} twice: the guest view at {@code hostBase} (guest g = host hostBase+g = memfd
 * offset g; protection mirrors the guest's) and a read-write alias view used for Herd's own
 * accesses. No policy: {@link GuestAddressSpace} decides what to call when.
 */
final class HostArena implements AutoCloseable {
    static final long PAGE = HostMm.PAGE_SIZE;

    /**
     * Inaccessible host address space right behind the guest view (reserved, never backed): a host
     * syscall given a guest buffer that runs past the end of the guest space faults there instead
     * of reaching whatever the JVM mapped next, in whatever order the kernel touches the buffer.
     * 4 GiB covers every single copy Linux makes (read/write-style calls clamp to MAX_RW_COUNT,
     * just under 2 GiB); {@link GuestMemory#hostPointer} refuses longer overruns itself.
     */
    static final long GUARD = 4L << 30;

    /** 16 TiB: above the JVM's heap, far below where mmap_base and thread stacks go. */
    static final long PROXY_HINT = 16L << 40;

    final long size;
    final int memfd;
    final long hostBase;
    final long aliasBase;
    /** Read-write alias of the whole memfd; never faults (memfd is ftruncated to size). */
    final MemorySegment alias;
    /** The guest view; only safe where the host protection allows the access. */
    final MemorySegment guestView;
    private boolean closed;
    /**
     * Scope of both views: closed before the host mappings go away, so that an access racing with
     * (or following) close fails with IllegalStateException instead of touching unmapped memory.
     * A shared arena's close waits until no thread is inside an access (a handshake).
     */
    private final Arena scope = Arena.ofShared();

    private HostArena(long size, int memfd, long hostBase, long aliasBase) {
        this.size = size;
        this.memfd = memfd;
        this.hostBase = hostBase;
        this.aliasBase = aliasBase;
        this.alias = MemorySegment.ofAddress(aliasBase).reinterpret(size, scope, null);
        this.guestView = MemorySegment.ofAddress(hostBase).reinterpret(size, scope, null);
    }

    static HostArena create(long size) {
        if (size <= 0 || (size & (PAGE - 1)) != 0) throw new IllegalArgumentException("size must be a positive multiple of 4096: " + size);
        int fd = HostMm.memfdCreate("herd-guest", HostMm.MFD_CLOEXEC);
        try {
            HostMm.ftruncate(fd, size);
        } catch (RuntimeException e) {
            HostMm.close(fd);
            throw e;
        }
        return adopt(fd, size);
    }

    /**
     * An arena over an existing memfd of {@code size} bytes (a forked child's copy of its parent's
     * memory), which it then owns: closed with the arena, or on failure here.
     */
    static HostArena adopt(int fd, long size) {
        long base = 0, alias = 0;
        try {
            // One reservation for the guest view and the guard behind it, then the memfd over the
            // first part: the guard stays PROT_NONE for the arena's whole life.
            // At a fixed hint when free, so that a kernel proxy (a small static process) finds the
            // same range free and maps the memfd at the same address: host pointers then mean the
            // same in both processes.
            base = HostMm.mapHinted(PROXY_HINT, size + GUARD, HostMm.PROT_NONE,
                    HostMm.MAP_PRIVATE | HostMm.MAP_ANONYMOUS | HostMm.MAP_NORESERVE, -1);
            HostMm.mmap(base, size, HostMm.PROT_NONE, HostMm.MAP_SHARED | HostMm.MAP_FIXED | HostMm.MAP_NORESERVE, fd, 0);
            alias = HostMm.mmap(0, size, HostMm.PROT_READ | HostMm.PROT_WRITE, HostMm.MAP_SHARED | HostMm.MAP_NORESERVE, fd, 0);
            return new HostArena(size, fd, base, alias);
        } catch (RuntimeException e) {
            if (base != 0) HostMm.munmap(base, size + GUARD);
            HostMm.close(fd);
            throw e;
        }
    }

    /** Where protection changes are repeated (a kernel proxy's view), or null. */
    volatile HostViewMirror mirror;

    /** Host protection of the guest view over [g, g+len). */
    void protect(long g, long len, int hostProt) {
        if (len > 0) {
            HostMm.mprotect(hostBase + g, len, hostProt);
            mirror(g, len, hostProt);
        }
    }

    private void mirror(long g, long len, int hostProt) {
        HostViewMirror m = mirror;
        if (m != null && len > 0) m.protect(hostBase + g, len, hostProt);
    }

    /** Releases the memfd pages of [g, g+len) so they read as zero again. */
    void punch(long g, long len) {
        if (len > 0) HostMm.fallocate(memfd, HostMm.FALLOC_FL_PUNCH_HOLE | HostMm.FALLOC_FL_KEEP_SIZE, g, len);
    }

    /** Maps the memfd back at [g, g+len) of the guest view (undoing a file overlay). */
    void mapMemfd(long g, long len, int hostProt) {
        HostMm.mmap(hostBase + g, len, hostProt, HostMm.MAP_SHARED | HostMm.MAP_FIXED | HostMm.MAP_NORESERVE, memfd, g);
        mirror(g, len, hostProt);
    }

    /** Overlays [g, g+len) of the guest view with a shared mapping of a host file. */
    void mapFile(long g, long len, int hostProt, int fd, long off) {
        HostMm.mmap(hostBase + g, len, hostProt, HostMm.MAP_SHARED | HostMm.MAP_FIXED, fd, off);
        mirror(g, len, hostProt); // the mirror keeps the memfd there: it sees the protection, not the file
    }

    /** Copies memfd bytes [src, src+len) to [dst, dst+len), skipping holes (non-overlapping ranges). */
    void copySparse(long src, long dst, long len) {
        long end = src + len;
        long pos = src;
        while (pos < end) {
            long data = HostMm.lseekRaw(memfd, pos, HostMm.SEEK_DATA);
            if (data < 0 || data >= end) break;
            long hole = HostMm.lseekRaw(memfd, data, HostMm.SEEK_HOLE);
            if (hole < 0 || hole > end) hole = end;
            MemorySegment.copy(alias, data, alias, dst + (data - src), hole - data);
            pos = hole;
        }
    }

    /**
     * Fills [g, g+len) of the memfd from a host file of fileSize bytes with pread; bytes past EOF
     * stay as they are. Returns bytes read.
     */
    long readFile(int fd, long fileOff, long g, long len, long fileSize) {
        // The pages pread fills, faulted in at once (HostMm.populateWrite): only as far as the file
        // goes, so that a mapping longer than its file keeps its tail as holes. g is page-aligned.
        long inFile = Math.min(len, fileSize - fileOff);
        if (inFile > 0) HostMm.populateWrite(aliasBase + g, (inFile + PAGE - 1) & -PAGE);
        long done = 0;
        while (done < len) {
            long r = HostMm.pread(fd, aliasBase + g + done, len - done, fileOff + done);
            if (r == 0) break;
            done += r;
        }
        return done;
    }

    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        scope.close();
        try {
            HostMm.munmap(hostBase, size + GUARD);
            HostMm.munmap(aliasBase, size);
        } catch (ErrnoException ignored) {
            // nothing sensible to do
        } finally {
            HostMm.close(memfd);
        }
    }
}
