package dev.herd.runtime.fs;

import dev.herd.host.HostSyscall;

import dev.herd.host.Errno;
import dev.herd.host.HostKernel;
import dev.herd.memory.Prot;
import dev.herd.runtime.syscall.SyscallContext;
import dev.herd.runtime.syscall.SyscallTable;

/**
 * ioctl: a whitelist of terminal and generic fd requests whose argument is a value or a
 * fixed-size struct without pointers or fds inside, passed to the host with the guest pointer
 * translated (after a bounds/permission check of exactly the struct size). FIOCLEX/FIONCLEX act on
 * the guest fd flag; TIOCGPTPEER returns a new fd, installed in the guest table.
 *
 * <p>Any other request is {@code -ENOTTY}, which is what Linux returns when the object does not
 * implement the request (regular files, pipes and ttys all answer unknown requests this way);
 * guessing at an unknown request's argument layout could let the host write outside the guest
 * buffer, so nothing unknown is forwarded.
 */
final class IoctlSyscalls {
    private IoctlSyscalls() {}

    // value-argument requests
    static final int TCSBRK = 0x5409, TCXONC = 0x540A, TCFLSH = 0x540B, TIOCSCTTY = 0x540E,
            TIOCNOTTY = 0x5422, TCSBRKP = 0x5425, TIOCSBRK = 0x5427, TIOCCBRK = 0x5428, TIOCGPTPEER = 0x5441;
    // struct-argument requests
    static final int TCGETS = 0x5401, TCSETS = 0x5402, TCSETSW = 0x5403, TCSETSF = 0x5404,
            TIOCGPGRP = 0x540F, TIOCSPGRP = 0x5410, TIOCOUTQ = 0x5411, TIOCGWINSZ = 0x5413,
            TIOCSWINSZ = 0x5414, FIONREAD = 0x541B, TIOCPKT = 0x5420, FIONBIO = 0x5421, TIOCGSID = 0x5429,
            TCGETS2 = 0x802C542A, TCSETS2 = 0x402C542B, TCSETSW2 = 0x402C542C, TCSETSF2 = 0x402C542D,
            TIOCGPTN = 0x80045430, TIOCSPTLCK = 0x40045431, TIOCGDEV = 0x80045432, TIOCGPKT = 0x80045438,
            TIOCGPTLCK = 0x80045439, FIONCLEX = 0x5450, FIOCLEX = 0x5451, FIOASYNC = 0x5452,
            TIOCGLCKTRMIOS = 0x5456, TIOCSLCKTRMIOS = 0x5457, FIOQSIZE = 0x5460;
    // socket requests: value out, and network-interface queries on a struct ifreq (read and written)
    static final int SIOCATMARK = 0x8905, SIOCGSTAMP = 0x8906, SIOCGSTAMPNS = 0x8907, SIOCGIFNAME = 0x8910,
            SIOCGIFCONF = 0x8912, SIOCGIFFLAGS = 0x8913, SIOCGIFADDR = 0x8915, SIOCGIFDSTADDR = 0x8917,
            SIOCGIFBRDADDR = 0x8919, SIOCGIFNETMASK = 0x891b, SIOCGIFMETRIC = 0x891d, SIOCGIFMTU = 0x8921,
            SIOCGIFHWADDR = 0x8927, SIOCGIFINDEX = 0x8933, SIOCGIFTXQLEN = 0x8942, SIOCGIFMAP = 0x8970;
    /** /dev/vsock: the local context id (a u32 out). */
    static final int IOCTL_VM_SOCKETS_GET_LOCAL_CID = 0x7b9;
    /** sizeof(struct ifreq), struct ifconf on x86_64. */
    static final int IFREQ = 40, IFCONF = 16;
    /** sizeof(struct termios) (kernel layout, x86_64) and struct termios2. */
    static final int TERMIOS = 36, TERMIOS2 = 44, WINSIZE = 8;

    static void register(SyscallTable t) {
        t.define("ioctl", "fd ioctlcmd hex", (ctx, fd, req, arg, d, e, f) -> ioctl(ctx, (int) fd, (int) req, arg));
        // Every host call of these runs on the side of its fds or the call's host (kernel proxy).
        t.forwardable("ioctl");
    }

