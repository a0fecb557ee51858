package dev.herd.runtime.fs;

import dev.herd.host.Errno;
import dev.herd.host.ErrnoException;
import dev.herd.host.HostKernel;
import dev.herd.memory.GuestMemory;
import dev.herd.memory.Prot;
import dev.herd.runtime.syscall.SyscallContext;

import java.nio.charset.StandardCharsets;

/** Small helpers shared by the file syscall handlers. */
final class Sys {
    private Sys() {}

    static final int AT_FDCWD = PathResolver.AT_FDCWD;
    static final long MAX_RW_COUNT = GuestMemory.MAX_RW_COUNT;

    /** Host fd of a guest fd argument (EBADF if not open). */
    static int fd(SyscallContext ctx, long guestFd) {
        return ctx.process().fds().get((int) guestFd);
    }

    /**
     * Whether host fd h is a guest signalfd. Herd backs one with a pipe's read end, so the calls a
     * signalfd answers differently from a pipe ask first: write is EINVAL (no write operation),
     * lseek is a no-op at 0, F_GETFL shows O_RDWR.
     */
    static boolean isSignalfd(SyscallContext ctx, int h) {
        var delivery = ctx.process().delivery();
        return delivery != null && delivery.signalFds().isSignalfd(h);
    }

    /**
     * Host fd of a guest fd argument that must be a socket: EBADF if not open, ENOTSOCK if not a
     * socket, checked before any pointer as the kernel's sockfd_lookup does.
     */
    static int socket(SyscallContext ctx, long guestFd) {
        int h = fd(ctx, guestFd);
        Scratch s = Scratch.get();
        int m = s.mark();
        try {
            long st = s.alloc(144);
            if (HostKernel.call(dev.herd.host.HostSyscall.FSTAT, h, st) == 0 && (Scratch.getInt(st + 24) & 0170000) != 0140000) {
                throw new ErrnoException(Errno.ENOTSOCK);
            }
        } finally {
            s.release(m);
        }
        return h;
    }

    /**
     * Linux's access_ok: EFAULT unless [g, g+len) lies below the top of the user address space
     * (nothing about what is mapped there). For calls that range-check a buffer before anything
     * else.
     */
    static void accessOk(long g, long len) {
        long sum = g + len;
        if (Long.compareUnsigned(sum, GuestMemory.TASK_SIZE_MAX) > 0 || Long.compareUnsigned(sum, g) < 0) {
            throw new ErrnoException(Errno.EFAULT);
        }
    }

    /**
     * The count to give the host with a buffer from {@link #out}/{@link #in} (n: the count clamped
     * to MAX_RW_COUNT): n when Linux's access_ok passes for [g, g+count) (the host's own check,
     * on the arena address, would refuse a long range the guest's user space holds), else count
     * as given, so that the host refuses it (EFAULT) after its other checks, as Linux does.
     */
    static long hostCount(long g, long count, long n) {
        long sum = g + count;
        boolean ok = Long.compareUnsigned(sum, GuestMemory.TASK_SIZE_MAX) <= 0 && Long.compareUnsigned(sum, g) >= 0;
        return ok ? n : count;
    }

    static FdTable fds(SyscallContext ctx) { return ctx.process().fds(); }

    static PathResolver paths(SyscallContext ctx) { return ctx.process().paths(); }

    /** A guest path argument: EFAULT for a bad pointer, ENAMETOOLONG past PATH_MAX - 1 bytes. */
    static String path(SyscallContext ctx, long g) {
        byte[] b = ctx.memory().readCStringBytes(g, PathResolver.PATH_MAX);
        if (b.length >= PathResolver.PATH_MAX) throw new ErrnoException(Errno.ENAMETOOLONG);
        return new String(b, StandardCharsets.ISO_8859_1);
    }

