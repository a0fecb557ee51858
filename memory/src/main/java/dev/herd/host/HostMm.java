package dev.herd.host;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Thin, checked wrappers over the host memory-management syscalls Herd's guest address space
 * needs (memfd, mmap family, fallocate, positional I/O, fstat). Every method throws
 * {@link ErrnoException} with the host errno on failure. Stateless; safe from any thread.
 */
public final class HostMm {
    private HostMm() {}

    public static final int PROT_NONE = 0, PROT_READ = 1, PROT_WRITE = 2;
    public static final int MAP_SHARED = 0x01, MAP_PRIVATE = 0x02, MAP_FIXED = 0x10, MAP_ANONYMOUS = 0x20,
            MAP_NORESERVE = 0x4000;
    public static final int MFD_CLOEXEC = 1;
    public static final int FALLOC_FL_KEEP_SIZE = 1, FALLOC_FL_PUNCH_HOLE = 2;
    public static final int SEEK_SET = 0, SEEK_DATA = 3, SEEK_HOLE = 4;
    /** madvise advice (Linux 5.14+): fault a range in writable, in one call. */
    static final int MADV_POPULATE_WRITE = 23;
    public static final int F_GETFL = 3, F_DUPFD_CLOEXEC = 1030;
    public static final int O_ACCMODE = 3, O_RDONLY = 0, O_WRONLY = 1, O_RDWR = 2;
    public static final int S_IFMT = 0xF000, S_IFREG = 0x8000;
    public static final long PAGE_SIZE = 4096;

    /** memfd_create(name, flags); returns the fd. */
    public static int memfdCreate(String name, int flags) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocateFrom(name);
            return (int) HostKernel.check(HostKernel.call(HostSyscall.MEMFD_CREATE, s.address(), flags));
        }
    }

    /** A new read-only, close-on-exec descriptor of fd's file (through /proc/self/fd). */
    public static int reopenReadOnly(int fd) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment path = a.allocateFrom("/proc/self/fd/" + fd);
            return (int) HostKernel.check(HostKernel.call(HostSyscall.OPENAT, -100, path.address(), O_RDONLY | 02000000));
        }
    }

    public static void ftruncate(int fd, long size) {
        HostKernel.check(HostKernel.call(HostSyscall.FTRUNCATE, fd, size));
    }

    /** Raw mmap; returns the host address. */
    public static long mmap(long addr, long len, int prot, int flags, int fd, long off) {
        long r = HostKernel.call(HostSyscall.MMAP, addr, len, prot, flags, fd, off);
        if (r < 0 && r >= -4095) throw new ErrnoException((int) -r);
        return r;
    }

    static final int MAP_FIXED_NOREPLACE = 0x100000;

    /**
     * mmap at {@code hint} exactly if that range is free (MAP_FIXED_NOREPLACE), else at the
     * kernel's choice. For memory a kernel proxy maps at the same address: see {@link SharedScratch}.
     */
    public static long mapHinted(long hint, long len, int prot, int flags, int fd) {
        for (int i = 0; i < 8; i++) {
            long at = hint + i * (len + (1L << 40));
            long r = HostKernel.call(HostSyscall.MMAP, at, len, prot, flags | MAP_FIXED_NOREPLACE, fd, 0);
            if (r == at) return r;
            if (r >= 0) munmap(r, len); // a kernel without MAP_FIXED_NOREPLACE took it as a hint
            else if (r != -Errno.EEXIST) break;
        }
        return mmap(0, len, prot, flags, fd, 0);
    }

    public static void munmap(long addr, long len) {
        HostKernel.check(HostKernel.call(HostSyscall.MUNMAP, addr, len));
    }

    public static void mprotect(long addr, long len, int prot) {
        HostKernel.check(HostKernel.call(HostSyscall.MPROTECT, addr, len, prot));
    }

    public static void fallocate(int fd, int mode, long off, long len) {
        HostKernel.check(HostKernel.call(HostSyscall.FALLOCATE, fd, mode, off, len));
    }

    /** lseek; returns the raw result (offset or -errno), because SEEK_DATA/SEEK_HOLE report ENXIO at EOF. */
    public static long lseekRaw(int fd, long off, int whence) {
        return HostKernel.call(HostSyscall.LSEEK, fd, off, whence);
    }

    /**
     * Faults [addr, addr+len) in writable with one madvise(MADV_POPULATE_WRITE), before a copy into
     * fresh pages: a page fault costs ~14 us per 4 KiB page on the VMs Herd is measured on, a
     * populated page ~1 us. Best effort: false when the kernel refuses (before 5.14: EINVAL), and
     * the copy then faults page by page as before.
     */
    public static boolean populateWrite(long addr, long len) {
        return len > 0 && HostKernel.call(HostSyscall.MADVISE, addr, len, MADV_POPULATE_WRITE) == 0;
    }

    /** pread64 into host memory; returns bytes read (0 at EOF). Retries EINTR. */
    public static long pread(int fd, long buf, long count, long off) {
        while (true) {
            long r = HostKernel.call(HostSyscall.PREAD64, fd, buf, count, off);
            if (r == -Errno.EINTR) continue;
            return HostKernel.check(r);
        }
    }

    /** pwrite64 from host memory; returns bytes written. Retries EINTR. */
    public static long pwrite(int fd, long buf, long count, long off) {
        while (true) {
            long r = HostKernel.call(HostSyscall.PWRITE64, fd, buf, count, off);
            if (r == -Errno.EINTR) continue;
            return HostKernel.check(r);
        }
    }

    public static int fcntlGetFl(int fd) {
        return (int) HostKernel.check(HostKernel.call(HostSyscall.FCNTL, fd, F_GETFL));
    }

    /** Duplicates fd with FD_CLOEXEC set. */
    public static int dupCloexec(int fd) {
        return (int) HostKernel.check(HostKernel.call(HostSyscall.FCNTL, fd, F_DUPFD_CLOEXEC, 0));
    }

    public static void close(int fd) {
        HostKernel.check(HostKernel.call(HostSyscall.CLOSE, fd));
    }

    /** The (st_mode, st_size) of an fd (x86_64 struct stat layout). */
    public static long[] fstatModeSize(int fd) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = a.allocate(144, 8);
            HostKernel.check(HostKernel.call(HostSyscall.FSTAT, fd, st.address()));
            return new long[] {Integer.toUnsignedLong(st.get(ValueLayout.JAVA_INT, 24)), st.get(ValueLayout.JAVA_LONG, 48),
                    st.get(ValueLayout.JAVA_LONG, 8)};
        }
    }
}
