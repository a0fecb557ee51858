package dev.herd.runtime.fs;

import dev.herd.host.HostSyscall;

import dev.herd.host.Errno;
import dev.herd.host.ErrnoException;
import dev.herd.host.HostKernel;
import dev.herd.memory.Prot;
import dev.herd.runtime.syscall.SyscallContext;
import dev.herd.runtime.syscall.SyscallTable;

import java.nio.charset.StandardCharsets;

import static dev.herd.runtime.fs.PathResolver.O_CLOEXEC;
import static dev.herd.runtime.fs.PathResolver.O_CREAT;
import static dev.herd.runtime.fs.PathResolver.O_TRUNC;
import static dev.herd.runtime.fs.PathResolver.O_WRONLY;
import static dev.herd.runtime.fs.Sys.AT_FDCWD;

/** Syscalls that create, duplicate, close or configure fds: open*, close*, dup*, fcntl, pipe*, memfd, eventfd, flock. */
final class FdSyscalls {
    private FdSyscalls() {}

    static final int F_DUPFD = 0, F_GETFD = 1, F_SETFD = 2, F_GETFL = 3, F_SETFL = 4, F_GETLK = 5,
            F_SETLK = 6, F_SETLKW = 7, F_OFD_GETLK = 36, F_OFD_SETLK = 37, F_OFD_SETLKW = 38,
            F_DUPFD_CLOEXEC = 1030, F_SETPIPE_SZ = 1031, F_GETPIPE_SZ = 1032, F_ADD_SEALS = 1033,
            F_GET_SEALS = 1034, F_SETSIG = 10, F_SETLEASE = 1024, F_GETLEASE = 1025, F_NOTIFY = 1026,
            F_SETOWN_EX = 15, F_GETOWN_EX = 16;
    /** sizeof(struct flock) on x86_64. */
    static final int FLOCK_SIZE = 32;
    static final int MFD_CLOEXEC = 1, MFD_NAME_MAX_LEN = 249;

    static void register(SyscallTable t) {
        // Flags are converted to the host's O_* values here, once; everything below uses those.
        t.define("open", "path oflags mode", (ctx, path, flags, mode, d, e, f) ->
                openat(ctx, AT_FDCWD, path, hostFlags(ctx, flags), (int) mode));
        t.define("openat", "dirfd path oflags mode", (ctx, dirfd, path, flags, mode, e, f) ->
                openat(ctx, dirfd, path, hostFlags(ctx, flags), (int) mode));
        t.define("openat2", "dirfd path ptr size", (ctx, dirfd, path, how, size, e, f) ->
                openat2(ctx, dirfd, path, how, size));
        t.define("creat", "path mode", (ctx, path, mode, c, d, e, f) ->
                openat(ctx, AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC, (int) mode));
        t.define("close", "fd", (ctx, fd, b, c, d, e, f) -> Sys.fds(ctx).close((int) fd));
        t.define("close_range", "uint uint hex", (ctx, first, last, flags, d, e, f) -> {
            Sys.fds(ctx).closeRange((int) first, (int) last, (int) flags);
            return 0;
        });
        t.define("dup", "fd", (ctx, fd, b, c, d, e, f) -> Sys.fds(ctx).dup((int) fd));
        t.define("dup2", "fd fd", (ctx, oldfd, newfd, c, d, e, f) -> Sys.fds(ctx).dup2((int) oldfd, (int) newfd));
        t.define("dup3", "fd fd oflags", (ctx, oldfd, newfd, flags, d, e, f) ->
                Sys.fds(ctx).dup3((int) oldfd, (int) newfd, (int) flags));
        t.define("fcntl", "fd fcntlcmd hex", (ctx, fd, cmd, arg, d, e, f) -> fcntl(ctx, (int) fd, (int) cmd, arg));
        t.define("flock", "fd int", (ctx, fd, op, c, d, e, f) -> Sys.onFd(ctx, HostSyscall.FLOCK, Sys.fd(ctx, fd), op));
        t.define("pipe", "ptr", (ctx, fds, b, c, d, e, f) -> pipe2(ctx, fds, 0));
        t.define("pipe2", "ptr oflags", (ctx, fds, flags, c, d, e, f) -> pipe2(ctx, fds, hostFlags(ctx, flags)));
        t.define("memfd_create", "str hex", (ctx, name, flags, c, d, e, f) -> memfdCreate(ctx, name, (int) flags));
        t.define("eventfd", "uint", (ctx, init, b, c, d, e, f) -> eventfd2(ctx, init, 0));
        t.define("eventfd2", "uint hex", (ctx, init, flags, c, d, e, f) -> eventfd2(ctx, init, (int) flags));
        // Every host call of these runs on the side of its fds or the call's host (kernel proxy).
        t.forwardable("close", "close_range", "dup", "dup2", "dup3", "fcntl", "flock", "pipe", "pipe2", "memfd_create", "eventfd", "eventfd2");
    }

