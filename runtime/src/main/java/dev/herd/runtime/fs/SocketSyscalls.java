package dev.herd.runtime.fs;

import dev.herd.host.HostStat;
import dev.herd.host.HostSyscall;

import dev.herd.host.Errno;
import dev.herd.host.ErrnoException;
import dev.herd.host.HostKernel;
import dev.herd.runtime.syscall.SyscallContext;
import dev.herd.runtime.syscall.SyscallTable;

import java.nio.charset.StandardCharsets;

/**
 * The BSD socket calls, passed to the host kernel on host sockets: socket, socketpair, bind,
 * listen, accept, accept4, connect, shutdown, getsockname, getpeername, sendto, recvfrom, sendmsg,
 * recvmsg, sendmmsg, recvmmsg, setsockopt, getsockopt. (The kernel proxy of the roadmap will move
 * sockets into a helper process; this is the in-process pass-through it will replace.)
 *
 * <p>Translated on the way: guest fds (also those passed in SCM_RIGHTS messages, both ways); the
 * pointers inside {@code msghdr}, its iovecs and a classic BPF program ({@code SO_ATTACH_FILTER});
 * and the paths of AF_UNIX addresses, which name files inside {@code --rootfs} relative to the
 * guest's cwd: a bound path's directory (or a connected socket itself) is opened inside the root and
 * named to the host as {@code /proc/self/fd/N[/name]}. With the default root an absolute path is
 * passed unchanged. {@code getsockname} shows a bound path as the guest gave it (the kernel's copy
 * is the host spelling: {@link UnixSocketNames} keeps the guest's); the peer's name that
 * getpeername, accept and recvfrom report is the host's spelling when it was translated
 * (documented limit). Abstract and unnamed AF_UNIX addresses and every other
 * family pass through.
 */
final class SocketSyscalls {
    private SocketSyscalls() {}

    private static final int SOCK_NONBLOCK = 04000, SOCK_CLOEXEC = 02000000;
    private static final int AF_UNIX = 1;
    /** sizeof(struct sockaddr_storage): the most move_addr_to_kernel accepts. */
    private static final int SOCKADDR_MAX = 128;
    private static final int UNIX_PATH_MAX = 108;
    private static final int SOL_SOCKET = 1, SCM_RIGHTS = 1, SO_ATTACH_FILTER = 26, SO_ATTACH_REUSEPORT_CBPF = 51;
    private static final int MSG_CTRUNC = 0x8, MSG_CMSG_CLOEXEC = 0x40000000;
    private static final int UIO_MAXIOV = 1024;
    /** Linux refuses bigger control buffers in sendmsg (sock_kmalloc against optmem_max) with ENOBUFS. */
    private static final int CONTROL_MAX = 64 * 1024;
    private static final int CMSG_HDR = 16;

