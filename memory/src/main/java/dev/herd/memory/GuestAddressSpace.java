package dev.herd.memory;

import dev.herd.host.Errno;
import dev.herd.host.ErrnoException;
import dev.herd.host.HostMm;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.locks.ReentrantLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.LongConsumer;

/**
 * The guest's address space: one host reservation backed by a memfd (guest g at hostBase+g, memfd
 * offset g), the Linux mapping table, and the Unicorn {@link RegionPlan} derived from it.
 * Thread-safe: mutations (mmap, munmap, mprotect, mremap, brk) serialise on one lock and publish an
 * immutable snapshot with {@code version + 1}; lookups are lock-free.
 *
 * <h2>Layout</h2>
 * Guest addresses below {@link #MMAP_MIN_ADDR} are never mappable (like {@code vm.mmap_min_addr}:
 * MAP_FIXED there is EPERM, a hint there is ignored). Non-fixed mmaps search top-down below
 * {@link #mmapBase()} (size minus a stack gap of min(8 GiB, size/4)), falling back to the whole
 * space; the loader places the stack above mmapBase.
 *
 * <h2>Host side</h2>
 * Host protection of the guest view mirrors the region plan (W→RW, R or X→R, else PROT_NONE), so a
 * host syscall given hostBase+g faults where Linux would. Host-side <em>increases</em> (new
 * mappings, raised protection) are applied before a change is published; <em>reductions</em>
 * (lowered protection, page release, removal of stale shared-file overlays) wait for
 * {@link #releaseDeferred()}, which the caller runs once every engine has synced, and are
 * recomputed against the then-current table.
 *
 * <h2>Deviations from Linux (documented choices)</h2>
 * <ul>
 * <li>MAP_PRIVATE file mappings are copied into the memfd at map time: later changes to the file
 *     are not seen, and pages beyond EOF read as zero instead of raising SIGBUS. Growing such a
 *     mapping in place with mremap yields zero pages, not more file data.</li>
 * <li>MAP_SHARED file mappings overlay the host file on the guest view, but only up to the file's
 *     size at map time (later pages are zero-filled memfd, not SIGBUS). Truncating the file under a
 *     live mapping afterwards makes host accesses SIGBUS: avoid.</li>
 * <li>MAP_SHARED anonymous memory is a memfd of its own mapped like a shared file (Linux's shmem
 *     object, shown as "/dev/zero (deleted)"): growing it with mremap past its first size adds
 *     private zero pages, not more of the object.</li>
 * <li>mremap with old_size 0 (duplicate a shared mapping) is EINVAL; moving copies bytes (identity
 *     offsets forbid a host move), which is not atomic against other guest threads.</li>
 * <li>mmap rejects unknown PROT bits with EINVAL (Linux ignores them).</li>
 * </ul>
 */
public final class GuestAddressSpace implements AutoCloseable {
    /** Default guest address-space size: 1 TiB. */
    public static final long DEFAULT_SIZE = 1L << 40;
    /** Lowest mappable guest address (like vm.mmap_min_addr). */
    public static final long MMAP_MIN_ADDR = 0x10000;
    /** Guest page size. */
    public static final long PAGE = HostArena.PAGE;
    private static final long MAX_STACK_GAP = 8L << 30;
    private static final int PROT_SEM = 0x8, PROT_GROWSDOWN = 0x01000000, PROT_GROWSUP = 0x02000000;
    private static final int KNOWN_MAP_FLAGS = MapFlags.TYPE | MapFlags.FIXED | MapFlags.ANONYMOUS | MapFlags.GROWSDOWN
            | MapFlags.DENYWRITE | MapFlags.EXECUTABLE | MapFlags.LOCKED | MapFlags.NORESERVE | MapFlags.POPULATE
            | MapFlags.NONBLOCK | MapFlags.STACK | MapFlags.HUGETLB | MapFlags.SYNC | MapFlags.FIXED_NOREPLACE
            | (0x3f << 26) /* MAP_HUGE_SHIFT bits */;
    /** MAP_* bits kept in {@link Mapping#flags()}. */
    /** What /proc/PID/maps shows for shared anonymous memory (Linux's name for its shmem object). */
    static final String SHARED_ANON_NAME = "/dev/zero (deleted)";
    private static final int KEPT_FLAGS = MapFlags.SHARED | MapFlags.PRIVATE | MapFlags.ANONYMOUS | MapFlags.GROWSDOWN;

    record Snapshot(long version, MappingTable table, RegionPlan plan) {}

    final HostArena arena;
    private final long mmapBase;
    private final int regionCap;
    private final ReentrantLock lock = new ReentrantLock();
    /** Write-locked while host overlays are replaced or host protection is lowered; see GuestMemory. */
    final ReentrantReadWriteLock hostLock = new ReentrantReadWriteLock();
    private volatile Snapshot snap;
    /** Actual host protection of the guest view (absent = PROT_NONE). Guarded by lock. */
    private final RangeMap<Integer> hostProt = new RangeMap<>();
    /** Live host file overlays on the guest view. Guarded by lock. */
    final RangeMap<SharedFile> overlays = new RangeMap<>();
    private final List<long[]> pendingPunch = new ArrayList<>();
    private final Set<SharedFile> liveFiles = new HashSet<>();
    final InvalidationLog invalidations = new InvalidationLog(4096);
    private final CopyOnWriteArrayList<LongConsumer> listeners = new CopyOnWriteArrayList<>();
    private final GuestMemory memory;
    private long brkStart = -1, brkCur = -1;
    private boolean closed;
    /** See {@link #concurrentAccess()}; written under lock before the version that publishes it. */
    private volatile boolean concurrentAccess;

    private GuestAddressSpace(HostArena arena, int regionCap) {
        this.arena = arena;
        this.regionCap = regionCap;
        long gap = Math.min(MAX_STACK_GAP, arena.size / 4) & -PAGE;
        this.mmapBase = arena.size - gap;
        this.snap = new Snapshot(0, MappingTable.EMPTY, RegionPlanner.plan(0, MappingTable.EMPTY, regionCap));
        this.memory = new GuestMemory(this);
    }

