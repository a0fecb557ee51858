package dev.herd.runtime.mm;

import dev.herd.host.Errno;
import dev.herd.host.ErrnoException;
import dev.herd.host.HostKernel;
import dev.herd.host.HostMm;
import dev.herd.host.HostSyscall;
import dev.herd.memory.GuestAddressSpace;
import dev.herd.memory.GuestMemory;
import dev.herd.memory.MapFlags;
import dev.herd.memory.Mapping;
import dev.herd.memory.Prot;
import dev.herd.runtime.process.SysvSharedSegments;
import dev.herd.runtime.process.SysvSharedSegments.Segment;
import dev.herd.runtime.syscall.SyscallContext;
import dev.herd.runtime.syscall.SyscallTable;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * System V shared memory (shmget, shmat, shmdt, shmctl) with Linux's checks in Linux's order
 * (ipc/shm.c, ipc/util.c). A segment is a memfd of Herd's ({@link SysvSharedSegments}); shmat maps
 * it MAP_SHARED like a file, so attachments are ordinary shared file mappings of the address space
 * and nattch counts the mappings of the segment's memfd, as Linux counts VMAs. Limits (SHMMAX,
 * SHMALL, SHMMNI) are the host's. The caller's credentials are the host's (Herd passes set*id
 * through); euid 0 stands for CAP_IPC_OWNER, CAP_SYS_ADMIN and CAP_IPC_LOCK. x86_64 layouts:
 * shmid64_ds 112 bytes, shminfo64 72, shm_info 48.
 */
public final class SysvSharedMemorySyscalls {
    private SysvSharedMemorySyscalls() {}

    private static final int IPC_CREAT = 01000, IPC_EXCL = 02000;
    private static final int IPC_RMID = 0, IPC_SET = 1, IPC_STAT = 2, IPC_INFO = 3;
    private static final int SHM_LOCK = 11, SHM_UNLOCK = 12, SHM_STAT = 13, SHM_INFO = 14, SHM_STAT_ANY = 15;
    private static final int IPC_64 = 0x100;
    private static final int SHM_NORESERVE = 010000, SHM_HUGETLB = 04000, SHM_HUGE_SHIFT = 26, SHM_HUGE_MASK = 0x3f;
    private static final int SHM_RDONLY = 010000, SHM_RND = 020000, SHM_REMAP = 040000, SHM_EXEC = 0100000;
    private static final int SHMID_DS = 112, SHMINFO = 72, SHM_INFO_SIZE = 48;
    private static final long PAGE = 4096;
    /** Linux's defaults, used when /proc/sys/kernel does not say. */
    private static final long DEFAULT_SHMMAX = -1L - (1L << 24), DEFAULT_SHMALL = DEFAULT_SHMMAX;
    private static final int DEFAULT_SHMMNI = 4096;
    private static final int S_IRUGO = 0444, S_IWUGO = 0222, S_IXUGO = 0111;

    public static void register(SyscallTable t) {
        t.define("shmget", "int size hex", SysvSharedMemorySyscalls::shmget);
        t.define("shmat", "int ptr hex", SysvSharedMemorySyscalls::shmat);
        t.define("shmdt", "ptr", SysvSharedMemorySyscalls::shmdt);
        t.define("shmctl", "int int ptr", SysvSharedMemorySyscalls::shmctl);
    }

    private static SysvSharedSegments segments(SyscallContext ctx) {
        SysvSharedSegments s = ctx.process().sysvShm();
        // Segments marked for removal go once no mapping of them is left (a guest munmap, not only
        // shmdt, may have dropped the last one).
        for (Segment gone : s.sweep(seg -> nattch(ctx, seg))) HostMm.close(gone.memfd);
        return s;
    }