    static void register(SyscallTable t) {
        t.define("socket", "int hex int", (ctx, domain, type, proto, d, e, f) -> {
            long r = ctx.host().call(HostSyscall.SOCKET, domain, type | SOCK_CLOEXEC, proto);
            return Sys.install(ctx, ctx.host(), r, (type & SOCK_CLOEXEC) != 0);
        });
        t.define("socketpair", "int hex int ptr", SocketSyscalls::socketpair);
        t.define("bind", "fd ptr int", (ctx, fd, addr, len, d, e, f) -> {
            int host = Sys.socket(ctx, fd);
            byte[][] guestPath = new byte[1][];
            long r = withAddress(ctx, host, addr, len, true, (p, l) -> Sys.onFd(ctx, HostSyscall.BIND, host, p, l), guestPath);
            if (r == 0 && guestPath[0] != null) {
                long ino = socketInode(ctx, host);
                if (ino >= 0) ctx.process().fds().unixNames().bound(ino, guestPath[0]);
            }
            return r;
        });
        t.define("connect", "fd ptr int", (ctx, fd, addr, len, d, e, f) -> {
            // Linux: the fd (EBADF), the address copied in (EINVAL, EFAULT), then ENOTSOCK
            Sys.fd(ctx, fd);
            if ((int) len < 0 || (int) len > SOCKADDR_MAX) return -Errno.EINVAL;
            if ((int) len > 0) ctx.memory().read(addr, (int) len);
            int host = Sys.socket(ctx, fd);
            return withAddress(ctx, host, addr, len, false, (p, l) -> Sys.onFd(ctx, HostSyscall.CONNECT, host, p, l));
        });
        t.define("listen", "fd int", (ctx, fd, backlog, c, d, e, f) -> Sys.onFd(ctx, HostSyscall.LISTEN, Sys.socket(ctx, fd), backlog));
        t.define("shutdown", "fd int", (ctx, fd, how, c, d, e, f) -> Sys.onFd(ctx, HostSyscall.SHUTDOWN, Sys.socket(ctx, fd), how));
        t.define("accept", "fd ptr ptr", (ctx, fd, addr, len, d, e, f) -> accept4(ctx, fd, addr, len, 0));
        t.define("accept4", "fd ptr ptr hex", (ctx, fd, addr, len, flags, e, f) -> accept4(ctx, fd, addr, len, flags));
        t.define("getsockname", "fd ptr ptr", (ctx, fd, addr, len, d, e, f) -> {
            int host = Sys.socket(ctx, fd);
            UnixSocketNames names = ctx.process().fds().unixNames();
            long ino = names.isEmpty() ? -1 : socketInode(ctx, host); // no fstat in a process that bound no such path
            byte[] path = ino < 0 ? null : names.pathOf(ino);
            // the guest's buffer as it was: the host writes its longer spelling over bytes Linux leaves alone
            int given = path == null ? 0 : peekInt(ctx, len); // the host call overwrites it
            byte[] before = path == null || addr == 0 ? null : peekBytes(ctx, addr, Math.min(given, SOCKADDR_MAX));
            long r = withAddressOut(ctx, addr, len, (p, l) -> Sys.onFd(ctx, HostSyscall.GETSOCKNAME, host, p, l));
            if (r == 0 && path != null) {
                if (before != null) ctx.memory().write(addr, before);
                putUnixName(ctx, addr, len, given, path);
            }
            return r;
        });
        t.define("getpeername", "fd ptr ptr", (ctx, fd, addr, len, d, e, f) -> {
            int host = Sys.socket(ctx, fd);
            return withAddressOut(ctx, addr, len, (p, l) -> Sys.onFd(ctx, HostSyscall.GETPEERNAME, host, p, l));
        });
        t.define("sendto", "fd buf_in:2 size hex ptr int", (ctx, fd, buf, len, flags, addr, alen) -> {
            long count = Long.compareUnsigned(len, Sys.MAX_RW_COUNT) > 0 ? Sys.MAX_RW_COUNT : len;
            Sys.accessOk(buf, count); // import_ubuf (clamped count) comes before the socket lookup
            int host = Sys.socket(ctx, fd);
            long b = Sys.in(ctx, buf, count);
            if (addr == 0) return Sys.onFd(ctx, HostSyscall.SENDTO, host, b, count, flags, 0, 0);
            return withAddress(ctx, host, addr, alen, false, (p, l) -> Sys.onFd(ctx, HostSyscall.SENDTO, host, b, count, flags, p, l));
        });
        t.define("recvfrom", "fd ptr size hex ptr ptr", (ctx, fd, buf, len, flags, addr, alen) -> {
            long count = Long.compareUnsigned(len, Sys.MAX_RW_COUNT) > 0 ? Sys.MAX_RW_COUNT : len;
            Sys.accessOk(buf, count); // import_ubuf (clamped count) comes before the socket lookup
            int host = Sys.socket(ctx, fd);
            long b = Sys.out(ctx, buf, count);
            return withAddressOut(ctx, addr, alen,
                    (p, l) -> Sys.onFd(ctx, HostSyscall.RECVFROM, host, b, count, flags, p, l));
        });
        t.define("setsockopt", "fd int int ptr int", SocketSyscalls::setsockopt);
        t.define("getsockopt", "fd int int ptr ptr", (ctx, fd, level, name, val, lenPtr, f) -> {
            int host = Sys.socket(ctx, fd);
            // The host reads optlen itself, where Linux does: a level the socket has no options
            // for is EOPNOTSUPP whatever optlen points at, and a negative optlen is the protocol's
            // EINVAL. optlen is only peeked here to size the value buffer.
            int len = peekInt(ctx, lenPtr);
            long v = val == 0 || len <= 0 ? val : Sys.out(ctx, val, len);
            return Sys.onFd(ctx, HostSyscall.GETSOCKOPT, host, level, name, v, Sys.inOutOrNull(ctx, lenPtr, 4));
        });
        t.define("sendmsg", "fd ptr hex", (ctx, fd, msg, flags, d, e, f) -> sendmsg(ctx, fd, msg, flags));
        t.define("recvmsg", "fd ptr hex", (ctx, fd, msg, flags, d, e, f) -> recvmsg(ctx, fd, msg, flags));
        t.define("sendmmsg", "fd ptr uint hex", (ctx, fd, vec, vlen, flags, e, f) -> sendmmsg(ctx, fd, vec, vlen, flags));
        t.define("recvmmsg", "fd ptr uint hex ptr", SocketSyscalls::recvmmsg);
        // Every host call of these runs on the side of its fds or the call's host (kernel proxy).
        t.forwardable("socket", "socketpair", "bind", "connect", "listen", "shutdown", "accept", "accept4", "getsockname", "getpeername", "sendto", "recvfrom", "setsockopt", "getsockopt", "sendmsg", "recvmsg", "sendmmsg", "recvmmsg");
    }