    /**
     * The largest guest space of at most {@code wanted} bytes that this process's file-size limit
     * (RLIMIT_FSIZE, {@code ulimit -f}) lets Herd give its memfd: a power of two, or {@code wanted}
     * itself when the limit allows it. Growing the memfd past the limit would fail with EFBIG
     * (and raise SIGXFSZ); the limit is the guest's too, so Herd does not lift it.
     */
    public static long sizeWithinFileLimit(long wanted) {
        long limit;
        try (java.lang.foreign.Arena a = java.lang.foreign.Arena.ofConfined()) {
            java.lang.foreign.MemorySegment old = a.allocate(16, 8);
            long r = dev.herd.host.HostKernel.call(dev.herd.host.HostSyscall.PRLIMIT64, 0, RLIMIT_FSIZE, 0, old.address());
            if (r < 0) return wanted;
            limit = old.get(java.lang.foreign.ValueLayout.JAVA_LONG, 0); // RLIM_INFINITY is -1 as a long
        }
        if (limit < 0 || limit >= wanted) return wanted;
        return limit < PAGE ? 0 : Long.highestOneBit(limit);
    }

    private static final int RLIMIT_FSIZE = 1;

    /** Creates an address space of {@code size} bytes (a multiple of 4096) with the default region cap. */
    public static GuestAddressSpace create(long size) { return create(size, RegionPlanner.DEFAULT_CAP); }

    /** Creates an address space with an explicit Unicorn region cap (see {@link RegionPlanner}). */
    public static GuestAddressSpace create(long size, int regionCap) {
        if (regionCap < 1) throw new IllegalArgumentException("regionCap");
        return new GuestAddressSpace(HostArena.create(size), regionCap);
    }

    /** Host address of guest address 0. */
    public long hostBase() { return arena.hostBase; }
    public long size() { return arena.size; }
    public GuestMemory memory() { return memory; }
    /** Where the program break started (Linux's start_brk), or 0 before the loader set it. */
    public long brkStart() {
        lock.lock();
        try {
            return Math.max(0, brkStart);
        } finally {
            lock.unlock();
        }
    }

    /** Top of the area searched top-down by non-fixed mmap. */
    public long mmapBase() { return mmapBase; }
    /** Lowest mappable guest address. */
    public long mmapMinAddr() { return MMAP_MIN_ADDR; }
    /** The memfd backing guest memory (offset = guest address), e.g. for a kernel proxy to map. */
    public int memfd() { return arena.memfd; }
    public int regionCap() { return regionCap; }

    Snapshot snapshot() { return snap; }

    /**
     * Whether guest code may reach this memory from more than one place at once: a second guest
     * thread ({@link #markConcurrentAccess}), or a writable shared mapping another process can map
     * too (MAP_SHARED of a writable file or of anonymous memory, System V shared memory). Until then
     * an engine may translate guest atomics as plain loads and stores, which is exact with one
     * engine and no other writer, and several times faster than the host atomics they need once
     * another one exists (QEMU linux-user makes the same switch at a process's first thread). One
     * way: it never becomes false again. Engines follow it at {@link EngineMemoryView#sync()}.
     */
    public boolean concurrentAccess() { return concurrentAccess; }

    /**
     * Declares that another engine may run guest code on this memory from now on (a guest thread is
     * being created). Publishes a new version if that changes {@link #concurrentAccess()}, so every
     * engine syncs (and makes its atomics host atomics) before it runs guest code again; the caller
     * then brings engines in guest code to it like any other change.
     */
    public void markConcurrentAccess() {
        if (concurrentAccess) return;
        long published;
        lock.lock();
        try {
            if (concurrentAccess || closed) return;
            concurrentAccess = true;
            Snapshot s = snap;
            long v = s.version() + 1;
            snap = new Snapshot(v, s.table(), new RegionPlan(v, s.plan().regions(), s.plan().coalesced()));
            published = v;
        } finally {
            lock.unlock();
        }
        notifyListeners(published);
    }

    // ---------------------------------------------------------------- mmap

    /** Linux mmap; hostFd is -1 for anonymous mappings. Returns the guest address. */
    public long mmap(long addr, long length, int prot, int flags, int hostFd, long offset) {
        return mmap(addr, length, prot, flags, hostFd, offset, null);
    }

