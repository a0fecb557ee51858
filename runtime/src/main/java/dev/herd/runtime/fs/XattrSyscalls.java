package dev.herd.runtime.fs;

import dev.herd.host.Errno;
import dev.herd.host.ErrnoException;
import dev.herd.host.HostKernel;
import dev.herd.host.HostSyscall;
import dev.herd.runtime.syscall.SyscallContext;
import dev.herd.runtime.syscall.SyscallTable;

import java.nio.charset.StandardCharsets;

/**
 * Extended attributes: getxattr, lgetxattr, fgetxattr, listxattr, llistxattr, flistxattr, setxattr,
 * lsetxattr, fsetxattr, removexattr, lremovexattr, fremovexattr, on the host file the guest path
 * names inside the rootfs.
 *
 * <p>A path is resolved inside the root like any other and handed to the host as
 * {@code /proc/self/fd/N} (the file, following) or {@code /proc/self/fd/DIR/name} (the l-variants,
 * which must not follow a final symlink). Names are NUL-terminated strings of at most
 * XATTR_NAME_MAX (255) bytes (ERANGE beyond, as Linux); values and lists are guest buffers of at
 * most XATTR_SIZE_MAX (64 KiB), the size 0 query included.
 */
final class XattrSyscalls {
    private XattrSyscalls() {}

    private static final int XATTR_NAME_MAX = 255;
    private static final long XATTR_SIZE_MAX = 65536;
    private static final int XATTR_CREATE = 1, XATTR_REPLACE = 2;

    static void register(SyscallTable t) {
        // Linux (6.13+) imports the name before it looks at the path or the fd, and copies a value
        // in before the path; buffers out are written by the host up to what it stores.
        t.define("getxattr", "path str ptr size", (ctx, p, n, v, s, e, f) -> get(ctx, p, n, v, s, false));
        t.define("lgetxattr", "path str ptr size", (ctx, p, n, v, s, e, f) -> get(ctx, p, n, v, s, true));
        t.define("fgetxattr", "fd str ptr size", (ctx, fd, n, v, s, e, f) -> {
            String name = name(ctx, n);
            int host = Sys.fd(ctx, fd);
            return Sys.withCStr(name, np -> HostKernel.call(HostSyscall.FGETXATTR, host, np, buffer(ctx, v, s, true), cap(s)));
        });
        t.define("listxattr", "path ptr size", (ctx, p, l, s, d, e, f) -> onPath(ctx, p, true, h -> list(ctx, h, l, s, false)));
        t.define("llistxattr", "path ptr size", (ctx, p, l, s, d, e, f) -> onPath(ctx, p, false, h -> list(ctx, h, l, s, true)));
        t.define("flistxattr", "fd ptr size", (ctx, fd, l, s, d, e, f) ->
                HostKernel.call(HostSyscall.FLISTXATTR, Sys.fd(ctx, fd), buffer(ctx, l, s, true), cap(s)));
        t.define("setxattr", "path str ptr size hex", (ctx, p, n, v, s, fl, f) -> set(ctx, p, n, v, s, fl, false));
        t.define("lsetxattr", "path str ptr size hex", (ctx, p, n, v, s, fl, f) -> set(ctx, p, n, v, s, fl, true));
        t.define("fsetxattr", "fd str ptr size hex", (ctx, fd, n, v, s, fl, f) -> {
            // setxattr_copy (flags, name, size, value) before the fd, as for the path variants
            if (((int) fl & ~(XATTR_CREATE | XATTR_REPLACE)) != 0) return -Errno.EINVAL;
            String name = name(ctx, n);
            long r = checkSet(s, fl);
            if (r != 0) return r;
            if (s != 0) ctx.memory().read(v, (int) s);
            int host = Sys.fd(ctx, fd);
            return Sys.withCStr(name, np -> HostKernel.call(HostSyscall.FSETXATTR, host, np, buffer(ctx, v, s, false), s, fl));
        });
        t.define("removexattr", "path str", (ctx, p, n, c, d, e, f) -> remove(ctx, p, n, false));
        t.define("lremovexattr", "path str", (ctx, p, n, c, d, e, f) -> remove(ctx, p, n, true));
        t.define("fremovexattr", "fd str", (ctx, fd, n, c, d, e, f) -> {
            String name = name(ctx, n);
            int host = Sys.fd(ctx, fd);
            return Sys.withCStr(name, np -> HostKernel.call(HostSyscall.FREMOVEXATTR, host, np));
        });
    }