    // ------------------------------------------------------------------ fds

    private static long socketpair(SyscallContext ctx, long domain, long type, long proto, long sv, long e, long f) {
        // Linux: the type's flags (EINVAL), then both fds stored (EFAULT), then the sockets made
        if ((((int) type & ~0xf) & ~(SOCK_CLOEXEC | SOCK_NONBLOCK)) != 0) return -Errno.EINVAL;
        ctx.memory().hostAddress(sv, 8, dev.herd.memory.Prot.WRITE);
        return FdSyscalls.newPair(ctx, sv, (type & SOCK_CLOEXEC) != 0,
                p -> ctx.host().call(HostSyscall.SOCKETPAIR, domain, type | SOCK_CLOEXEC, proto, p));
    }

    private static long accept4(SyscallContext ctx, long fd, long addr, long lenPtr, long flags) {
        if ((flags & ~(SOCK_CLOEXEC | SOCK_NONBLOCK)) != 0) return -Errno.EINVAL;
        int host = Sys.socket(ctx, fd);
        long r = withAddressOut(ctx, addr, lenPtr,
                (p, l) -> Sys.onFd(ctx, HostSyscall.ACCEPT4, host, p, l, flags | SOCK_CLOEXEC));
        return Sys.install(ctx, Sys.side(ctx, host), r, (flags & SOCK_CLOEXEC) != 0); // closes r if the table is full
    }

    // ------------------------------------------------------------------ addresses

    private interface AddressCall {
        long call(long hostAddr, long len);
    }

    /**
     * Runs {@code call} with a host copy of the guest sockaddr at {@code addr} ({@code len} bytes),
     * an AF_UNIX path translated into the root. EINVAL for a length Linux refuses.
     */
    private static long withAddress(SyscallContext ctx, int socket, long addr, long lenArg, boolean binding, AddressCall call) {
        return withAddress(ctx, socket, addr, lenArg, binding, call, null);
    }