    /**
     * Linux mmap with a display name for file mappings (the path, shown by {@link #mappings()}).
     * Throws {@link ErrnoException} with Linux's errno on failure.
     */
    public long mmap(long addr, long length, int prot, int flags, int hostFd, long offset, String name) {
        int type = flags & MapFlags.TYPE;
        if (type == MapFlags.SHARED_VALIDATE) {
            if ((flags & ~KNOWN_MAP_FLAGS) != 0) throw new ErrnoException(Errno.EOPNOTSUPP);
            type = MapFlags.SHARED;
        } else if (type != MapFlags.SHARED && type != MapFlags.PRIVATE) {
            throw new ErrnoException(Errno.EINVAL);
        }
        if ((prot & ~7) != 0) throw new ErrnoException(Errno.EINVAL);
        if (length == 0) throw new ErrnoException(Errno.EINVAL);
        if ((offset & (PAGE - 1)) != 0) throw new ErrnoException(Errno.EINVAL);
        long len = pageUp(length);
        if (len == 0 || Long.compareUnsigned(len, length) < 0 || len < 0) throw new ErrnoException(Errno.ENOMEM);
        if (offset + len < offset) throw new ErrnoException(Errno.EOVERFLOW);
        boolean noReplace = (flags & MapFlags.FIXED_NOREPLACE) != 0;
        boolean fixed = noReplace || (flags & MapFlags.FIXED) != 0;
        if (fixed && (addr & (PAGE - 1)) != 0) throw new ErrnoException(Errno.EINVAL);
        boolean anon = (flags & MapFlags.ANONYMOUS) != 0;
        boolean sharedFile = false;
        boolean writable = false;
        long fileSize = 0, inode = 0;
        if (!anon) {
            if (hostFd < 0) throw new ErrnoException(Errno.EBADF);
            long[] st = HostMm.fstatModeSize(hostFd);
            if ((st[0] & HostMm.S_IFMT) != HostMm.S_IFREG) throw new ErrnoException(Errno.ENODEV);
            fileSize = st[1];
            inode = st[2];
            int acc = HostMm.fcntlGetFl(hostFd) & HostMm.O_ACCMODE;
            if (acc == HostMm.O_WRONLY) throw new ErrnoException(Errno.EACCES);
            writable = acc == HostMm.O_RDWR;
            sharedFile = type == MapFlags.SHARED;
            if (sharedFile && (prot & Prot.WRITE) != 0 && !writable) throw new ErrnoException(Errno.EACCES);
        } else {
            offset = 0;
        }
        // Shared anonymous memory gets a backing of its own (as Linux's shmem object): a fork's
        // child then shares it for real, and the parent's later use of the range cannot reach it.
        int sharedAnonFd = -1;
        if (anon && type == MapFlags.SHARED) {
            sharedAnonFd = HostMm.memfdCreate("herd-shared-anon", HostMm.MFD_CLOEXEC);
            try {
                HostMm.ftruncate(sharedAnonFd, len);
                inode = HostMm.fstatModeSize(sharedAnonFd)[2];
            } catch (RuntimeException e) {
                HostMm.close(sharedAnonFd);
                throw e;
            }
            sharedFile = true;
            writable = true;
            fileSize = len;
            name = SHARED_ANON_NAME;
        }
        int keptFlags = (flags & KEPT_FLAGS & ~MapFlags.TYPE) | type;
        long published;
        long start;
        lock.lock();
        try {
            ensureOpen();
            MappingTable t = snap.table();
            if (fixed) {
                if (Long.compareUnsigned(addr, MMAP_MIN_ADDR) < 0) throw new ErrnoException(Errno.EPERM);
                if (addr < 0 || addr > arena.size - len) throw new ErrnoException(Errno.ENOMEM);
                if (noReplace && t.anyMapped(addr, addr + len)) throw new ErrnoException(Errno.EEXIST);
                start = addr;
            } else {
                start = findFree(t, addr, len);
            }
            SharedFile sf = null;
            int kind = anon ? Vma.ANON : Vma.PRIVATE_FILE;
            if (sharedFile) {
                sf = new SharedFile(sharedAnonFd >= 0 ? sharedAnonFd : HostMm.dupCloexec(hostFd), writable, fileSize, name, inode);
                sharedAnonFd = -1;
                liveFiles.add(sf);
                kind = Vma.SHARED_FILE;
            }
            // Anonymous memory keeps only the kernel's own labels ([stack], [heap], /[aio] (deleted)).
            String shown = anon && !sharedFile && (name == null || !(name.startsWith("[") || name.startsWith("/["))) ? null : name;
            Vma m = new Vma(start, start + len, prot, keptFlags, shown, offset, kind, sf);
            List<long[]> inval = new ArrayList<>();
            logExecPieces(t, start, start + len, inval);
            if ((prot & Prot.EXEC) != 0) inval.add(new long[] {start, start + len});
            prepareNewRange(m, hostFd, fileSize, true);
            if (sf != null && sf.writable) concurrentAccess = true; // another process may map it too
            // replaced pages no longer need a deferred punch; the rest of the old table's pages stay
            published = commit(t.insert(m), inval);
        } finally {
            lock.unlock();
            if (sharedAnonFd >= 0) HostMm.close(sharedAnonFd); // not taken over: the mmap failed
        }
        notifyListeners(published);
        return start;
    }

    private long findFree(MappingTable t, long hint, long len) {
        long h = pageUp(hint);
        if (hint != 0 && h >= MMAP_MIN_ADDR && h > 0 && h <= arena.size - len && !t.anyMapped(h, h + len)) return h;
        long a = t.findFreeTopDown(len, MMAP_MIN_ADDR, mmapBase);
        if (a < 0) a = t.findFreeTopDown(len, MMAP_MIN_ADDR, arena.size);
        if (a < 0) throw new ErrnoException(Errno.ENOMEM);
        return a;
    }

    /**
     * Host work for a new mapping m at [m.start, m.end) before it is published: replace overlays
     * there, zero it (punch), then fill it from the file (private) or overlay the file (shared).
     * fd is the guest's host fd for a private file mapping (the SharedFile's own fd is used for shared).
     */
    private void prepareNewRange(Vma m, int fd, long fileSize, boolean fillPrivateFile) {
        long s = m.start(), e = m.end();
        boolean touchOverlays = !overlays.segments(s, e).isEmpty() || m.kind() == Vma.SHARED_FILE;
        if (touchOverlays) hostLock.writeLock().lock();
        try {
            for (RangeMap.Seg<SharedFile> ov : overlays.segments(s, e)) {
                for (RangeMap.Seg<Integer> p : hostProt.segments(ov.start(), ov.end())) {
                    arena.mapMemfd(p.start(), p.end() - p.start(), p.value());
                }
                // gaps in hostProt within the overlay are PROT_NONE
                restoreNoneGaps(ov.start(), ov.end());
                overlays.put(ov.start(), ov.end(), null);
            }
            arena.punch(s, e - s);
            if (m.kind() == Vma.PRIVATE_FILE && fillPrivateFile) {
                arena.readFile(fd, m.fileOffset(), s, e - s, fileSize);
            } else if (m.kind() == Vma.SHARED_FILE) {
                overlayFile(m, s, e);
            }
        } finally {
            if (touchOverlays) hostLock.writeLock().unlock();
        }
    }

    private void restoreNoneGaps(long s, long e) {
        long pos = s;
        for (RangeMap.Seg<Integer> p : hostProt.segments(s, e)) {
            if (p.start() > pos) arena.mapMemfd(pos, p.start() - pos, Prot.NONE);
            pos = p.end();
        }
        if (pos < e) arena.mapMemfd(pos, e - pos, Prot.NONE);
    }

    /** Overlays the file of shared-file mapping m on [s, e) ⊆ m, up to the file's EOF at map time. */
    private void overlayFile(Vma m, long s, long e) {
        SharedFile f = m.file();
        long off = m.fileOffset() + (s - m.start());
        long fileEnd = pageUp(f.sizeAtMap);
        if (off >= fileEnd) return;
        long oe = Math.min(e, s + (fileEnd - off));
        int p = unionHostProt(s, oe);
        if (!f.writable) p &= ~Prot.WRITE;
        arena.mapFile(s, oe - s, p, f.fd, off);
        hostProt.put(s, oe, p == 0 ? null : p);
        overlays.put(s, oe, f);
    }

    private int unionHostProt(long s, long e) {
        int p = 0;
        for (RangeMap.Seg<Integer> x : hostProt.segments(s, e)) p |= x.value();
        return p;
    }

    // ---------------------------------------------------------------- fork

