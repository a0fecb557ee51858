package dev.herd.runtime.fs;

import dev.herd.host.HostSyscall;

import dev.herd.host.Errno;
import dev.herd.host.ErrnoException;
import dev.herd.host.HostKernel;
import dev.herd.memory.GuestMemory;
import dev.herd.runtime.syscall.SyscallContext;
import dev.herd.runtime.syscall.SyscallTable;

import static dev.herd.runtime.fs.PathResolver.AT_EACCESS;
import static dev.herd.runtime.fs.PathResolver.AT_EMPTY_PATH;
import static dev.herd.runtime.fs.PathResolver.AT_NO_AUTOMOUNT;
import static dev.herd.runtime.fs.PathResolver.AT_REMOVEDIR;
import static dev.herd.runtime.fs.PathResolver.AT_SYMLINK_FOLLOW;
import static dev.herd.runtime.fs.PathResolver.AT_SYMLINK_NOFOLLOW;
import static dev.herd.runtime.fs.PathResolver.S_IFMT;
import static dev.herd.runtime.fs.Sys.AT_FDCWD;

/**
 * Syscalls that name files by path: the stat family, access, readlink, mkdir/mknod, unlink/rmdir,
 * rename, link, symlink, chmod/chown, truncate, the utime family, statfs, chdir/getcwd, umask.
 *
 * <p>Every lookup is confined by {@link PathResolver}: "follow" operations act on an O_PATH fd of
 * the resolved file (AT_EMPTY_PATH, or the host magic link /proc/self/fd/N where a call has no
 * AT_EMPTY_PATH); operations on the final name itself use its confined parent directory.
 */
public final class PathSyscalls {
    private PathSyscalls() {}

    static final int STAT_SIZE = 144, STATX_SIZE = 256, STATFS_SIZE = 120;
    static final int AT_STATX_SYNC_TYPE = 0x6000;
    static final int S_IFREG = 0100000, S_IFCHR = 0020000, S_IFBLK = 0060000, S_IFIFO = 0010000,
            S_IFSOCK = 0140000;

    static void register(SyscallTable t) {
        // ---- stat family (passed through where the guest's struct stat is the host's, else converted)
        t.define("stat", "path ptr", (ctx, path, buf, c, d, e, f) -> fstatat(ctx, AT_FDCWD, path, buf, 0));
        t.define("lstat", "path ptr", (ctx, path, buf, c, d, e, f) ->
                fstatat(ctx, AT_FDCWD, path, buf, AT_SYMLINK_NOFOLLOW));
        t.define("newfstatat", "dirfd path ptr atflags", (ctx, dirfd, path, buf, flags, e, f) ->
                fstatat(ctx, dirfd, path, buf, (int) flags));
        t.define("fstat", "fd ptr", (ctx, fd, buf, c, d, e, f) -> {
            int h = Sys.fd(ctx, fd);
            return Sys.stat(ctx, buf, p -> Sys.onFd(ctx, HostSyscall.FSTAT, h, p));
        });
        t.define("statx", "dirfd path atflags hex ptr", (ctx, dirfd, path, flags, mask, buf, f) -> {
            int fl = (int) flags;
            if ((fl & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT | AT_STATX_SYNC_TYPE)) != 0
                    || (fl & AT_STATX_SYNC_TYPE) == AT_STATX_SYNC_TYPE) return -Errno.EINVAL;
            if ((mask & 0x80000000L) != 0) return -Errno.EINVAL; // STATX__RESERVED, before the path
            try (PathResolver.Target tg = target(ctx, dirfd, path, fl, (fl & AT_SYMLINK_NOFOLLOW) == 0)) {
                int hostFlags = tg.noFollowFlag() | (fl & (AT_NO_AUTOMOUNT | AT_STATX_SYNC_TYPE));
                long p = Sys.out(ctx, buf, STATX_SIZE);
                return Sys.withCStr(tg.name(), n -> Sys.onFd(ctx, HostSyscall.STATX, tg.dirFd(), n, hostFlags, mask, p));
            }
        });
        t.define("statfs", "path ptr", (ctx, path, buf, c, d, e, f) -> {
            try (PathResolver.Target tg = target(ctx, AT_FDCWD, path, 0, true)) {
                return HostKernel.call(HostSyscall.FSTATFS, tg.dirFd(), Sys.out(ctx, buf, STATFS_SIZE));
            }
        });
        t.define("fstatfs", "fd ptr", (ctx, fd, buf, c, d, e, f) -> {
            int h = Sys.fd(ctx, fd);
            return Sys.onFd(ctx, HostSyscall.FSTATFS, h, Sys.out(ctx, buf, STATFS_SIZE));
        });