    /**
     * As above; when the address is an AF_UNIX path that went to the host in another spelling,
     * {@code translatedPath[0]} is set to the guest's path (the bytes before its NUL).
     */
    private static long withAddress(SyscallContext ctx, int socket, long addr, long lenArg, boolean binding, AddressCall call,
                                    byte[][] translatedPath) {
        int len = (int) lenArg;
        if (len < 0 || len > SOCKADDR_MAX) return -Errno.EINVAL;
        byte[] sa = len == 0 ? new byte[0] : ctx.memory().read(addr, len);
        Scratch s = Scratch.get();
        int m = s.mark();
        PathResolver.Target target = null;
        try {
            boolean unixPath = len > 2 && sa[0] == AF_UNIX && sa[1] == 0 && sa[2] != 0;
            if (unixPath) {
                int end = 2;
                while (end < len && sa[end] != 0) end++;
                String path = new String(sa, 2, end - 2, StandardCharsets.ISO_8859_1);
                PathResolver paths = Sys.paths(ctx);
                if (!(path.startsWith("/") && paths.guestRootHostPath().equals("/"))) {
                    target = binding ? paths.parent(Sys.AT_FDCWD, path) : paths.follow(Sys.AT_FDCWD, path);
                    // In the proxy, Herd's fd is named through Herd's pid (same user: /proc allows it).
                    String dir = dev.herd.host.HostFd.isProxy(socket)
                            ? "/proc/" + ProcessHandle.current().pid() + "/fd/" + target.dirFd()
                            : PathResolver.procFd(target.dirFd());
                    String host = dir + (target.isEmptyName() ? "" : "/" + target.name());
                    byte[] hb = host.getBytes(StandardCharsets.ISO_8859_1);
                    if (hb.length >= UNIX_PATH_MAX) return -Errno.ENAMETOOLONG;
                    long p = s.alloc(2 + hb.length + 1);
                    Scratch.putShort(p, (short) AF_UNIX);
                    Scratch.copyIn(hb, 0, p + 2, hb.length);
                    if (translatedPath != null) translatedPath[0] = java.util.Arrays.copyOfRange(sa, 2, end);
                    return call.call(p, 2 + hb.length + 1);
                }
            }
            long p = s.alloc(Math.max(1, len));
            Scratch.copyIn(sa, 0, p, len);
            return call.call(len == 0 ? 0 : p, len);
        } finally {
            if (target != null) target.close();
            s.release(m);
        }
    }

    /**
     * Runs {@code call} with host pointers to the guest's out-address buffer and its in/out length
     * (accept, getsockname, getpeername, recvfrom). Both go to the host as given (a NULL address
     * as NULL), so the host kernel checks and faults on them in Linux's order.
     */
    private static long withAddressOut(SyscallContext ctx, long addr, long lenPtr, AddressCall call) {
        // Linux's move_addr_to_user reads the length (EFAULT, EINVAL if negative) only after the
        // call itself succeeded (ENOTCONN, EINVAL, EAGAIN come first): the host does it on the
        // guest's own length word. It is only peeked here to size the address buffer.
        long lenHost = Sys.inOutOrNull(ctx, lenPtr, 4);
        if (addr == 0) return call.call(0, lenHost);
        int len = peekInt(ctx, lenPtr);
        if (len > 0) return call.call(Sys.out(ctx, addr, len), lenHost);
        Scratch s = Scratch.get();
        int m = s.mark();
        try {
            return call.call(s.alloc(1), lenHost); // written nowhere: the kernel copies min(len, size) bytes
        } finally {
            s.release(m);
        }
    }