    /**
     * The child's copy of this space for a fork: a new memfd with every private page copied
     * (anonymous and private-file mappings; holes stay holes), the mapping table, and duplicates
     * of the shared mappings' files. The caller must keep the guest from writing meanwhile (every
     * other thread out of guest code) and owns the returned fds.
     */
    public ForkedSpace forkCopy() {
        lock.lock();
        int fd = HostMm.memfdCreate("herd-guest", HostMm.MFD_CLOEXEC);
        List<ForkedSpace.File> files = new ArrayList<>();
        try {
            ensureOpen();
            HostMm.ftruncate(fd, arena.size);
            java.util.Map<SharedFile, Integer> index = new java.util.IdentityHashMap<>();
            List<ForkedSpace.Entry> entries = new ArrayList<>();
            MappingTable t = snap.table();
            for (int i = 0; i < t.size(); i++) {
                Vma v = t.get(i);
                int file = -1;
                if (v.kind() == Vma.SHARED_FILE) {
                    SharedFile f = v.file();
                    Integer at = index.get(f);
                    if (at == null) {
                        at = files.size();
                        files.add(new ForkedSpace.File(HostMm.dupCloexec(f.fd), f.writable, f.sizeAtMap, f.path, f.inode));
                        index.put(f, at);
                    }
                    file = at;
                } else {
                    copyAllocated(fd, v.start(), v.end());
                }
                entries.add(new ForkedSpace.Entry(v.start(), v.end(), v.prot(), v.flags(), v.name(), v.fileOffset(), v.kind(), file));
            }
            return new ForkedSpace(fd, arena.size, regionCap, brkStart, brkCur, entries, files);
        } catch (RuntimeException e) {
            HostMm.close(fd);
            for (ForkedSpace.File f : files) HostMm.close(f.fd());
            throw e;
        } finally {
            lock.unlock();
        }
    }

    /** Copies the allocated pages of [s, e) of this space's memfd into {@code fd} at the same offsets. */
    private void copyAllocated(int fd, long s, long e) {
        long pos = s;
        while (pos < e) {
            long data = HostMm.lseekRaw(arena.memfd, pos, HostMm.SEEK_DATA);
            if (data < 0 || data >= e) return;
            long hole = HostMm.lseekRaw(arena.memfd, data, HostMm.SEEK_HOLE);
            if (hole < 0 || hole > e) hole = e;
            for (long at = data; at < hole; ) {
                long n = HostMm.pwrite(fd, arena.aliasBase + at, hole - at, at);
                if (n <= 0) throw new ErrnoException(n < 0 ? (int) -n : Errno.EIO);
                at += n;
            }
            pos = hole;
        }
    }

    /**
     * A forked child's address space from its parent's {@link #forkCopy}: the memfd becomes this
     * space's memory, shared files are overlaid again, host protection follows the table.
     * Takes over every fd of {@code f} (closed on failure too).
     */
    public static GuestAddressSpace adopt(ForkedSpace f) {
        HostArena arena;
        try {
            arena = HostArena.adopt(f.memfd(), f.size());
        } catch (RuntimeException e) {
            for (ForkedSpace.File x : f.files()) HostMm.close(x.fd());
            throw e;
        }
        GuestAddressSpace space = new GuestAddressSpace(arena, f.regionCap());
        space.lock.lock();
        try {
            List<SharedFile> files = new ArrayList<>();
            for (ForkedSpace.File x : f.files()) {
                SharedFile sf = new SharedFile(x.fd(), x.writable(), x.sizeAtMap(), x.path(), x.inode());
                files.add(sf);
                space.liveFiles.add(sf);
            }
            MappingTable t = MappingTable.EMPTY;
            for (ForkedSpace.Entry e : f.mappings()) {
                Vma v = new Vma(e.start(), e.end(), e.prot(), e.flags(), e.name(), e.fileOffset(), e.kind(),
                        e.file() < 0 ? null : files.get(e.file()));
                if (v.kind() == Vma.SHARED_FILE) {
                    if (v.file().writable) space.concurrentAccess = true; // shared with the parent at least
                    space.hostLock.writeLock().lock();
                    try {
                        space.overlayFile(v, v.start(), v.end());
                    } finally {
                        space.hostLock.writeLock().unlock();
                    }
                }
                t = t.insert(v);
            }
            space.commit(t, List.of());
            space.brkStart = f.brkStart();
            space.brkCur = f.brkCur();
        } catch (RuntimeException e) {
            space.lock.unlock();
            space.close();
            throw e;
        }
        space.lock.unlock();
        return space;
    }

    // ---------------------------------------------------------------- munmap / mprotect

    /** Linux munmap: EINVAL for an unaligned address, zero length or a range outside the space. */
    public void munmap(long addr, long length) {
        if ((addr & (PAGE - 1)) != 0 || addr < 0 || addr > arena.size || length > arena.size - addr || length <= 0)
            throw new ErrnoException(Errno.EINVAL);
        long len = pageUp(length);
        long published;
        lock.lock();
        try {
            ensureOpen();
            MappingTable t = snap.table();
            if (!t.anyMapped(addr, addr + len)) return;
            List<long[]> inval = new ArrayList<>();
            logExecPieces(t, addr, addr + len, inval);
            for (Vma p : t.slice(addr, addr + len)) pendingPunch.add(new long[] {p.start(), p.end()});
            published = commit(t.remove(addr, addr + len), inval);
        } finally {
            lock.unlock();
        }
        notifyListeners(published);
    }