        // ---- access
        t.define("access", "path int", (ctx, path, mode, c, d, e, f) -> faccessat(ctx, AT_FDCWD, path, mode, 0));
        t.define("faccessat", "dirfd path int", (ctx, dirfd, path, mode, d, e, f) ->
                faccessat(ctx, dirfd, path, mode, 0));
        t.define("faccessat2", "dirfd path int atflags", (ctx, dirfd, path, mode, flags, e, f) ->
                faccessat(ctx, dirfd, path, mode, (int) flags));

        // ---- readlink
        t.define("readlink", "path buf_out:ret int", (ctx, path, buf, size, d, e, f) ->
                readlinkat(ctx, AT_FDCWD, path, buf, size));
        t.define("readlinkat", "dirfd path buf_out:ret int", (ctx, dirfd, path, buf, size, e, f) ->
                readlinkat(ctx, dirfd, path, buf, size));

        // ---- create / remove names (never follow the final component)
        t.define("mkdir", "path mode", (ctx, path, mode, c, d, e, f) -> mkdirat(ctx, AT_FDCWD, path, (int) mode));
        t.define("mkdirat", "dirfd path mode", (ctx, dirfd, path, mode, d, e, f) -> mkdirat(ctx, dirfd, path, (int) mode));
        t.define("mknod", "path mode hex", (ctx, path, mode, dev, d, e, f) ->
                mknodat(ctx, AT_FDCWD, path, (int) mode, dev));
        t.define("mknodat", "dirfd path mode hex", (ctx, dirfd, path, mode, dev, e, f) ->
                mknodat(ctx, dirfd, path, (int) mode, dev));
        t.define("rmdir", "path", (ctx, path, b, c, d, e, f) -> unlinkat(ctx, AT_FDCWD, path, AT_REMOVEDIR));
        t.define("unlink", "path", (ctx, path, b, c, d, e, f) -> unlinkat(ctx, AT_FDCWD, path, 0));
        t.define("unlinkat", "dirfd path atflags", (ctx, dirfd, path, flags, d, e, f) ->
                unlinkat(ctx, dirfd, path, (int) flags));
        t.define("rename", "path path", (ctx, o, n, c, d, e, f) -> renameat2(ctx, AT_FDCWD, o, AT_FDCWD, n, 0));
        t.define("renameat", "dirfd path dirfd path", (ctx, od, o, nd, n, e, f) -> renameat2(ctx, od, o, nd, n, 0));
        t.define("renameat2", "dirfd path dirfd path hex", (ctx, od, o, nd, n, flags, f) ->
                renameat2(ctx, od, o, nd, n, flags));
        t.define("link", "path path", (ctx, o, n, c, d, e, f) -> linkat(ctx, AT_FDCWD, o, AT_FDCWD, n, 0));
        t.define("linkat", "dirfd path dirfd path atflags", (ctx, od, o, nd, n, flags, f) ->
                linkat(ctx, od, o, nd, n, (int) flags));
        t.define("symlink", "str path", (ctx, target, link, c, d, e, f) -> symlinkat(ctx, target, AT_FDCWD, link));
        t.define("symlinkat", "str dirfd path", (ctx, target, dirfd, link, d, e, f) -> symlinkat(ctx, target, dirfd, link));