    /**
     * Replaces the address a successful call stored at {@code addr} by AF_UNIX {@code path} as
     * Linux reports a bound path: {@code sun_path} with its NUL, the length 2 + strlen + 1, of which
     * as many bytes are copied as the guest's buffer held ({@code given}, read before the call) and
     * the length word says the whole size.
     */
    private static void putUnixName(SyscallContext ctx, long addr, long lenPtr, int given, byte[] path) {
        byte[] sa = new byte[2 + path.length + 1];
        sa[0] = (byte) AF_UNIX;
        System.arraycopy(path, 0, sa, 2, path.length);
        if (addr != 0 && given > 0) ctx.memory().write(addr, sa, 0, Math.min(given, sa.length));
        ctx.memory().writeInt(lenPtr, sa.length);
    }

    /**
     * The host inode of socket handle {@code h}, by fstat on the side it lives on (a proxy's socket
     * is one of the same host kernel's sockfs inodes), or -1.
     */
    private static long socketInode(SyscallContext ctx, int h) {
        Scratch s = Scratch.get();
        int m = s.mark();
        try {
            long st = s.alloc(HostStat.STAT_SIZE);
            return Sys.onFd(ctx, HostSyscall.FSTAT, h, st) < 0 ? -1 : Scratch.getLong(st + HostStat.ST_INO);
        } finally {
            s.release(m);
        }
    }

    /** The {@code n} bytes at g, or null when n <= 0 or they cannot be read. */
    private static byte[] peekBytes(SyscallContext ctx, long g, int n) {
        if (n <= 0) return null;
        try {
            return ctx.memory().read(g, n);
        } catch (ErrnoException e) {
            return null;
        }
    }

    /** The int at g, or 0 when it cannot be read (the host's own read of it then faults). */
    private static int peekInt(SyscallContext ctx, long g) {
        if (g == 0) return 0;
        try {
            return ctx.memory().readInt(g);
        } catch (ErrnoException e) {
            return 0;
        }
    }

    // ------------------------------------------------------------------ options

    private static long setsockopt(SyscallContext ctx, long fd, long level, long name, long val, long lenArg, long f) {
        int host = Sys.socket(ctx, fd);
        int len = (int) lenArg;
        if (len < 0) return -Errno.EINVAL;
        boolean bpf = level == SOL_SOCKET && (name == SO_ATTACH_FILTER || name == SO_ATTACH_REUSEPORT_CBPF);
        if (!bpf) return Sys.onFd(ctx, HostSyscall.SETSOCKOPT, host, level, name, val == 0 || len == 0 ? val : Sys.in(ctx, val, len), len);
        // struct sock_fprog { unsigned short len; struct sock_filter *filter; }: the filter pointer is a guest pointer
        if (len < 16) return -Errno.EINVAL;
        int count = Short.toUnsignedInt((short) ctx.memory().readInt(val));
        long filter = ctx.memory().readLong(val + 8);
        Scratch s = Scratch.get();
        int m = s.mark();
        try {
            long prog = s.alloc(16);
            Scratch.putShort(prog, (short) count);
            Scratch.putLong(prog + 8, count == 0 ? 0 : Sys.in(ctx, filter, count * 8L));
            return Sys.onFd(ctx, HostSyscall.SETSOCKOPT, host, level, name, prog, 16);
        } finally {
            s.release(m);
        }
    }

    // ------------------------------------------------------------------ messages

    /** struct msghdr offsets (x86_64). */
    private static final int MSG_NAME = 0, MSG_NAMELEN = 8, MSG_IOV = 16, MSG_IOVLEN = 24, MSG_CONTROL = 32,
            MSG_CONTROLLEN = 40, MSG_FLAGS = 48, MSGHDR_SIZE = 56;