    /**
     * Linux mprotect. Like Linux, the change is applied to the mapped run starting at addr and then
     * fails with ENOMEM at the first hole (so a failure may leave a prefix changed); EACCES when
     * adding write to a shared mapping of a read-only file.
     */
    public void mprotect(long addr, long length, int prot) {
        if ((addr & (PAGE - 1)) != 0) throw new ErrnoException(Errno.EINVAL);
        if ((prot & ~(7 | PROT_SEM | PROT_GROWSDOWN | PROT_GROWSUP)) != 0 || (prot & PROT_GROWSUP) != 0)
            throw new ErrnoException(Errno.EINVAL);
        prot &= 7;
        // The length is unsigned, as in Linux: only a range that wraps is refused up front; a huge
        // one changes the mapped run from addr and then fails at its first hole (fuzz seed 1 case
        // 3763: glibc's RELRO mprotect with a huge length made the RELRO read-only before ENOMEM).
        long len = pageUp(length);
        long end = addr + len;
        if (length != 0 && (len == 0 || Long.compareUnsigned(end, addr) <= 0)) throw new ErrnoException(Errno.ENOMEM);
        if (len == 0) return;
        if (end < 0 || end > arena.size) end = arena.size + PAGE; // the space's end is a hole
        long published;
        ErrnoException failure = null;
        lock.lock();
        try {
            ensureOpen();
            MappingTable t = snap.table();
            if (addr < 0 || addr >= arena.size) throw new ErrnoException(Errno.ENOMEM);
            long okEnd = t.mappedPrefixEnd(addr, end);
            if (okEnd < end) failure = new ErrnoException(Errno.ENOMEM);
            if ((prot & Prot.WRITE) != 0) {
                for (Vma p : t.slice(addr, okEnd)) {
                    if (p.kind() == Vma.SHARED_FILE && !p.file().writable) {
                        okEnd = p.start();
                        failure = new ErrnoException(Errno.EACCES);
                        break;
                    }
                }
            }
            if (okEnd <= addr) throw failure;
            List<long[]> inval = new ArrayList<>();
            for (Vma p : t.slice(addr, okEnd)) {
                if (((p.prot() ^ prot) & Prot.EXEC) != 0) inval.add(new long[] {p.start(), p.end()});
            }
            published = commit(t.protect(addr, okEnd, prot), inval);
        } finally {
            lock.unlock();
        }
        notifyListeners(published);
        if (failure != null) throw failure;
    }

    // ---------------------------------------------------------------- brk

    /** Sets the program break start (end of the loaded image, page-aligned up by the caller or not). */
    public void initBrk(long start) {
        lock.lock();
        try {
            brkStart = start;
            brkCur = start;
        } finally {
            lock.unlock();
        }
    }

    /** Current program break (-1 before {@link #initBrk}). */
    public long currentBrk() { return brkCur; }

    /** Linux brk: returns the new break, or the current one when the request cannot be met. */
    public long brk(long requested) {
        long published = -1;
        long result;
        lock.lock();
        try {
            ensureOpen();
            if (brkStart < 0 || requested < brkStart || requested > arena.size) return brkCur;
            long newTop = pageUp(requested), oldTop = pageUp(brkCur);
            MappingTable t = snap.table();
            if (newTop == oldTop) {
                brkCur = requested;
                return requested;
            }
            if (newTop < oldTop) {
                List<long[]> inval = new ArrayList<>();
                logExecPieces(t, newTop, oldTop, inval);
                for (Vma p : t.slice(newTop, oldTop)) pendingPunch.add(new long[] {p.start(), p.end()});
                published = commit(t.remove(newTop, oldTop), inval);
            } else {
                long guardEnd = Math.min(arena.size, newTop + PAGE);
                if (t.anyMapped(oldTop, guardEnd) || oldTop < MMAP_MIN_ADDR) return brkCur;
                Vma m = new Vma(oldTop, newTop, Prot.READ | Prot.WRITE, MapFlags.PRIVATE | MapFlags.ANONYMOUS, "[heap]", 0, Vma.ANON, null);
                prepareNewRange(m, -1, 0, false);
                published = commit(t.insert(m), List.of());
            }
            brkCur = requested;
            result = requested;
        } finally {
            lock.unlock();
        }
        if (published >= 0) notifyListeners(published);
        return result;
    }

    // ---------------------------------------------------------------- mremap

    /**
     * The range check of Linux's munmap, which a shrinking mremap applies to the tail it drops:
     * EINVAL past the end of the address space (Linux's TASK_SIZE; here the guest space's size),
     * before anything changes.
     */
    private void requireUnmappable(long start, long len) {
        if (start < 0 || start > arena.size || len < 0 || len > arena.size - start) throw new ErrnoException(Errno.EINVAL);
    }