    private static long shmget(SyscallContext ctx, long key, long size, long flags, long d, long e, long f) {
        SysvSharedSegments table = segments(ctx);
        int k = (int) key, flg = (int) flags;
        synchronized (table) {
            Segment s = table.byKey(k);
            if (s == null) {
                if (k != SysvSharedSegments.IPC_PRIVATE && (flg & IPC_CREAT) == 0) return -Errno.ENOENT;
                return create(ctx, table, k, size, flg);
            }
            if ((flg & IPC_CREAT) != 0 && (flg & IPC_EXCL) != 0) return -Errno.EEXIST;
            if (Long.compareUnsigned(s.size, size) < 0) return -Errno.EINVAL;
            if (!permitted(s, flg)) return -Errno.EACCES;
            return s.id;
        }
    }

    private static long create(SyscallContext ctx, SysvSharedSegments table, int key, long size, int flg) {
        if (size < 1 || Long.compareUnsigned(size, sysctl("kernel/shmmax", DEFAULT_SHMMAX)) > 0) return -Errno.EINVAL;
        long pages = Long.divideUnsigned(size + PAGE - 1, PAGE);
        if (Long.compareUnsigned(pages << 12, size) < 0) return -Errno.ENOSPC;
        long total = table.usage()[1];
        if (total + pages < total || Long.compareUnsigned(total + pages, sysctl("kernel/shmall", DEFAULT_SHMALL)) > 0)
            return -Errno.ENOSPC;
        int maxSegments = (int) Math.min(1 << SysvSharedSegments.INDEX_BITS, sysctl("kernel/shmmni", DEFAULT_SHMMNI));
        if (table.highestIndex() + 1 >= maxSegments && table.usage()[0] >= maxSegments) return -Errno.ENOSPC;
        if ((flg & SHM_HUGETLB) != 0) {
            // Linux reserves hugetlbfs pages at creation: EINVAL for a size the host has no pool
            // for, ENOMEM when its pool has too few free pages. The segment itself is ordinary
            // pages: the guest view is mapped at page granularity.
            int log2 = (flg >>> SHM_HUGE_SHIFT) & SHM_HUGE_MASK;
            long hugePage = log2 == 0 ? defaultHugePageSize() : 1L << log2;
            Path pool = hugePagePool(hugePage);
            if (pool == null) return -Errno.EINVAL;
            long need = Long.divideUnsigned(size + hugePage - 1, hugePage);
            if (Long.compareUnsigned(need, sysfsNumber(pool.resolve("free_hugepages"))) > 0) return -Errno.ENOMEM;
        } else if ((flg & SHM_NORESERVE) == 0 && CommitLimit.refuses(pages << 12)) {
            // Linux charges the segment to the commit limit, as mmap and brk (CommitLimit).
            return -Errno.ENOMEM;
        }
        int fd = HostMm.memfdCreate(String.format("SYSV%08x", key), HostMm.MFD_CLOEXEC);
        long inode;
        try {
            HostMm.ftruncate(fd, size);
            inode = HostMm.fstatModeSize(fd)[2];
        } catch (ErrnoException ex) {
            HostMm.close(fd);
            // the memfd is bound by RLIMIT_FSIZE, Linux's shm is not: the closest honest answer
            return ex.errno() == Errno.EFBIG ? -Errno.ENOMEM : -ex.errno();
        }
        Segment s = table.add(key, size, fd, inode, euid(), egid(), flg & 0777, ctx.process().pid(), now(ctx), maxSegments);
        if (s == null) {
            HostMm.close(fd);
            return -Errno.ENOSPC;
        }
        return s.id;
    }