    /** The guest's O_* flags as the host numbers them (the architectures differ in four bits). */
    static int hostFlags(SyscallContext ctx, long guestFlags) {
        return ctx.process().arch().abi().openFlagsToHost((int) guestFlags);
    }

    static long openat(SyscallContext ctx, long dirfd, long pathPtr, int flags, int mode) {
        // build_open_flags comes before the path: O_TMPFILE needs O_DIRECTORY, no O_CREAT, and write access
        // (O_PATH keeps only O_DIRECTORY, O_NOFOLLOW and O_CLOEXEC: no O_TMPFILE then)
        if ((flags & 0x200000) == 0 && (flags & 0x400000) != 0 && ((flags & 0x410040) != 0x410000 || (flags & 3) == 0)) {
            return -Errno.EINVAL;
        }
        // Linux 6.4+: O_DIRECTORY | O_CREAT is EINVAL (not under O_PATH, which drops O_CREAT)
        if ((flags & 0x200000) == 0 && (flags & (PathResolver.O_DIRECTORY | PathResolver.O_CREAT)) == (PathResolver.O_DIRECTORY | PathResolver.O_CREAT)) {
            return -Errno.EINVAL;
        }
        String path = Sys.path(ctx, pathPtr);
        PathResolver.checkPath(path);
        // Magic links are only recognised by their absolute spelling, which is how programs use them.
        int host = path.startsWith("/proc/") || path.startsWith("/dev/") ? ProcLinks.open(ctx, path, flags) : -1;
        if (host < 0) host = Sys.paths(ctx).openIn(Sys.dirFd(ctx, dirfd, path), path, flags, mode);
        return Sys.fds(ctx).install(host, (flags & O_CLOEXEC) != 0);
    }

    static final int OPEN_HOW_SIZE_VER0 = 24, PAGE_SIZE = 4096;
    static final int O_PATH_FLAGS = PathResolver.O_DIRECTORY | PathResolver.O_NOFOLLOW | PathResolver.O_PATH | O_CLOEXEC;