    /** Linux mremap (MREMAP_MAYMOVE, MREMAP_FIXED, MREMAP_DONTUNMAP for memfd-backed mappings). */
    public long mremap(long oldAddr, long oldSize, long newSize, int flags, long newAddr) {
        if ((flags & ~(MapFlags.MREMAP_MAYMOVE | MapFlags.MREMAP_FIXED | MapFlags.MREMAP_DONTUNMAP)) != 0)
            throw new ErrnoException(Errno.EINVAL);
        boolean mayMove = (flags & MapFlags.MREMAP_MAYMOVE) != 0;
        boolean fixed = (flags & MapFlags.MREMAP_FIXED) != 0;
        boolean dontUnmap = (flags & MapFlags.MREMAP_DONTUNMAP) != 0;
        if (fixed && !mayMove) throw new ErrnoException(Errno.EINVAL);
        if (dontUnmap && (!mayMove || oldSize != newSize)) throw new ErrnoException(Errno.EINVAL);
        if ((oldAddr & (PAGE - 1)) != 0) throw new ErrnoException(Errno.EINVAL);
        long oldLen = pageUp(oldSize), newLen = pageUp(newSize);
        // Linux: a new length past TASK_SIZE is EINVAL before the lookup; an old length past it only
        // after the lookup found a mapping (an unmapped or kernel address is EFAULT first)
        if (newLen == 0 || newSize < 0 || newSize > arena.size) throw new ErrnoException(Errno.EINVAL);
        long published = -1;
        long result;
        ErrnoException failure = null;
        lock.lock();
        try {
            ensureOpen();
            MappingTable t = snap.table();
            Vma vma = oldAddr >= 0 && oldAddr < arena.size ? t.find(oldAddr) : null;
            if (vma == null) throw new ErrnoException(Errno.EFAULT);
            if (oldSize < 0 || oldLen > arena.size) throw new ErrnoException(Errno.EINVAL);
            if (oldLen == 0) throw new ErrnoException(Errno.EINVAL); // duplicating shared mappings is unsupported
            List<long[]> inval = new ArrayList<>();
            if (fixed || dontUnmap) {
                if ((newAddr & (PAGE - 1)) != 0) throw new ErrnoException(Errno.EINVAL);
                if (fixed) {
                    if (newAddr < 0 || newLen > arena.size || newAddr > arena.size - newLen) throw new ErrnoException(Errno.EINVAL);
                    if (oldAddr + oldLen > newAddr && newAddr + newLen > oldAddr) throw new ErrnoException(Errno.EINVAL);
                    if (newAddr < MMAP_MIN_ADDR) throw new ErrnoException(Errno.EPERM);
                }
                if (dontUnmap && vma.kind() == Vma.SHARED_FILE) throw new ErrnoException(Errno.EINVAL);
                if (fixed) {
                    logExecPieces(t, newAddr, newAddr + newLen, inval);
                    for (Vma p : t.slice(newAddr, newAddr + newLen)) pendingPunch.add(new long[] {p.start(), p.end()});
                    t = t.remove(newAddr, newAddr + newLen);
                }
                if (oldLen > newLen) {
                    requireUnmappable(oldAddr + newLen, oldLen - newLen);
                    logExecPieces(t, oldAddr + newLen, oldAddr + oldLen, inval);
                    for (Vma p : t.slice(oldAddr + newLen, oldAddr + oldLen)) pendingPunch.add(new long[] {p.start(), p.end()});
                    t = t.remove(oldAddr + newLen, oldAddr + oldLen);
                    oldLen = newLen;
                }
                vma = t.find(oldAddr);
                if (vma == null || oldLen > vma.end() - oldAddr) {
                    // like Linux, the unmaps done so far stay done
                    if (t != snap.table()) published = commit(t, inval);
                    else published = -1;
                    failure = new ErrnoException(Errno.EFAULT);
                    return -1; // unreachable result; finally block rethrows
                }
                long dest = fixed ? newAddr : findFree(t, newAddr, newLen);
                t = move(t, vma.clip(oldAddr, oldAddr + oldLen), dest, newLen, dontUnmap, inval);
                result = dest;
            } else if (oldLen >= newLen) {
                if (oldLen > newLen) {
                    requireUnmappable(oldAddr + newLen, oldLen - newLen);
                    logExecPieces(t, oldAddr + newLen, oldAddr + oldLen, inval);
                    for (Vma p : t.slice(oldAddr + newLen, oldAddr + oldLen)) pendingPunch.add(new long[] {p.start(), p.end()});
                    t = t.remove(oldAddr + newLen, oldAddr + oldLen);
                }
                result = oldAddr;
            } else {
                if (oldLen > vma.end() - oldAddr) throw new ErrnoException(Errno.EFAULT);
                long grownEnd = oldAddr + newLen;
                if (oldAddr + oldLen == vma.end() && grownEnd <= arena.size && grownEnd > oldAddr
                        && !t.anyMapped(vma.end(), grownEnd)) {
                    Vma grown = vma.withRange(vma.start(), grownEnd);
                    Vma ext = grown.clip(vma.end(), grownEnd);
                    prepareNewRange(ext, -1, 0, false);
                    if ((vma.prot() & Prot.EXEC) != 0) inval.add(new long[] {vma.end(), grownEnd});
                    t = t.insert(grown);
                    result = oldAddr;
                } else if (mayMove) {
                    long dest = findFree(t, 0, newLen);
                    t = move(t, vma.clip(oldAddr, oldAddr + oldLen), dest, newLen, false, inval);
                    result = dest;
                } else {
                    throw new ErrnoException(Errno.ENOMEM);
                }
            }
            published = commit(t, inval);
        } finally {
            lock.unlock();
            if (failure != null) {
                if (published >= 0) notifyListeners(published);
                throw failure;
            }
        }
        notifyListeners(published);
        return result;
    }

    /** Moves src (one clipped entry of t) to [dest, dest+newLen); returns the new table. */
    private MappingTable move(MappingTable t, Vma src, long dest, long newLen, boolean dontUnmap, List<long[]> inval) {
        Vma moved = src.withRange(src.start(), src.start() + newLen); // keeps file offset of src.start
        moved = new Vma(dest, dest + newLen, moved.prot(), moved.flags(), moved.name(), moved.fileOffset(), moved.kind(), moved.file());
        logExecPieces(t, dest, dest + newLen, inval);
        prepareNewRange(moved, -1, 0, false);
        if (moved.kind() != Vma.SHARED_FILE) arena.copySparse(src.start(), dest, Math.min(src.length(), newLen));
        if ((src.prot() & Prot.EXEC) != 0) {
            inval.add(new long[] {src.start(), src.end()});
            inval.add(new long[] {dest, dest + newLen});
        }
        if (dontUnmap) {
            arena.punch(src.start(), src.length());
        } else {
            pendingPunch.add(new long[] {src.start(), src.end()});
            t = t.remove(src.start(), src.end());
        }
        return t.insert(moved);
    }

    // ---------------------------------------------------------------- privileged writes

    /**
     * Writes guest memory regardless of its protection (the loader filling read-only segments, the
     * atomic-site patcher). Every page of the range must be mapped (any protection), else EFAULT.
     * Writing into executable mappings logs a code invalidation and bumps the version.
     */
    public void writeIgnoringProtection(long g, byte[] src, int off, int len) {
        java.util.Objects.checkFromIndexSize(off, len, src.length);
        privileged(g, len, (seg, pos, n) -> MemorySegment.copy(MemorySegment.ofArray(src), off + (pos - g), seg, 0, n),
                (fd, fileOff, pos, n) -> {
                    MemorySegment tmp = MemorySegment.ofArray(java.util.Arrays.copyOfRange(src, off + (int) (pos - g), off + (int) (pos - g + n)));
                    pwriteAll(fd, tmp, fileOff);
                });
    }

    /** Zeroes guest memory regardless of its protection; same rules as {@link #writeIgnoringProtection}. */
    public void zeroIgnoringProtection(long g, long len) {
        privileged(g, len, (seg, pos, n) -> seg.fill((byte) 0), (fd, fileOff, pos, n) -> {
            long done = 0;
            while (done < n) {
                int chunk = (int) Math.min(n - done, 1 << 16);
                pwriteAll(fd, MemorySegment.ofArray(new byte[chunk]), fileOff + done);
                done += chunk;
            }
        });
    }

    private static void pwriteAll(int fd, MemorySegment heap, long fileOff) {
        try (java.lang.foreign.Arena a = java.lang.foreign.Arena.ofConfined()) {
            MemorySegment buf = a.allocate(heap.byteSize());
            buf.copyFrom(heap);
            long done = 0;
            while (done < buf.byteSize()) done += HostMm.pwrite(fd, buf.address() + done, buf.byteSize() - done, fileOff + done);
        }
    }