    static long ioctl(SyscallContext ctx, int fd, int req, long arg) {
        FdTable fds = Sys.fds(ctx);
        int h = fds.get(fd);
        switch (req) {
            case FIOCLEX, FIONCLEX -> {
                fds.setCloexec(fd, req == FIOCLEX);
                return 0;
            }
            case TCSBRK, TCXONC, TCFLSH, TIOCSCTTY, TIOCNOTTY, TCSBRKP, TIOCSBRK, TIOCCBRK -> {
                return Sys.onFd(ctx, HostSyscall.IOCTL, h, req, arg);
            }
            case TIOCGPTPEER -> {
                int flags = (int) arg;
                long r = Sys.onFd(ctx, HostSyscall.IOCTL, h, req, flags | PathResolver.O_CLOEXEC);
                if (r < 0) return r;
                return fds.install((int) r, (flags & PathResolver.O_CLOEXEC) != 0);
            }
            case SIOCGIFNAME, SIOCGIFFLAGS, SIOCGIFADDR, SIOCGIFDSTADDR, SIOCGIFBRDADDR, SIOCGIFNETMASK,
                    SIOCGIFMETRIC, SIOCGIFMTU, SIOCGIFHWADDR, SIOCGIFINDEX, SIOCGIFTXQLEN, SIOCGIFMAP -> {
                return Sys.onFd(ctx, HostSyscall.IOCTL, h, req, ctx.memory().hostPointer(arg, IFREQ));
            }
            case SIOCGIFCONF -> {
                return ifconf(ctx, h, arg);
            }
            default -> { }
        }
        int outSize = switch (req) {
            case TCGETS, TIOCGLCKTRMIOS -> TERMIOS;
            case TCGETS2 -> TERMIOS2;
            case TIOCGWINSZ -> WINSIZE;
            case TIOCGPGRP, TIOCGSID, TIOCOUTQ, FIONREAD, TIOCGPTN, TIOCGDEV, TIOCGPKT, TIOCGPTLCK -> 4;
            case FIOQSIZE -> 8;
            case SIOCATMARK, IOCTL_VM_SOCKETS_GET_LOCAL_CID -> 4;
            case SIOCGSTAMP, SIOCGSTAMPNS -> 16;
            default -> -1;
        };
        if (outSize > 0) return Sys.onFd(ctx, HostSyscall.IOCTL, h, req, Sys.out(ctx, arg, outSize));
        int inSize = switch (req) {
            case TCSETS, TCSETSW, TCSETSF, TIOCSLCKTRMIOS -> TERMIOS;
            case TCSETS2, TCSETSW2, TCSETSF2 -> TERMIOS2;
            case TIOCSWINSZ -> WINSIZE;
            case TIOCSPGRP, FIONBIO, FIOASYNC, TIOCSPTLCK, TIOCPKT -> 4;
            default -> -1;
        };
        if (inSize > 0) return Sys.onFd(ctx, HostSyscall.IOCTL, h, req, Sys.in(ctx, arg, inSize));
        return -Errno.ENOTTY;
    }

    /**
     * SIOCGIFCONF: struct ifconf {int ifc_len; char *ifc_buf} holds a pointer, so the host gets a
     * copy with the buffer translated (NULL asks only for the length), and ifc_len comes back.
     */
    private static long ifconf(SyscallContext ctx, int h, long arg) {
        var m = ctx.memory();
        int len = m.readInt(arg);
        long buf = m.readLong(arg + 8);
        Scratch s = Scratch.get();
        int mark = s.mark();
        try {
            long conf = s.alloc(IFCONF);
            Scratch.putLong(conf, Integer.toUnsignedLong(len));
            Scratch.putLong(conf + 8, buf == 0 ? 0 : m.hostPointer(buf, Math.max(0, len)));
            long r = Sys.onFd(ctx, HostSyscall.IOCTL, h, SIOCGIFCONF, conf);
            if (r < 0) return r;
            m.writeInt(arg, (int) Scratch.getInt(conf));
            return r;
        } finally {
            s.release(mark);
        }
    }
}