    /** A host msghdr in scratch memory whose iovecs point at the guest's buffers (checked). */
    private static long hostMsghdr(SyscallContext ctx, Scratch s, long msg, boolean receiving) {
        long iov = ctx.memory().readLong(msg + MSG_IOV);
        long iovlen = ctx.memory().readLong(msg + MSG_IOVLEN);
        if (Long.compareUnsigned(iovlen, UIO_MAXIOV) > 0) throw new ErrnoException(Errno.EMSGSIZE);
        long h = s.alloc(MSGHDR_SIZE);
        int n = (int) iovlen;
        long hostIov = s.alloc(Math.max(16, n * 16L));
        byte[] raw = n == 0 ? new byte[0] : ctx.memory().read(iov, n * 16);
        java.nio.ByteBuffer bb = java.nio.ByteBuffer.wrap(raw).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        long total = 0;
        for (int i = 0; i < n; i++) {
            long base = bb.getLong(i * 16), len = bb.getLong(i * 16 + 8);
            if (len < 0) throw new ErrnoException(Errno.EINVAL);
            len = Math.min(len, Sys.MAX_RW_COUNT - total);
            total += len;
            long hb = len == 0 ? 0 : receiving ? Sys.out(ctx, base, len) : Sys.in(ctx, base, len);
            Scratch.putLong(hostIov + i * 16L, hb);
            Scratch.putLong(hostIov + i * 16L + 8, len);
        }
        Scratch.putLong(h + MSG_IOV, hostIov);
        Scratch.putLong(h + MSG_IOVLEN, n);
        return h;
    }

    private static long sendmsg(SyscallContext ctx, long fd, long msg, long flags) {
        if ((flags & 0x80000000L) != 0) return -Errno.EINVAL; // MSG_CMSG_COMPAT, refused first
        int host = Sys.socket(ctx, fd);
        Scratch s = Scratch.get();
        int m = s.mark();
        java.util.List<Integer> copies = new java.util.ArrayList<>();
        try {
            long h = hostMsghdr(ctx, s, msg, false);
            long control = ctx.memory().readLong(msg + MSG_CONTROL);
            long controllen = ctx.memory().readLong(msg + MSG_CONTROLLEN);
            if (controllen != 0) {
                if (Long.compareUnsigned(controllen, CONTROL_MAX) > 0) return -Errno.ENOBUFS;
                byte[] c = ctx.memory().read(control, (int) controllen);
                long hc = s.alloc(controllen);
                Scratch.copyIn(c, 0, hc, c.length);
                translateRightsOut(ctx, host, hc, controllen, copies);
                Scratch.putLong(h + MSG_CONTROL, hc);
                Scratch.putLong(h + MSG_CONTROLLEN, controllen);
            }
            long name = ctx.memory().readLong(msg + MSG_NAME);
            int namelen = ctx.memory().readInt(msg + MSG_NAMELEN);
            if (name == 0 || namelen == 0) return Sys.onFd(ctx, HostSyscall.SENDMSG, host, h, flags);
            return withAddress(ctx, host, name, namelen, false, (p, l) -> {
                Scratch.putLong(h + MSG_NAME, p);
                Scratch.putInt(h + MSG_NAMELEN, (int) l);
                return Sys.onFd(ctx, HostSyscall.SENDMSG, host, h, flags);
            });
        } finally {
            for (int copy : copies) HostKernel.call(HostSyscall.CLOSE, copy);
            s.release(m);
        }
    }

    /**
     * SCM_RIGHTS going out: guest fds become host fds on the socket's side (EBADF for one that is
     * not open): a local fd sent over a proxy socket is imported, a proxy fd sent over a local
     * socket is copied out for this message ({@code copies}, closed by the caller).
     */
    private static void translateRightsOut(SyscallContext ctx, int socket, long hc, long controllen, java.util.List<Integer> copies) {
        for (long c = hc; c + CMSG_HDR <= hc + controllen; ) {
            long len = Scratch.getLong(c);
            if (len < CMSG_HDR || c + len > hc + controllen) return; // the kernel rejects it (EINVAL)
            if (Scratch.getInt(c + 8) == SOL_SOCKET && Scratch.getInt(c + 12) == SCM_RIGHTS) {
                for (long p = c + CMSG_HDR; p + 4 <= c + len; p += 4) {
                    int h = Sys.fd(ctx, Scratch.getInt(p));
                    if (dev.herd.host.HostFd.isProxy(socket)) {
                        h = dev.herd.host.HostFd.number(Sys.fds(ctx).sides().inProxy(h));
                    } else if (dev.herd.host.HostFd.isProxy(h)) {
                        h = Sys.fds(ctx).sides().localCopy(h);
                        copies.add(h);
                    }
                    Scratch.putInt(p, h);
                }
            }
            c += (len + 7) & ~7L;
        }
    }