    private interface MemOp { void apply(MemorySegment target, long guestPos, long n); }
    private interface FileOp { void apply(int fd, long fileOff, long guestPos, long n); }

    private void privileged(long g, long len, MemOp mem, FileOp file) {
        if (len == 0) return;
        long published = -1;
        lock.lock();
        try {
            ensureOpen();
            if (g < 0 || len < 0 || g > arena.size - len) throw new ErrnoException(Errno.EFAULT);
            MappingTable t = snap.table();
            if (!t.fullyMapped(g, g + len)) throw new ErrnoException(Errno.EFAULT);
            boolean exec = false;
            for (Vma p : t.slice(g, g + len)) {
                exec |= (p.prot() & Prot.EXEC) != 0;
                if (p.kind() != Vma.SHARED_FILE) {
                    mem.apply(arena.alias.asSlice(p.start(), p.length()), p.start(), p.length());
                    continue;
                }
                long pos = p.start();
                for (RangeMap.Seg<SharedFile> ov : overlays.segments(p.start(), p.end())) {
                    if (ov.start() > pos) mem.apply(arena.alias.asSlice(pos, ov.start() - pos), pos, ov.start() - pos);
                    if (!ov.value().writable) throw new ErrnoException(Errno.EFAULT);
                    file.apply(ov.value().fd, p.fileOffset() + (ov.start() - p.start()), ov.start(), ov.end() - ov.start());
                    pos = ov.end();
                }
                if (pos < p.end()) mem.apply(arena.alias.asSlice(pos, p.end() - pos), pos, p.end() - pos);
            }
            if (exec) {
                Snapshot s = snap;
                long v = s.version() + 1;
                snap = new Snapshot(v, s.table(), new RegionPlan(v, s.plan().regions(), s.plan().coalesced()));
                invalidations.add(v, g & -PAGE, pageUp(g + len));
                published = v;
            }
        } finally {
            lock.unlock();
        }
        if (published >= 0) notifyListeners(published);
    }

    // ---------------------------------------------------------------- queries

    public List<Mapping> mappings() {
        MappingTable t = snap.table();
        List<Mapping> out = new ArrayList<>(t.size());
        for (int i = 0; i < t.size(); i++) out.add(t.get(i).toMapping());
        return out;
    }

    /** The mappings overlapping [start, end), clipped to it, in address order. Lock-free. */
    public List<Mapping> mappingsIn(long start, long end) {
        List<Mapping> out = new ArrayList<>();
        if (start >= end) return out;
        for (Vma v : snap.table().slice(start, end)) out.add(v.toMapping());
        return out;
    }

    /**
     * The parts of [start, end) whose bytes may be non-zero, in address order: all of a host-file
     * overlay (a MAP_SHARED file mapping), and elsewhere only the memfd's data extents (memory
     * nobody wrote is a hole there and reads as zero). Lets a scan of new executable memory skip a
     * huge fresh RWX mapping in O(extents) instead of reading it. Lock-free; a snapshot.
     */
    public List<long[]> possiblyNonZero(long start, long end) {
        List<long[]> out = new ArrayList<>();
        if (start >= end) return out;
        for (Vma v : snap.table().slice(start, end)) {
            if (v.kind() == Vma.SHARED_FILE) {
                add(out, v.start(), v.end());
                continue;
            }
            long pos = v.start();
            while (pos < v.end()) {
                long data = HostMm.lseekRaw(arena.memfd, pos, HostMm.SEEK_DATA);
                if (data < 0 || data >= v.end()) break; // ENXIO: no data after pos
                long hole = HostMm.lseekRaw(arena.memfd, data, HostMm.SEEK_HOLE);
                if (hole < 0 || hole > v.end()) hole = v.end();
                add(out, data, hole);
                pos = hole;
            }
        }
        return out;
    }

    private static void add(List<long[]> runs, long s, long e) {
        if (!runs.isEmpty() && runs.getLast()[1] == s) runs.getLast()[1] = e;
        else runs.add(new long[] {s, e});
    }

    /**
     * The host inode of the file behind the MAP_SHARED file mapping containing addr, or -1 (no
     * mapping there, or not a shared file mapping). Lock-free. System V shared memory tells its
     * segments' attachments apart by it.
     */
    public long sharedFileInode(long addr) {
        Vma v = snap.table().find(addr);
        return v == null || v.kind() != Vma.SHARED_FILE ? -1 : v.file().inode;
    }

    /** The mapping containing addr, or null. Lock-free. */
    public Mapping find(long addr) {
        Vma v = snap.table().find(addr);
        return v == null ? null : v.toMapping();
    }

    /** Bumps on every change to the table (and on privileged writes into executable memory). */
    public long version() { return snap.version(); }

    /** The current bounded Unicorn region plan (its version is the table version). Lock-free. */
    public RegionPlan regionPlan() { return snap.plan(); }

    /** Registers a callback run (outside the lock) with each newly published version. */
    public void addChangeListener(LongConsumer listener) { listeners.add(listener); }

    public void removeChangeListener(LongConsumer listener) { listeners.remove(listener); }

    /**
     * Keeps another process's view of the guest memory (a kernel proxy's, mapped read-write at
     * {@link #hostBase()}) at the same host protection as Herd's from now on: the current state
     * is sent at once (everything PROT_NONE, then each protected range), later changes as they
     * happen. MAP_SHARED file overlays are not mirrored: that view keeps the memfd there.
     */
    public void mirrorHostView(HostViewMirror mirror) {
        lock.lock();
        try {
            mirror.protect(arena.hostBase, arena.size, Prot.NONE);
            for (RangeMap.Seg<Integer> s : hostProt.all()) mirror.protect(arena.hostBase + s.start(), s.end() - s.start(), s.value());
            arena.mirror = mirror;
        } finally {
            lock.unlock();
        }
    }

    /** Actual host protection per range, for tests and diagnostics: list of {start, end, prot}. */
    List<long[]> hostProtection() {
        lock.lock();
        try {
            List<long[]> out = new ArrayList<>();
            for (RangeMap.Seg<Integer> s : hostProt.all()) out.add(new long[] {s.start(), s.end(), s.value()});
            return out;
        } finally {
            lock.unlock();
        }
    }