    /**
     * openat2: Linux's copy_struct_from_user of the open_how (EINVAL below version 0's 24 bytes,
     * E2BIG above a page or for non-zero bytes past the fields Linux knows), its build_open_flags
     * checks (before the path is read), then a confined lookup with the RESOLVE_* flags
     * ({@link PathResolver#openResolve}). Without RESOLVE_* flags it is openat.
     */
    static long openat2(SyscallContext ctx, long dirfd, long pathPtr, long howPtr, long usize) {
        if (Long.compareUnsigned(usize, OPEN_HOW_SIZE_VER0) < 0) return -Errno.EINVAL;
        if (Long.compareUnsigned(usize, PAGE_SIZE) > 0) return -Errno.E2BIG;
        dev.herd.memory.GuestMemory mem = ctx.memory();
        if (usize > OPEN_HOW_SIZE_VER0) {
            for (byte b : mem.read(howPtr + OPEN_HOW_SIZE_VER0, (int) usize - OPEN_HOW_SIZE_VER0)) {
                if (b != 0) return -Errno.E2BIG;
            }
        }
        byte[] how = mem.read(howPtr, OPEN_HOW_SIZE_VER0);
        java.nio.ByteBuffer bb = java.nio.ByteBuffer.wrap(how).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        // open_how.flags is 64 bits: bits above 31 are invalid on every architecture (checked below).
        long guestFlags = bb.getLong(0);
        long flags = (guestFlags & ~0xffffffffL) | (hostFlags(ctx, guestFlags) & 0xffffffffL), mode = bb.getLong(8),
                resolve = bb.getLong(16);
        // build_open_flags
        long fl = flags & ~(long) O_CLOEXEC;
        if ((fl & ~Integer.toUnsignedLong(PathResolver.VALID_OPEN_FLAGS)) != 0) return -Errno.EINVAL;
        if ((resolve & ~PathResolver.VALID_RESOLVE_FLAGS) != 0) return -Errno.EINVAL;
        if ((resolve & PathResolver.RESOLVE_BENEATH) != 0 && (resolve & PathResolver.RESOLVE_IN_ROOT) != 0) return -Errno.EINVAL;
        int f = (int) flags;
        if ((f & (O_CREAT | PathResolver.O__TMPFILE)) != 0) {
            if ((mode & ~07777L) != 0) return -Errno.EINVAL;
        } else if (mode != 0) {
            return -Errno.EINVAL;
        }
        if ((f & PathResolver.O__TMPFILE) != 0) {
            int mask = PathResolver.O__TMPFILE | PathResolver.O_DIRECTORY | O_CREAT;
            if ((f & mask) != (PathResolver.O__TMPFILE | PathResolver.O_DIRECTORY)) return -Errno.EINVAL;
            if ((f & PathResolver.O_ACCMODE) == PathResolver.O_RDONLY) return -Errno.EINVAL; // no write access
        }
        if ((f & PathResolver.O_PATH) != 0 && (f & ~O_PATH_FLAGS) != 0) return -Errno.EINVAL;
        if ((resolve & PathResolver.RESOLVE_CACHED) != 0 && (f & (O_TRUNC | O_CREAT | PathResolver.O__TMPFILE)) != 0) {
            return -Errno.EAGAIN;
        }
        if (resolve == 0) return openat(ctx, dirfd, pathPtr, f, (int) mode);
        String path = Sys.path(ctx, pathPtr);
        PathResolver.checkPath(path);
        PathResolver r = Sys.paths(ctx);
        boolean scoped = (resolve & (PathResolver.RESOLVE_BENEATH | PathResolver.RESOLVE_IN_ROOT)) != 0;
        boolean absolute = path.charAt(0) == '/';
        int host = -1;
        // Herd's own magic links (/proc/self/fd/N, /dev/stdin...) for an unscoped lookup that may
        // follow them; a scoped one refuses them on the host as Linux does.
        // (RESOLVE_NO_XDEV: the host's walk says EXDEV where it enters the /proc or /dev mount.)
        if (!scoped && absolute && (resolve & PathResolver.RESOLVE_NO_XDEV) == 0
                && (path.startsWith("/proc/") || path.startsWith("/dev/"))) {
            if ((resolve & (PathResolver.RESOLVE_NO_MAGICLINKS | PathResolver.RESOLVE_NO_SYMLINKS)) == 0) {
                host = ProcLinks.open(ctx, path, f);
            } else if (ProcLinks.isMagic(ctx, path)) {
                // the guest's own magic links, which the host would answer for the JVM
                return -Errno.ELOOP;
            }
        }
        if (host < 0) {
            int dir;
            if ((int) dirfd == AT_FDCWD) {
                dir = AT_FDCWD;
            } else if (absolute && (!scoped || (resolve & PathResolver.RESOLVE_BENEATH) != 0)) {
                dir = AT_FDCWD; // the dirfd is not looked at (BENEATH: EXDEV)
            } else {
                dir = Sys.fd(ctx, dirfd);
            }
            host = r.openResolve(dir, path, f, (int) mode, resolve);
        }
        return Sys.fds(ctx).install(host, (f & O_CLOEXEC) != 0);
    }