    private interface OnHostPath {
        long call(long hostPath);
    }

    /** Resolves the guest path in the root and runs {@code op} with a host path naming the file. */
    private static long onPath(SyscallContext ctx, long pathPtr, boolean follow, OnHostPath op) {
        try (PathResolver.Target tg = PathSyscalls.target(ctx, PathResolver.AT_FDCWD, pathPtr, 0, follow)) {
            String host = PathResolver.procFd(tg.dirFd()) + (tg.isEmptyName() ? "" : "/" + tg.name());
            return Sys.withCStr(host, op::call);
        }
    }

    private interface WithName {
        long call(long name);
    }

    private static long withName(SyscallContext ctx, long namePtr, WithName op) {
        return Sys.withCStr(name(ctx, namePtr), op::call);
    }

    /** An attribute name as Linux imports it: EFAULT, ERANGE for "" or more than 255 bytes. */
    private static String name(SyscallContext ctx, long namePtr) {
        byte[] name = ctx.memory().readCStringBytes(namePtr, XATTR_NAME_MAX + 1);
        if (name.length == 0 || name.length > XATTR_NAME_MAX) throw new ErrnoException(Errno.ERANGE);
        return new String(name, StandardCharsets.ISO_8859_1);
    }

    /** Linux caps a get/list size (a size_t) at XATTR_SIZE_MAX/XATTR_LIST_MAX. */
    private static long cap(long size) {
        return Long.compareUnsigned(size, XATTR_SIZE_MAX) > 0 ? XATTR_SIZE_MAX : size;
    }

    /** Host address of a guest value/list buffer (none for size 0, the length query). */
    private static long buffer(SyscallContext ctx, long ptr, long size, boolean out) {
        if (size == 0) return 0;
        long n = cap(size);
        return out ? Sys.out(ctx, ptr, n) : Sys.in(ctx, ptr, n);
    }

    private static long get(SyscallContext ctx, long pathPtr, long namePtr, long value, long size, boolean noFollow) {
        String name = name(ctx, namePtr);
        return onPath(ctx, pathPtr, !noFollow, hostPath -> Sys.withCStr(name, np ->
                HostKernel.call(noFollow ? HostSyscall.LGETXATTR : HostSyscall.GETXATTR, hostPath, np,
                        buffer(ctx, value, size, true), cap(size))));
    }

    private static long list(SyscallContext ctx, long hostPath, long listPtr, long size, boolean noFollow) {
        return HostKernel.call(noFollow ? HostSyscall.LLISTXATTR : HostSyscall.LISTXATTR, hostPath,
                buffer(ctx, listPtr, size, true), cap(size));
    }

    private static long checkSet(long size, long flags) {
        if (((int) flags & ~(XATTR_CREATE | XATTR_REPLACE)) != 0) return -Errno.EINVAL;
        if (Long.compareUnsigned(size, XATTR_SIZE_MAX) > 0) return -Errno.E2BIG;
        return 0;
    }

    /** setxattr_copy's order: flags, name, size, the value copied in; then the path. */
    private static long set(SyscallContext ctx, long pathPtr, long namePtr, long value, long size, long flags, boolean noFollow) {
        if (((int) flags & ~(XATTR_CREATE | XATTR_REPLACE)) != 0) return -Errno.EINVAL;
        String name = name(ctx, namePtr);
        long r = checkSet(size, flags);
        if (r != 0) return r;
        if (size != 0) ctx.memory().read(value, (int) size);
        return onPath(ctx, pathPtr, !noFollow, hostPath -> Sys.withCStr(name, np ->
                HostKernel.call(noFollow ? HostSyscall.LSETXATTR : HostSyscall.SETXATTR, hostPath, np,
                        buffer(ctx, value, size, false), size, flags)));
    }

    private static long remove(SyscallContext ctx, long pathPtr, long namePtr, boolean noFollow) {
        String name = name(ctx, namePtr);
        return onPath(ctx, pathPtr, !noFollow, hostPath -> Sys.withCStr(name, np ->
                HostKernel.call(noFollow ? HostSyscall.LREMOVEXATTR : HostSyscall.REMOVEXATTR, hostPath, np)));
    }
}