        // ---- attributes
        t.define("chmod", "path mode", (ctx, path, mode, c, d, e, f) -> fchmodat(ctx, AT_FDCWD, path, mode));
        t.define("fchmod", "fd mode", (ctx, fd, mode, c, d, e, f) ->
                HostKernel.call(HostSyscall.FCHMOD, Sys.fd(ctx, fd), mode & 07777));
        t.define("fchmodat", "dirfd path mode", (ctx, dirfd, path, mode, d, e, f) -> fchmodat(ctx, dirfd, path, mode));
        t.define("chown", "path int int", (ctx, path, uid, gid, d, e, f) -> fchownat(ctx, AT_FDCWD, path, uid, gid, 0));
        t.define("lchown", "path int int", (ctx, path, uid, gid, d, e, f) ->
                fchownat(ctx, AT_FDCWD, path, uid, gid, AT_SYMLINK_NOFOLLOW));
        t.define("fchown", "fd int int", (ctx, fd, uid, gid, d, e, f) ->
                HostKernel.call(HostSyscall.FCHOWN, Sys.fd(ctx, fd), (int) uid, (int) gid));
        t.define("fchownat", "dirfd path int int atflags", (ctx, dirfd, path, uid, gid, flags, f) ->
                fchownat(ctx, dirfd, path, uid, gid, (int) flags));
        t.define("truncate", "path int", (ctx, path, len, c, d, e, f) -> {
            if (len < 0) return -Errno.EINVAL; // before the path, as Linux
            try (PathResolver.Target tg = target(ctx, AT_FDCWD, path, 0, true)) {
                return Sys.withCStr(PathResolver.procFd(tg.dirFd()), p -> HostKernel.call(HostSyscall.TRUNCATE, p, len));
            }
        });
        t.define("utimensat", "dirfd path ptr atflags", (ctx, dirfd, path, times, flags, e, f) -> {
            if (times != 0) ctx.memory().read(times, 32); // Linux copies the times in first
            long hostTimes = Sys.inOrNull(ctx, times, 32);
            return utimens(ctx, dirfd, path, hostTimes, (int) flags);
        });
        t.define("utimes", "path ptr", (ctx, path, tv, c, d, e, f) -> utimesTimeval(ctx, AT_FDCWD, path, tv));
        t.define("futimesat", "dirfd path ptr", (ctx, dirfd, path, tv, d, e, f) -> utimesTimeval(ctx, dirfd, path, tv));
        t.define("utime", "path ptr", (ctx, path, buf, c, d, e, f) -> {
            if (buf == 0) return utimens(ctx, AT_FDCWD, path, 0, 0);
            long at = ctx.memory().readLong(buf), mt = ctx.memory().readLong(buf + 8);
            return withTimespecs(at, 0, mt, 0, ts -> utimens(ctx, AT_FDCWD, path, ts, 0));
        });