    private static long recvmsg(SyscallContext ctx, long fd, long msg, long flags) {
        if ((flags & 0x80000000L) != 0) return -Errno.EINVAL; // MSG_CMSG_COMPAT, refused first
        int host = Sys.socket(ctx, fd);
        Scratch s = Scratch.get();
        int m = s.mark();
        try {
            // Linux only reads the msghdr before the receive; its write-back (EFAULT on a
            // read-only one) comes after, so a failing receive (EINVAL, EAGAIN) wins
            long h = hostMsghdr(ctx, s, msg, true);
            long name = ctx.memory().readLong(msg + MSG_NAME);
            int namelen = ctx.memory().readInt(msg + MSG_NAMELEN);
            if (name != 0) {
                if (namelen < 0) return -Errno.EINVAL;
                Scratch.putLong(h + MSG_NAME, namelen == 0 ? s.alloc(1) : Sys.out(ctx, name, namelen));
                Scratch.putInt(h + MSG_NAMELEN, namelen);
            }
            long control = ctx.memory().readLong(msg + MSG_CONTROL);
            long controllen = ctx.memory().readLong(msg + MSG_CONTROLLEN);
            long hc = 0;
            if (control != 0 && controllen != 0) {
                controllen = Math.min(controllen & 0x7fffffffL, CONTROL_MAX);
                Sys.out(ctx, control, controllen);
                hc = s.alloc(controllen);
                Scratch.putLong(h + MSG_CONTROL, hc);
                Scratch.putLong(h + MSG_CONTROLLEN, controllen);
            }
            long r = Sys.onFd(ctx, HostSyscall.RECVMSG, host, h, flags | MSG_CMSG_CLOEXEC);
            if (r < 0) return r;
            int outFlags = Scratch.getInt(h + MSG_FLAGS) & ~MSG_CMSG_CLOEXEC;
            long gotControl = hc == 0 ? 0 : Scratch.getLong(h + MSG_CONTROLLEN);
            if (gotControl > 0) {
                if (!translateRightsIn(ctx, Sys.side(ctx, host), hc, gotControl, (flags & MSG_CMSG_CLOEXEC) != 0)) outFlags |= MSG_CTRUNC;
                ctx.memory().write(control, Scratch.bytes(hc, (int) gotControl));
            }
            ctx.memory().writeInt(msg + MSG_NAMELEN, name == 0 ? 0 : Scratch.getInt(h + MSG_NAMELEN));
            ctx.memory().writeLong(msg + MSG_CONTROLLEN, gotControl);
            ctx.memory().writeInt(msg + MSG_FLAGS, outFlags);
            return r;
        } finally {
            s.release(m);
        }
    }

    /** struct mmsghdr: a msghdr, then the unsigned msg_len, padded to 64 bytes. */
    private static final int MMSGHDR_SIZE = 64, MMSG_LEN = 56;
    private static final long MSG_DONTWAIT = 0x40, MSG_WAITFORONE = 0x10000;