    private static long shmat(SyscallContext ctx, long id, long addr, long flags, long d, long e, long f) {
        int flg = (int) flags;
        if (id < 0 || (int) id != id) return -Errno.EINVAL;
        if (addr != 0) {
            if ((addr & (PAGE - 1)) != 0) {
                if ((flg & SHM_RND) == 0) return -Errno.EINVAL;
                addr &= -PAGE; // SHMLBA is the page size on x86_64
                if (addr == 0 && (flg & SHM_REMAP) != 0) return -Errno.EINVAL;
            }
        } else if ((flg & SHM_REMAP) != 0) {
            return -Errno.EINVAL;
        }
        int prot = (flg & SHM_RDONLY) != 0 ? Prot.READ : Prot.READ | Prot.WRITE;
        int access = (flg & SHM_RDONLY) != 0 ? S_IRUGO : S_IRUGO | S_IWUGO;
        if ((flg & SHM_EXEC) != 0) {
            prot |= Prot.EXEC;
            access |= S_IXUGO;
        }
        SysvSharedSegments table = segments(ctx);
        Segment s = table.byId(id);
        if (s == null) return -Errno.EINVAL;
        if (!permitted(s, access)) return -Errno.EACCES;
        long len = (s.size + PAGE - 1) & -PAGE;
        if (addr != 0 && (flg & SHM_REMAP) == 0) {
            if (addr + len < addr || !space(ctx).mappingsIn(addr, addr + len).isEmpty()) return -Errno.EINVAL;
        }
        int mapFlags = MapFlags.SHARED | (addr != 0 ? MapFlags.FIXED : 0);
        // A read-only attachment maps a read-only descriptor, so mprotect cannot add write (EACCES).
        int fd = (flg & SHM_RDONLY) != 0 ? HostMm.reopenReadOnly(s.memfd) : s.memfd;
        long r;
        try {
            r = MemorySyscalls.map(ctx, addr, s.size, prot, mapFlags, fd, 0, String.format("/SYSV%08x (deleted)", s.key));
        } finally {
            if (fd != s.memfd) HostMm.close(fd);
        }
        synchronized (table) {
            s.atime = now(ctx);
            s.lpid = ctx.process().pid();
        }
        return r;
    }

    /**
     * Linux's shmdt: the first mapping at or above addr that maps a segment from offset
     * (its start - addr) fixes the segment; every mapping of that segment that lies so within
     * [addr, addr + segment size) is unmapped. EINVAL when there is none.
     */
    private static long shmdt(SyscallContext ctx, long addr, long b, long c, long d, long e, long f) {
        if ((addr & (PAGE - 1)) != 0 || addr < 0) return -Errno.EINVAL;
        SysvSharedSegments table = segments(ctx);
        GuestAddressSpace space = space(ctx);
        java.util.List<Mapping> ms = space.mappingsIn(addr, space.size());
        Segment seg = null;
        int i = 0;
        for (; i < ms.size() && seg == null; i++) {
            Mapping m = ms.get(i);
            Segment owner = attachedAt(space, table, m, addr);
            if (owner == null) continue;
            seg = owner;
            MemorySyscalls.unmap(ctx, m.start(), m.end() - m.start());
        }
        if (seg == null) return -Errno.EINVAL;
        long size = (seg.size + PAGE - 1) & -PAGE;
        for (; i < ms.size(); i++) {
            Mapping m = ms.get(i);
            if (m.end() - addr > size) break;
            if (attachedAt(space, table, m, addr) == seg) MemorySyscalls.unmap(ctx, m.start(), m.end() - m.start());
        }
        synchronized (table) {
            seg.dtime = now(ctx);
            seg.lpid = ctx.process().pid();
        }
        segments(ctx); // a removed segment whose last attachment this was goes now
        return 0;
    }

    /** The segment m maps as if attached at addr (its file offset is its distance from addr), or null. */
    private static Segment attachedAt(GuestAddressSpace space, SysvSharedSegments table, Mapping m, long addr) {
        Mapping whole = space.find(m.start());
        if (whole == null || whole.start() != m.start() || m.fileOffset() != m.start() - addr) return null;
        long inode = space.sharedFileInode(m.start());
        return inode < 0 ? null : segmentOfInode(table, inode);
    }
    private static Segment segmentOfInode(SysvSharedSegments table, long inode) {
        synchronized (table) {
            for (int i = 0; i <= table.highestIndex(); i++) {
                Segment s = table.byIndex(i);
                if (s != null && s.inode == inode) return s;
            }
        }
        return null;
    }