        // ---- cwd and umask
        t.define("chdir", "path", (ctx, path, b, c, d, e, f) -> {
            String p = Sys.path(ctx, path);
            Sys.paths(ctx).chdir(AT_FDCWD, p);
            return 0;
        });
        t.define("fchdir", "fd", (ctx, fd, b, c, d, e, f) -> {
            Sys.paths(ctx).fchdir(Sys.fd(ctx, fd));
            return 0;
        });
        t.define("chroot", "path", (ctx, path, b, c, d, e, f) -> {
            String p = Sys.path(ctx, path);
            PathResolver.checkPath(p);
            // a following lookup (the guest's magic links too); the new root must lie in the rootfs
            try (PathResolver.Target tg = follow(ctx, AT_FDCWD, p)) {
                Sys.paths(ctx).chroot(tg.dirFd(), hasCapability(CAP_SYS_CHROOT));
            }
            return 0;
        });
        t.define("getcwd", "ptr size", (ctx, buf, size, c, d, e, f) -> {
            byte[] cwd = Sys.paths(ctx).getcwdBytes();
            if (Long.compareUnsigned(size, cwd.length + 1L) < 0) return -Errno.ERANGE;
            byte[] z = java.util.Arrays.copyOf(cwd, cwd.length + 1);
            ctx.memory().write(buf, z);
            return z.length;
        });
        t.define("umask", "mode", (ctx, mask, b, c, d, e, f) -> Sys.paths(ctx).umask((int) mask));
    }

    static final int CAP_SYS_CHROOT = 18;
    private static final int LINUX_CAPABILITY_VERSION_3 = 0x20080522;

    /**
     * Whether the calling guest thread has a capability in its effective set. Guest credentials are
     * the host thread's (CredentialSyscalls), so this is the host's capget on this thread.
     */
    static boolean hasCapability(int cap) {
        Scratch s = Scratch.get();
        int m = s.mark();
        try {
            long hdr = s.alloc(8), data = s.alloc(24);
            Scratch.putInt(hdr, LINUX_CAPABILITY_VERSION_3);
            Scratch.putInt(hdr + 4, 0);
            if (HostKernel.call(HostSyscall.CAPGET, hdr, data) < 0) return false;
            int effective = Scratch.getInt(data + (cap / 32) * 12L);
            return (effective >>> (cap % 32) & 1) != 0;
        } finally {
            s.release(m);
        }
    }

    // ------------------------------------------------------------------ targets

    /**
     * The file a path syscall names. With AT_EMPTY_PATH and an empty (or, as Linux 6.11 allows,
     * NULL) path: the dirfd itself (AT_FDCWD → the cwd). Otherwise a confined follow or no-follow
     * lookup.
     */
    static PathResolver.Target target(SyscallContext ctx, long dirfd, long pathPtr, int flags, boolean follow) {
        PathResolver r = Sys.paths(ctx);
        String path = (pathPtr == 0 && (flags & AT_EMPTY_PATH) != 0) ? "" : Sys.path(ctx, pathPtr);
        if (path.isEmpty()) {
            if ((flags & AT_EMPTY_PATH) == 0) throw new ErrnoException(Errno.ENOENT);
            if ((int) dirfd == AT_FDCWD) return r.follow(AT_FDCWD, ".");
            return PathResolver.ofFd(Sys.fd(ctx, dirfd));
        }
        int dir = Sys.dirFd(ctx, dirfd, path);
        return follow ? follow(ctx, dir, path) : r.noFollow(dir, path);
    }

    /**
     * A following lookup of a guest path, the kernel's magic links included: {@code /proc/self/exe},
     * {@code /proc/self/fd/N}, {@code /dev/stdin}... name what the guest means (its program, its
     * fds), which a confined host lookup refuses (EXDEV) or would answer for the JVM.
     */
    public static PathResolver.Target follow(SyscallContext ctx, int hostDirFd, String path) {
        PathResolver r = Sys.paths(ctx);
        String abs = r.absolute(hostDirFd, path);
        if (abs.startsWith("/proc/") || abs.startsWith("/dev/")) {
            int fd = ProcLinks.open(ctx, abs, PathResolver.O_PATH);
            if (fd >= 0) return new PathResolver.Target(fd, "");
        }
        return r.follow(hostDirFd, path);
    }

    static PathResolver.Target parent(SyscallContext ctx, long dirfd, long pathPtr) {
        String path = Sys.path(ctx, pathPtr);
        PathResolver.checkPath(path);
        return Sys.paths(ctx).parent(Sys.dirFd(ctx, dirfd, path), path);
    }

    static long fstatat(SyscallContext ctx, long dirfd, long path, long buf, int flags) {
        if ((flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT)) != 0) return -Errno.EINVAL;
        try (PathResolver.Target tg = target(ctx, dirfd, path, flags, (flags & AT_SYMLINK_NOFOLLOW) == 0)) {
            return Sys.stat(ctx, buf, p ->
                    Sys.withCStr(tg.name(), n -> Sys.onFd(ctx, HostSyscall.NEWFSTATAT, tg.dirFd(), n, p, tg.noFollowFlag())));
        }
    }

    static long faccessat(SyscallContext ctx, long dirfd, long path, long mode, int flags) {
        if ((flags & ~(AT_EACCESS | AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)) != 0) return -Errno.EINVAL;
        if (((int) mode & ~7) != 0) return -Errno.EINVAL; // mode is an int
        try (PathResolver.Target tg = target(ctx, dirfd, path, flags, (flags & AT_SYMLINK_NOFOLLOW) == 0)) {
            int hf = tg.noFollowFlag() | (flags & AT_EACCESS);
            return Sys.withCStr(tg.name(), n -> HostKernel.call(HostSyscall.FACCESSAT2, tg.dirFd(), n, (int) mode, hf));
        }
    }

    static long readlinkat(SyscallContext ctx, long dirfd, long pathPtr, long buf, long size) {
        if ((int) size <= 0) return -Errno.EINVAL;
        String path = Sys.path(ctx, pathPtr);
        if (path.isEmpty()) {
            // Linux: an empty path reads the symlink an O_PATH dirfd refers to.
            if ((int) dirfd == AT_FDCWD) return -Errno.ENOENT;
            int h = Sys.fd(ctx, dirfd);
            long p = Sys.out(ctx, buf, (int) size);
            return Sys.withCStr("", n -> HostKernel.call(HostSyscall.READLINKAT, h, n, p, (int) size));
        }
        int dir = Sys.dirFd(ctx, dirfd, path);
        byte[] link = ProcLinks.readlink(ctx, Sys.paths(ctx).absolute(dir, path));
        if (link == null) link = Sys.paths(ctx).readlink(dir, path, ctx.process().exePath(), ctx.process().pid());
        int n = Math.min(link.length, (int) size);
        ctx.memory().write(buf, link, 0, n);
        return n;
    }

    static long mkdirat(SyscallContext ctx, long dirfd, long path, int mode) {
        int eff = mode & 01777 & ~Sys.paths(ctx).umask();
        try (PathResolver.Target tg = parent(ctx, dirfd, path)) {
            long r = Sys.withCStr(tg.name(), n -> HostKernel.call(HostSyscall.MKDIRAT, tg.dirFd(), n, eff));
            if (r == 0 && PathResolver.hostUmaskInterferes(eff)) PathResolver.fixCreatedMode(tg.dirFd(), tg.name(), eff);
            return r;
        }
    }

    /** FIFOs, sockets and regular files only; device nodes are EPERM as for an unprivileged Linux user. */
    static long mknodat(SyscallContext ctx, long dirfd, long path, int mode, long dev) {
        int type = mode & S_IFMT;
        switch (type) {
            case 0, S_IFREG, S_IFIFO, S_IFSOCK, S_IFCHR, S_IFBLK -> { }
            case PathResolver.S_IFDIR -> { return -Errno.EPERM; }
            default -> { return -Errno.EINVAL; }
        }
        int eff = mode & 07777 & ~Sys.paths(ctx).umask();
        try (PathResolver.Target tg = parent(ctx, dirfd, path)) {
            if (type == S_IFCHR || type == S_IFBLK) {
                // Linux checks EEXIST before the capability: mimic with a no-follow lookup.
                long st = Sys.withCStr(tg.name(), n -> {
                    Scratch s = Scratch.get();
                    return HostKernel.call(HostSyscall.NEWFSTATAT, tg.dirFd(), n, s.alloc(STAT_SIZE), AT_SYMLINK_NOFOLLOW);
                });
                return st == 0 ? -Errno.EEXIST : -Errno.EPERM;
            }
            int hostMode = (type == 0 ? S_IFREG : type) | eff;
            long r = Sys.withCStr(tg.name(), n -> HostKernel.call(HostSyscall.MKNODAT, tg.dirFd(), n, hostMode, 0));
            if (r == 0 && PathResolver.hostUmaskInterferes(eff)) PathResolver.fixCreatedMode(tg.dirFd(), tg.name(), eff);
            return r;
        }
    }

    static long unlinkat(SyscallContext ctx, long dirfd, long path, int flags) {
        if ((flags & ~AT_REMOVEDIR) != 0) return -Errno.EINVAL;
        try (PathResolver.Target tg = parent(ctx, dirfd, path)) {
            return Sys.withCStr(tg.name(), n -> HostKernel.call(HostSyscall.UNLINKAT, tg.dirFd(), n, flags));
        }
    }

    static long renameat2(SyscallContext ctx, long od, long o, long nd, long n, long flags) {
        // the flags before the paths (RENAME_NOREPLACE 1, EXCHANGE 2, WHITEOUT 4)
        int fl = (int) flags;
        if ((fl & ~7) != 0 || ((fl & 5) != 0 && (fl & 2) != 0)) return -Errno.EINVAL;
        try (PathResolver.Target a = parent(ctx, od, o); PathResolver.Target b = parent(ctx, nd, n)) {
            return Sys.withCStr(a.name(), b.name(),
                    (p, q) -> HostKernel.call(HostSyscall.RENAMEAT2, a.dirFd(), p, b.dirFd(), q, flags));
        }
    }

    static long linkat(SyscallContext ctx, long od, long o, long nd, long n, int flags) {
        if ((flags & ~(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH)) != 0) return -Errno.EINVAL;
        boolean follow = (flags & AT_SYMLINK_FOLLOW) != 0;
        try (PathResolver.Target src = target(ctx, od, o, flags & AT_EMPTY_PATH, follow)) {
            if (src.owned() && !src.isEmptyName()) {
                // Linux looks the old name up completely (ENOENT, ENAMETOOLONG, ...) before it
                // reads the new one (EFAULT)
                long st = Sys.withCStr(src.name(), p -> {
                    Scratch s = Scratch.get();
                    int m = s.mark();
                    try {
                        return HostKernel.call(HostSyscall.NEWFSTATAT, src.dirFd(), p, s.alloc(STAT_SIZE), src.noFollowFlag());
                    } finally {
                        s.release(m);
                    }
                });
                if (st < 0) return st;
            }
            return linkTo(ctx, src, nd, n);
        }
    }

    private static long linkTo(SyscallContext ctx, PathResolver.Target src, long nd, long n) {
        try (PathResolver.Target dst = parent(ctx, nd, n)) {
            if (!src.owned()) {
                // AT_EMPTY_PATH on a guest fd: the host checks CAP_DAC_READ_SEARCH like Linux.
                return Sys.withCStr("", dst.name(), (p, q) ->
                        HostKernel.call(HostSyscall.LINKAT, src.dirFd(), p, dst.dirFd(), q, AT_EMPTY_PATH));
            }
            if (src.isEmptyName()) {
                // The resolved file itself, through its magic link (works unprivileged, like Linux's
                // own AT_SYMLINK_FOLLOW on /proc/self/fd/N).
                return Sys.withCStr(PathResolver.procFd(src.dirFd()), dst.name(), (p, q) ->
                        HostKernel.call(HostSyscall.LINKAT, AT_FDCWD, p, dst.dirFd(), q, AT_SYMLINK_FOLLOW));
            }
            return Sys.withCStr(src.name(), dst.name(), (p, q) ->
                    HostKernel.call(HostSyscall.LINKAT, src.dirFd(), p, dst.dirFd(), q, 0));
        }
    }

    static long symlinkat(SyscallContext ctx, long targetPtr, long dirfd, long path) {
        String target = Sys.path(ctx, targetPtr);
        if (target.isEmpty()) return -Errno.ENOENT;
        try (PathResolver.Target tg = parent(ctx, dirfd, path)) {
            return Sys.withCStr(target, tg.name(), (p, q) -> HostKernel.call(HostSyscall.SYMLINKAT, p, tg.dirFd(), q));
        }
    }

    static long fchmodat(SyscallContext ctx, long dirfd, long path, long mode) {
        try (PathResolver.Target tg = target(ctx, dirfd, path, 0, true)) {
            return Sys.withCStr(PathResolver.procFd(tg.dirFd()),
                    p -> HostKernel.call(HostSyscall.FCHMODAT, AT_FDCWD, p, mode & 07777));
        }
    }

    static long fchownat(SyscallContext ctx, long dirfd, long path, long uid, long gid, int flags) {
        if ((flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)) != 0) return -Errno.EINVAL;
        try (PathResolver.Target tg = target(ctx, dirfd, path, flags, (flags & AT_SYMLINK_NOFOLLOW) == 0)) {
            return Sys.withCStr(tg.name(), n ->
                    HostKernel.call(HostSyscall.FCHOWNAT, tg.dirFd(), n, (int) uid, (int) gid, tg.noFollowFlag()));
        }
    }

    /** utimensat with already-translated host times (0 = now). */
    static long utimens(SyscallContext ctx, long dirfd, long pathPtr, long hostTimes, int flags) {
        if ((flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)) != 0) return -Errno.EINVAL;
        if (pathPtr == 0) {
            // utimensat(fd, NULL, ...) is futimens; with AT_FDCWD Linux faults on the NULL name.
            if ((int) dirfd == AT_FDCWD) return -Errno.EFAULT;
            if ((flags & AT_SYMLINK_NOFOLLOW) != 0) return -Errno.EINVAL;
            return HostKernel.call(HostSyscall.UTIMENSAT, Sys.fd(ctx, dirfd), 0, hostTimes, 0);
        }
        boolean follow = (flags & AT_SYMLINK_NOFOLLOW) == 0;
        try (PathResolver.Target tg = target(ctx, dirfd, pathPtr, flags, follow)) {
            if (!tg.owned()) return HostKernel.call(HostSyscall.UTIMENSAT, tg.dirFd(), 0, hostTimes, 0);
            if (tg.isEmptyName()) {
                return Sys.withCStr(PathResolver.procFd(tg.dirFd()),
                        p -> HostKernel.call(HostSyscall.UTIMENSAT, AT_FDCWD, p, hostTimes, 0));
            }
            return Sys.withCStr(tg.name(), n ->
                    HostKernel.call(HostSyscall.UTIMENSAT, tg.dirFd(), n, hostTimes, AT_SYMLINK_NOFOLLOW));
        }
    }

    /** utimes/futimesat: struct timeval[2] → timespec[2], Linux's range check on microseconds. */
    static long utimesTimeval(SyscallContext ctx, long dirfd, long path, long tv) {
        if (tv == 0) return utimens(ctx, dirfd, path, 0, 0);
        GuestMemory mem = ctx.memory();
        long as = mem.readLong(tv), au = mem.readLong(tv + 8), ms = mem.readLong(tv + 16), mu = mem.readLong(tv + 24);
        if (au < 0 || au >= 1_000_000 || mu < 0 || mu >= 1_000_000) return -Errno.EINVAL;
        return withTimespecs(as, au * 1000, ms, mu * 1000, ts -> utimens(ctx, dirfd, path, ts, 0));
    }

    static long withTimespecs(long s0, long ns0, long s1, long ns1, Sys.WithPtr op) {
        Scratch s = Scratch.get();
        int m = s.mark();
        try {
            long ts = s.alloc(32);
            Scratch.putLong(ts, s0);
            Scratch.putLong(ts + 8, ns0);
            Scratch.putLong(ts + 16, s1);
            Scratch.putLong(ts + 24, ns1);
            return op.call(ts);
        } finally {
            s.release(m);
        }
    }
}