    static long fcntl(SyscallContext ctx, int fd, int cmd, long arg) {
        FdTable fds = Sys.fds(ctx);
        int host = fds.get(fd);
        return switch (cmd) {
            case F_DUPFD -> fds.dupMin(fd, (int) arg, false);
            case F_DUPFD_CLOEXEC -> fds.dupMin(fd, (int) arg, true);
            case F_GETFD -> fds.getFdFlags(fd);
            case F_SETFD -> {
                fds.setCloexec(fd, (arg & FdTable.FD_CLOEXEC) != 0);
                yield 0;
            }
            case F_GETFL -> {
                long fl = Sys.onFd(ctx, HostSyscall.FCNTL, host, cmd);
                // a signalfd is opened O_RDWR (Herd's pipe end is read-only)
                if (fl >= 0 && Sys.isSignalfd(ctx, host)) fl = (fl & ~PathResolver.O_ACCMODE) | PathResolver.O_RDWR;
                yield fl < 0 ? fl : ctx.process().arch().abi().openFlagsToGuest((int) fl);
            }
            case F_GETPIPE_SZ, F_GET_SEALS -> Sys.onFd(ctx, HostSyscall.FCNTL, host, cmd);
            case F_SETFL -> Sys.onFd(ctx, HostSyscall.FCNTL, host, cmd, hostFlags(ctx, arg));
            case F_SETPIPE_SZ, F_ADD_SEALS -> Sys.onFd(ctx, HostSyscall.FCNTL, host, cmd, (int) arg);
            // struct flock has no fds inside; l_pid reads back host pids (guest pids are host tids)
            case F_GETLK, F_OFD_GETLK -> Sys.onFd(ctx, HostSyscall.FCNTL, host, cmd, Sys.out(ctx, arg, FLOCK_SIZE));
            case F_SETLK, F_SETLKW, F_OFD_SETLK, F_OFD_SETLKW ->
                    Sys.onFd(ctx, HostSyscall.FCNTL, host, cmd, Sys.in(ctx, arg, FLOCK_SIZE));
            case F_GETLEASE -> Sys.onFd(ctx, HostSyscall.FCNTL, host, cmd);
            // Directory notifications and lease breaks signal the fd's owner, which the kernel
            // sets to the caller's process: the JVM. Their host signal is Herd's interrupt signal
            // (a no-op handler; a blocked guest call it hits restarts), never SIGIO, whose default
            // action would end the JVM. The registration is real; the guest gets no SIGIO for it.
            case F_NOTIFY, F_SETLEASE -> {
                long r = Sys.onFd(ctx, HostSyscall.FCNTL, host, F_SETSIG, dev.herd.threads.HostCallInterrupter.SIGNAL);
                yield r < 0 ? r : Sys.onFd(ctx, HostSyscall.FCNTL, host, cmd, arg);
            }
            // No fd ever has an owner here (SIGIO would go to the JVM): F_GETOWN_EX reports none
            // as Linux does ({F_OWNER_PID, 0}); F_SETOWN_EX reads its struct (EFAULT) and checks
            // the type (EINVAL) as Linux does, and clears the owner for pid 0; setting one is
            // unsupported (EINVAL)
            case F_GETOWN_EX -> {
                ctx.memory().write(arg, new byte[] {1, 0, 0, 0, 0, 0, 0, 0});
                yield 0;
            }
            case F_SETOWN_EX -> {
                int type = ctx.memory().readInt(arg), pid = ctx.memory().readInt(arg + 4);
                yield type >= 0 && type <= 2 && pid == 0 ? 0 : -Errno.EINVAL;
            }
            default -> -Errno.EINVAL;
        };
    }