    /**
     * sendmmsg as the kernel does it: sendmsg per entry (at most UIO_MAXIOV), each entry's msg_len
     * set; the count sent, or the first entry's error if none was.
     */
    private static long sendmmsg(SyscallContext ctx, long fd, long vec, long vlenArg, long flags) {
        int vlen = (int) Math.min(vlenArg & 0xffffffffL, UIO_MAXIOV);
        int done = 0;
        for (; done < vlen; done++) {
            long entry = vec + (long) done * MMSGHDR_SIZE;
            long r;
            try {
                r = sendmsg(ctx, fd, entry, flags);
            } catch (ErrnoException e) {
                r = -e.errno();
            }
            if (r < 0) return done > 0 ? done : r;
            ctx.memory().writeInt(entry + MMSG_LEN, (int) r);
        }
        return done;
    }

    /**
     * recvmmsg: recvmsg per entry; with MSG_WAITFORONE only the first may block; the timeout, like
     * the kernel's, is checked after each datagram. The count received, or the first error if none.
     */
    private static long recvmmsg(SyscallContext ctx, long fd, long vec, long vlenArg, long flags, long timeout, long f) {
        if ((flags & 0x80000000L) != 0) return -Errno.EINVAL; // MSG_CMSG_COMPAT, refused first
        int vlen = (int) Math.min(vlenArg & 0xffffffffL, UIO_MAXIOV);
        long deadline = 0;
        if (timeout != 0) {
            long sec = ctx.memory().readLong(timeout), nsec = ctx.memory().readLong(timeout + 8);
            if (sec < 0 || nsec < 0 || nsec >= 1_000_000_000L) return -Errno.EINVAL;
            deadline = System.nanoTime() + Math.min(sec, Long.MAX_VALUE / 2_000_000_000L) * 1_000_000_000L + nsec;
        }
        Sys.socket(ctx, fd); // do_recvmmsg: the socket (EBADF, ENOTSOCK) even for a zero vlen
        int done = 0;
        for (; done < vlen; done++) {
            long entry = vec + (long) done * MMSGHDR_SIZE;
            long each = (flags & ~MSG_WAITFORONE) | ((flags & MSG_WAITFORONE) != 0 && done > 0 ? MSG_DONTWAIT : 0);
            long r;
            try {
                r = recvmsg(ctx, fd, entry, each);
            } catch (ErrnoException e) {
                r = -e.errno();
            }
            if (r < 0) return done > 0 ? done : r;
            ctx.memory().writeInt(entry + MMSG_LEN, (int) r);
            if (timeout != 0 && System.nanoTime() - deadline >= 0) {
                done++;
                break;
            }
        }
        if (timeout != 0 && done > 0) {
            // The kernel writes the time left back (zero once expired).
            long left = Math.max(0, deadline - System.nanoTime());
            ctx.memory().writeLong(timeout, left / 1_000_000_000L);
            ctx.memory().writeLong(timeout + 8, left % 1_000_000_000L);
        }
        return done;
    }

    /**
     * SCM_RIGHTS coming in: host fds are installed as guest fds (cloexec as asked). Returns false
     * if the guest's table was full for some (those are closed and become -1, and the caller sets
     * MSG_CTRUNC, as the kernel does when it cannot install them).
     */
    private static boolean translateRightsIn(SyscallContext ctx, dev.herd.host.HostOps side, long hc, long controllen, boolean cloexec) {
        boolean all = true;
        for (long c = hc; c + CMSG_HDR <= hc + controllen; ) {
            long len = Scratch.getLong(c);
            if (len < CMSG_HDR || c + len > hc + controllen) break;
            if (Scratch.getInt(c + 8) == SOL_SOCKET && Scratch.getInt(c + 12) == SCM_RIGHTS) {
                for (long p = c + CMSG_HDR; p + 4 <= c + len; p += 4) {
                    int hostFd = Scratch.getInt(p);
                    try {
                        Scratch.putInt(p, Sys.fds(ctx).install(side.handle(hostFd), cloexec));
                    } catch (ErrnoException ex) { // install closed hostFd
                        Scratch.putInt(p, -1);
                        all = false;
                    }
                }
            }
            c += (len + 7) & ~7L;
        }
        return all;
    }
}