    // ---------------------------------------------------------------- deferred reductions

    /**
     * Applies deferred host-side reductions; call once every engine has synced past the changes.
     * Computed against the current table: stale shared-file overlays on unmapped pages are replaced
     * by the memfd, unmapped pages are released (PUNCH_HOLE), and host protection is set to exactly
     * what the current region plan needs. Unreferenced shared-file descriptors are closed.
     */
    public void releaseDeferred() {
        lock.lock();
        hostLock.writeLock().lock();
        try {
            if (closed) return;
            MappingTable t = snap.table();
            for (RangeMap.Seg<SharedFile> ov : overlays.all()) {
                long pos = ov.start();
                for (Vma p : t.slice(ov.start(), ov.end())) {
                    if (p.start() > pos) dropOverlay(pos, p.start());
                    if (p.file() != ov.value()) dropOverlay(p.start(), p.end());
                    pos = p.end();
                }
                if (pos < ov.end()) dropOverlay(pos, ov.end());
            }
            for (long[] r : pendingPunch) {
                long pos = r[0];
                for (Vma p : t.slice(r[0], r[1])) {
                    if (p.start() > pos) arena.punch(pos, p.start() - pos);
                    pos = p.end();
                }
                if (pos < r[1]) arena.punch(pos, r[1] - pos);
            }
            pendingPunch.clear();
            RegionPlan plan = snap.plan();
            for (RangeMap.Seg<Integer> a : hostProt.all()) {
                long pos = a.start();
                for (RegionPlan.Region r : regionsIn(plan, a.start(), a.end())) {
                    long s = Math.max(r.start(), a.start()), e = Math.min(r.end(), a.end());
                    if (s > pos) setHostProt(pos, s, Prot.NONE);
                    int want = RegionPlanner.hostProt(r.perms());
                    if (want != a.value()) setHostProt(s, e, want);
                    pos = e;
                }
                if (pos < a.end()) setHostProt(pos, a.end(), Prot.NONE);
            }
            raiseHost(plan);
            Set<SharedFile> referenced = new HashSet<>();
            for (int i = 0; i < t.size(); i++) if (t.get(i).file() != null) referenced.add(t.get(i).file());
            for (var it = liveFiles.iterator(); it.hasNext(); ) {
                SharedFile f = it.next();
                if (!referenced.contains(f)) {
                    it.remove();
                    closeFile(f);
                }
            }
        } finally {
            hostLock.writeLock().unlock();
            lock.unlock();
        }
    }

    private void dropOverlay(long s, long e) {
        for (RangeMap.Seg<SharedFile> ov : overlays.segments(s, e)) {
            arena.mapMemfd(ov.start(), ov.end() - ov.start(), Prot.NONE);
            hostProt.put(ov.start(), ov.end(), null);
            overlays.put(ov.start(), ov.end(), null);
        }
    }

    private void setHostProt(long s, long e, int p) {
        arena.protect(s, e - s, p);
        hostProt.put(s, e, p == 0 ? null : p);
    }

    private static List<RegionPlan.Region> regionsIn(RegionPlan plan, long s, long e) {
        List<RegionPlan.Region> rs = plan.regions();
        int lo = 0, hi = rs.size();
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (rs.get(mid).end() > s) hi = mid; else lo = mid + 1;
        }
        List<RegionPlan.Region> out = new ArrayList<>();
        for (int i = lo; i < rs.size() && rs.get(i).start() < e; i++) out.add(rs.get(i));
        return out;
    }

    // ---------------------------------------------------------------- internals

    /** Raises host protection wherever the plan needs more than the host has. */
    private void raiseHost(RegionPlan plan) {
        for (RegionPlan.Region r : plan.regions()) {
            int want = RegionPlanner.hostProt(r.perms());
            if (want == 0) continue;
            long pos = r.start();
            for (RangeMap.Seg<Integer> a : hostProt.segments(r.start(), r.end())) {
                if (a.start() > pos) setHostProt(pos, a.start(), want);
                if ((a.value() | want) != a.value()) setHostProt(a.start(), a.end(), a.value() | want);
                pos = a.end();
            }
            if (pos < r.end()) setHostProt(pos, r.end(), want);
        }
    }

    /** Plans regions for t, raises host protection, publishes; returns the new version. */
    private long commit(MappingTable t, List<long[]> inval) {
        long v = snap.version() + 1;
        RegionPlan plan = RegionPlanner.plan(v, t, regionCap);
        raiseHost(plan);
        for (long[] r : inval) invalidations.add(v, r[0], r[1]);
        if (pendingPunch.size() > 4096) coalescePending();
        snap = new Snapshot(v, t, plan);
        return v;
    }

    private void coalescePending() {
        pendingPunch.sort((a, b) -> Long.compare(a[0], b[0]));
        List<long[]> out = new ArrayList<>();
        for (long[] r : pendingPunch) {
            if (!out.isEmpty() && out.getLast()[1] >= r[0]) out.getLast()[1] = Math.max(out.getLast()[1], r[1]);
            else out.add(r.clone());
        }
        pendingPunch.clear();
        pendingPunch.addAll(out);
    }

    private static void logExecPieces(MappingTable t, long s, long e, List<long[]> inval) {
        for (Vma p : t.slice(s, e)) if ((p.prot() & Prot.EXEC) != 0) inval.add(new long[] {p.start(), p.end()});
    }

    private void notifyListeners(long version) {
        for (LongConsumer l : listeners) l.accept(version);
    }

    private void ensureOpen() {
        if (closed) throw new IllegalStateException("address space closed");
    }

    private void closeFile(SharedFile f) {
        if (!f.closed) {
            f.closed = true;
            try {
                HostMm.close(f.fd);
            } catch (ErrnoException ignored) {
                // already gone
            }
        }
    }

    static long pageUp(long x) { return (x + PAGE - 1) & -PAGE; }

    /** Unmaps both host views, closes the memfd and Herd's duplicates of shared-file fds. Idempotent. */
    @Override
    public void close() {
        lock.lock();
        hostLock.writeLock().lock();
        try {
            if (closed) return;
            closed = true;
            arena.close();
            for (SharedFile f : liveFiles) closeFile(f);
            liveFiles.clear();
        } finally {
            hostLock.writeLock().unlock();
            lock.unlock();
        }
    }

    boolean isClosed() { return closed; }
}