    static long pipe2(SyscallContext ctx, long fdsPtr, int flags) {
        // Linux checks the flags first (O_CLOEXEC, O_NONBLOCK, O_DIRECT, O_NOTIFICATION_PIPE)
        if ((flags & ~(0x80000 | 0x800 | 0x4000 | 0x80)) != 0) return -Errno.EINVAL;
        return newPair(ctx, fdsPtr, (flags & O_CLOEXEC) != 0, p -> ctx.host().call(HostSyscall.PIPE2, p, flags | O_CLOEXEC));
    }

    /** A host call that stores two new fds at a host address (pipe2, socketpair). */
    interface HostPairCall {
        long call(long hostIntPair);
    }

    /**
     * pipe2 and socketpair: checks the guest's int[2] first, lets the host create the pair (always
     * close-on-exec on the host), then installs both as guest fds there.
     */
    static long newPair(SyscallContext ctx, long fdsPtr, boolean cloexec, HostPairCall create) {
        // the int[2] is checked when the pair is stored (installPair), after the kernel's own checks
        Scratch s = Scratch.get();
        int m = s.mark();
        int h0, h1;
        try {
            long p = s.alloc(8);
            long r = create.call(p);
            if (r < 0) return r;
            h0 = Scratch.getInt(p);
            h1 = Scratch.getInt(p + 4);
        } finally {
            s.release(m);
        }
        return installPair(ctx, ctx.host().handle(h0), ctx.host().handle(h1), cloexec, fdsPtr);
    }

    /**
     * Installs two new host fds (pipe2, socketpair) as guest fds and stores them at {@code fdsPtr};
     * on any failure nothing stays open. Ownership of both host fds passes here.
     */
    private static long installPair(SyscallContext ctx, int h0, int h1, boolean cloexec, long fdsPtr) {
        FdTable fds = Sys.fds(ctx);
        int g0;
        try {
            g0 = fds.install(h0, cloexec);
        } catch (ErrnoException e) {
            Sys.onFd(ctx, HostSyscall.CLOSE, h1); // install closed h0
            throw e;
        }
        int g1;
        try {
            g1 = fds.install(h1, cloexec);
        } catch (ErrnoException e) {
            fds.close(g0); // install closed h1
            throw e;
        }
        try {
            ctx.memory().writeInt(fdsPtr, g0);
            ctx.memory().writeInt(fdsPtr + 4, g1);
        } catch (ErrnoException e) {
            fds.close(g0);
            fds.close(g1);
            throw e;
        }
        return 0;
    }

    static long memfdCreate(SyscallContext ctx, long namePtr, int flags) {
        // the flags first (MFD_CLOEXEC|ALLOW_SEALING|HUGETLB|NOEXEC_SEAL|EXEC, huge-page sizes with HUGETLB)
        int allowed = 0x1f | ((flags & 4) != 0 ? 0x3f << 26 : 0);
        if ((flags & ~allowed) != 0 || ((flags & 0x10) != 0 && (flags & 8) != 0)) return -Errno.EINVAL;
        byte[] name;
        try {
            name = ctx.memory().readCStringBytes(namePtr, MFD_NAME_MAX_LEN + 1);
        } catch (ErrnoException e) {
            if (e.errno() == Errno.ENAMETOOLONG) return -Errno.EINVAL;
            throw e;
        }
        if (name.length > MFD_NAME_MAX_LEN) return -Errno.EINVAL;
        long r = Sys.withCStr(new String(name, StandardCharsets.ISO_8859_1),
                p -> ctx.host().call(HostSyscall.MEMFD_CREATE, p, flags | MFD_CLOEXEC));
        return Sys.install(ctx, ctx.host(), r, (flags & MFD_CLOEXEC) != 0);
    }

    static long eventfd2(SyscallContext ctx, long initval, int flags) {
        long r = ctx.host().call(HostSyscall.EVENTFD2, initval & 0xffffffffL, flags | O_CLOEXEC);
        return Sys.install(ctx, ctx.host(), r, (flags & O_CLOEXEC) != 0);
    }
}