    /**
     * The host dirfd to resolve {@code path} from: AT_FDCWD for absolute paths (Linux ignores the
     * dirfd then, even a bad one) and for AT_FDCWD, else the guest dirfd's host fd (EBADF).
     */
    static int dirFd(SyscallContext ctx, long guestDirFd, String path) {
        if ((int) guestDirFd == AT_FDCWD || (!path.isEmpty() && path.charAt(0) == '/')) return AT_FDCWD;
        return fd(ctx, guestDirFd);
    }

    /**
     * Host address of a guest buffer the host kernel will write. Not checked here: the host kernel
     * faults where Linux would, after the checks Linux makes first, and writes up to the fault
     * where Linux does (GuestMemory#hostPointer). Never for buffers Java itself accesses.
     */
    static long out(SyscallContext ctx, long g, long len) {
        return ctx.memory().hostPointer(g, len);
    }

    /** Host address of a guest buffer the host kernel will read (not checked here, as {@link #out}). */
    static long in(SyscallContext ctx, long g, long len) {
        return ctx.memory().hostPointer(g, len);
    }

    /** Nullable in/out pointer (e.g. loff_t *), passed to the host kernel as {@link #out}. */
    static long inOutOrNull(SyscallContext ctx, long g, long len) {
        return g == 0 ? 0 : ctx.memory().hostPointer(g, len);
    }

    static long inOrNull(SyscallContext ctx, long g, long len) {
        return g == 0 ? 0 : ctx.memory().hostPointer(g, len);
    }

    /**
     * A guest {@code struct timespec} timeout as {sec, nsec}: null for a NULL pointer (wait
     * forever), EINVAL for a negative or out-of-range value, EFAULT for a bad pointer.
     */
    static long[] timeout(SyscallContext ctx, long tsp) {
        if (tsp == 0) return null;
        long sec = ctx.memory().readLong(tsp), nsec = ctx.memory().readLong(tsp + 8);
        if (sec < 0 || nsec < 0 || nsec >= 1_000_000_000L) throw new ErrnoException(Errno.EINVAL);
        return new long[]{sec, nsec};
    }

    /** Linux clamps read/write counts to MAX_RW_COUNT (a negative size_t is left to fault). */
    static long clampCount(long count) {
        return count >= 0 && count > MAX_RW_COUNT ? MAX_RW_COUNT : count;
    }

    /** Throws the host error, or returns the result. */
    static long check(long r) {
        return HostKernel.check(r);
    }

    /** Host call with one scratch C string: op receives its native address. */
    /**
     * A host call that fills a struct stat, into the guest's buffer at {@code buf}: directly when
     * the guest's struct stat is the host's, else through scratch memory and the architecture's
     * conversion (copied out only on success, as the kernel's cp_new_stat).
     */
    static long stat(SyscallContext ctx, long buf, WithPtr hostCall) {
        dev.herd.runtime.arch.GuestAbi abi = ctx.process().arch().abi();
        if (abi.hostStat()) return hostCall.call(out(ctx, buf, dev.herd.runtime.arch.GuestAbi.HOST_STAT_SIZE));
        Scratch s = Scratch.get();
        int m = s.mark();
        try {
            long st = s.alloc(dev.herd.runtime.arch.GuestAbi.HOST_STAT_SIZE);
            long r = hostCall.call(st);
            if (r < 0) return r;
            ctx.memory().write(buf, abi.statFromHost(Scratch.bytes(st, dev.herd.runtime.arch.GuestAbi.HOST_STAT_SIZE)));
            return r;
        } finally {
            s.release(m);
        }
    }

    interface WithPtr {
        long call(long p);
    }

    static long withCStr(String s, WithPtr op) {
        Scratch sc = Scratch.get();
        int m = sc.mark();
        try {
            return op.call(sc.cstr(s));
        } finally {
            sc.release(m);
        }
    }

    interface WithPtr2 {
        long call(long p, long q);
    }

    static long withCStr(String s1, String s2, WithPtr2 op) {
        Scratch sc = Scratch.get();
        int m = sc.mark();
        try {
            return op.call(sc.cstr(s1), sc.cstr(s2));
        } finally {
            sc.release(m);
        }
    }
}
