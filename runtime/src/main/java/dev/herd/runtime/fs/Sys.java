package dev.herd.runtime.fs;

import dev.herd.host.Errno;
import dev.herd.host.ErrnoException;
import dev.herd.host.HostFd;
import dev.herd.host.HostKernel;
import dev.herd.host.HostOps;
import dev.herd.memory.GuestMemory;
import dev.herd.memory.Prot;
import dev.herd.runtime.syscall.SyscallContext;

import java.nio.charset.StandardCharsets;

/** Small helpers shared by the file syscall handlers. */
final class Sys {
    private Sys() {}

    static final int AT_FDCWD = PathResolver.AT_FDCWD;
    static final long MAX_RW_COUNT = GuestMemory.MAX_RW_COUNT;

    /**
     * Host fd handle of a guest fd argument (EBADF if not open). In a forwarded call, a local fd is
     * given to the proxy first, so that the call runs where it was sent.
     */
    static int fd(SyscallContext ctx, long guestFd) {
        FdTable fds = ctx.process().fds();
        int h = fds.get((int) guestFd);
        return ctx.forwarded() ? fds.sides().inProxy(h) : h;
    }

    /** Host call {@code nr} on fd handle {@code h} (its first argument), run on the fd's side. */
    static long onFd(SyscallContext ctx, long nr, int h) {
        return onFd(ctx, nr, h, 0, 0, 0, 0, 0);
    }

    static long onFd(SyscallContext ctx, long nr, int h, long a1) {
        return onFd(ctx, nr, h, a1, 0, 0, 0, 0);
    }

    static long onFd(SyscallContext ctx, long nr, int h, long a1, long a2) {
        return onFd(ctx, nr, h, a1, a2, 0, 0, 0);
    }

    static long onFd(SyscallContext ctx, long nr, int h, long a1, long a2, long a3) {
        return onFd(ctx, nr, h, a1, a2, a3, 0, 0);
    }

    static long onFd(SyscallContext ctx, long nr, int h, long a1, long a2, long a3, long a4) {
        return onFd(ctx, nr, h, a1, a2, a3, a4, 0);
    }

    static long onFd(SyscallContext ctx, long nr, int h, long a1, long a2, long a3, long a4, long a5) {
        return ctx.process().fds().sides().of(h).call(nr, HostFd.number(h), a1, a2, a3, a4, a5);
    }

    /** The side fd handle {@code h} lives on. */
    static HostOps side(SyscallContext ctx, int h) {
        return ctx.process().fds().sides().of(h);
    }

    /**
     * Two fd handles one host call takes together (sendfile, splice, ...): both on one side, the
     * proxy's when either lives there.
     */
    static int[] together(SyscallContext ctx, int a, int b) {
        if (HostFd.isProxy(a) == HostFd.isProxy(b)) return new int[]{a, b};
        HostSides sides = ctx.process().fds().sides();
        return new int[]{sides.inProxy(a), sides.inProxy(b)};
    }

    /**
     * Fd handle {@code h} on the side of {@code anchor} (an epoll instance, a socket that carries
     * it): a local fd is imported into the proxy; a proxy fd cannot join a local epoll set (EPERM,
     * as Linux answers for a file it cannot poll: forward epoll_create1 with the sockets).
     */
    static int sideOf(SyscallContext ctx, int anchor, int h) {
        if (HostFd.isProxy(anchor) == HostFd.isProxy(h)) return h;
        if (HostFd.isProxy(anchor)) return ctx.process().fds().sides().inProxy(h);
        throw new ErrnoException(Errno.EPERM);
    }

    /** Installs a host fd made by {@code side} as a new guest fd (the table closes it on failure). */
    static long install(SyscallContext ctx, HostOps side, long r, boolean cloexec) {
        if (r < 0) return r;
        return ctx.process().fds().install(side.handle((int) r), cloexec);
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
            if (onFd(ctx, dev.herd.host.HostSyscall.FSTAT, h, st) == 0 && (Scratch.getInt(st + 24) & 0170000) != 0140000) {
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