    private static long shmctl(SyscallContext ctx, long id, long command, long buf, long d, long e, long f) {
        int cmd = (int) command & ~IPC_64;
        if ((int) command < 0 || id < 0 || (int) id != id) return -Errno.EINVAL;
        SysvSharedSegments table = segments(ctx);
        GuestMemory m = ctx.memory();
        switch (cmd) {
            case IPC_INFO -> {
                ByteBuffer b = le(SHMINFO);
                long mni = sysctl("kernel/shmmni", DEFAULT_SHMMNI);
                b.putLong(sysctl("kernel/shmmax", DEFAULT_SHMMAX)).putLong(1).putLong(mni).putLong(mni)
                        .putLong(sysctl("kernel/shmall", DEFAULT_SHMALL));
                m.write(buf, b.array());
                return Math.max(0, table.highestIndex());
            }
            case SHM_INFO -> {
                long[] usage = table.usage();
                long rss = 0;
                synchronized (table) {
                    for (int i = 0; i <= table.highestIndex(); i++) {
                        Segment s = table.byIndex(i);
                        if (s != null) rss += residentPages(s);
                    }
                }
                ByteBuffer b = le(SHM_INFO_SIZE);
                b.putInt((int) usage[0]).putInt(0).putLong(usage[1]).putLong(rss).putLong(0).putLong(0).putLong(0);
                m.write(buf, b.array());
                return Math.max(0, table.highestIndex());
            }
            case IPC_STAT, SHM_STAT, SHM_STAT_ANY -> {
                Segment s = cmd == IPC_STAT ? table.byId(id) : table.byIndex(id);
                if (s == null) return -Errno.EINVAL;
                if (cmd != SHM_STAT_ANY && !permitted(s, S_IRUGO)) return -Errno.EACCES;
                m.write(buf, shmidDs(ctx, s));
                return cmd == IPC_STAT ? 0 : s.id;
            }
            case IPC_SET -> {
                byte[] in = m.read(buf, SHMID_DS); // copied in first (EFAULT)
                ByteBuffer b = ByteBuffer.wrap(in).order(ByteOrder.LITTLE_ENDIAN);
                Segment s = table.byId(id);
                if (s == null) return -Errno.EINVAL;
                if (!ownerOrAdmin(s)) return -Errno.EPERM;
                synchronized (table) {
                    s.uid = b.getInt(4);
                    s.gid = b.getInt(8);
                    s.mode = (s.mode & ~0777) | (b.getInt(20) & 0777);
                    s.ctime = now(ctx);
                }
                return 0;
            }
            case IPC_RMID -> {
                Segment s = table.byId(id);
                if (s == null) return -Errno.EINVAL;
                if (!ownerOrAdmin(s)) return -Errno.EPERM;
                synchronized (table) {
                    s.mode |= SysvSharedSegments.SHM_DEST;
                    s.key = SysvSharedSegments.IPC_PRIVATE;
                    s.ctime = now(ctx);
                }
                segments(ctx); // destroyed now when nothing is attached
                return 0;
            }
            case SHM_LOCK, SHM_UNLOCK -> {
                Segment s = table.byId(id);
                if (s == null) return -Errno.EINVAL;
                if (euid() != 0) {
                    if (euid() != s.uid && euid() != s.cuid) return -Errno.EPERM;
                    if (cmd == SHM_LOCK && ctx.process().limits().soft(RLIMIT_MEMLOCK) == 0) return -Errno.EPERM;
                }
                synchronized (table) {
                    if (cmd == SHM_LOCK) s.mode |= SysvSharedSegments.SHM_LOCKED;
                    else s.mode &= ~SysvSharedSegments.SHM_LOCKED;
                }
                return 0;
            }
            default -> {
                return -Errno.EINVAL;
            }
        }
    }

    private static final int RLIMIT_MEMLOCK = 8;

    private static byte[] shmidDs(SyscallContext ctx, Segment s) {
        ByteBuffer b = le(SHMID_DS);
        synchronized (ctx.process().sysvShm()) {
            b.putInt(s.key).putInt(s.uid).putInt(s.gid).putInt(s.cuid).putInt(s.cgid).putInt(s.mode);
            b.putShort((short) (s.id >>> SysvSharedSegments.INDEX_BITS)).putShort((short) 0);
            b.position(48);
            b.putLong(s.size).putLong(s.atime).putLong(s.dtime).putLong(s.ctime);
            b.putInt(s.cpid).putInt(s.lpid).putLong(nattch(ctx, s));
        }
        return b.array();
    }

    /** Attachments still mapped: mappings of the segment's memfd (Linux counts its VMAs). */
    private static int nattch(SyscallContext ctx, Segment s) {
        GuestAddressSpace space = space(ctx);
        int n = 0;
        for (Mapping m : space.mappings()) if (space.sharedFileInode(m.start()) == s.inode) n++;
        return n;
    }

    private static long residentPages(Segment s) {
        long pages = 0, pos = 0;
        while (pos < s.size) {
            long data = HostMm.lseekRaw(s.memfd, pos, HostMm.SEEK_DATA);
            if (data < 0 || data >= s.size) break;
            long hole = HostMm.lseekRaw(s.memfd, data, HostMm.SEEK_HOLE);
            if (hole < 0 || hole > s.size) hole = s.size;
            pages += (hole - data + PAGE - 1) / PAGE;
            pos = hole;
        }
        return pages;
    }

    /** Linux's ipcperms: the owner's, group's or others' bits of the mode grant every bit asked for. */
    private static boolean permitted(Segment s, int flag) {
        int requested = ((flag >> 6) | (flag >> 3) | flag) & 7;
        int granted = s.mode;
        int uid = euid();
        if (uid == s.uid || uid == s.cuid) granted >>= 6;
        else if (egid() == s.gid || egid() == s.cgid) granted >>= 3;
        return (requested & ~granted & 7) == 0 || uid == 0;
    }

    private static boolean ownerOrAdmin(Segment s) {
        int uid = euid();
        return uid == 0 || uid == s.uid || uid == s.cuid;
    }

    private static int euid() { return (int) HostKernel.call(HostSyscall.GETEUID); }
    private static int egid() { return (int) HostKernel.call(HostSyscall.GETEGID); }

    private static long now(SyscallContext ctx) {
        return Math.floorDiv(System.currentTimeMillis() * 1_000_000L + ctx.process().clock().realtimeOffsetNanos(), 1_000_000_000L);
    }

    /** A host sysctl (what a native process gets), or Linux's default. */
    private static long sysctl(String name, long fallback) {
        // A line read, not Files.readString: /proc/sys files report size 0, and the JDK's sized
        // read of them returned "1" for shmmax here.
        try (var in = Files.newBufferedReader(Path.of("/proc/sys", name))) {
            return Long.parseUnsignedLong(in.readLine().trim());
        } catch (IOException | NumberFormatException | NullPointerException e) {
            return fallback;
        }
    }

    /** The host's pool directory for huge pages of this size, or null. */
    private static Path hugePagePool(long size) {
        if (size < 4096 || Long.bitCount(size) != 1) return null;
        Path p = Path.of("/sys/kernel/mm/hugepages/hugepages-" + (size >> 10) + "kB");
        return Files.isDirectory(p) ? p : null;
    }

    /** Hugepagesize of /proc/meminfo in bytes, or 0. */
    private static long defaultHugePageSize() {
        try (var in = Files.newBufferedReader(Path.of("/proc/meminfo"))) {
            for (String line; (line = in.readLine()) != null; ) {
                if (line.startsWith("Hugepagesize:")) return Long.parseLong(line.replaceAll("[^0-9]", "")) << 10;
            }
        } catch (IOException | NumberFormatException e) {
            return 0;
        }
        return 0;
    }

    private static long sysfsNumber(Path p) {
        try (var in = Files.newBufferedReader(p)) {
            return Long.parseLong(in.readLine().trim());
        } catch (IOException | NumberFormatException | NullPointerException e) {
            return 0;
        }
    }

    private static ByteBuffer le(int size) { return ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN); }

    private static GuestAddressSpace space(SyscallContext ctx) { return ctx.process().addressSpace(); }
}
