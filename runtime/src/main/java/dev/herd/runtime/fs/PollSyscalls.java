package dev.herd.runtime.fs;

import dev.herd.host.HostFd;
import dev.herd.host.HostOps;

import dev.herd.host.HostSyscall;

import dev.herd.host.Errno;
import dev.herd.host.ErrnoException;
import dev.herd.host.HostKernel;
import dev.herd.memory.GuestMemory;
import dev.herd.memory.Prot;
import dev.herd.runtime.syscall.SyscallContext;
import dev.herd.runtime.syscall.SyscallTable;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * poll, ppoll, select, pselect6, all implemented with host ppoll on a translated pollfd array
 * (guest fd numbers → host fds; fd_sets become pollfds, so host fds above FD_SETSIZE are fine).
 *
 * <p>Semantics kept: POLLNVAL for closed guest fds in poll (and an immediate return), EBADF for
 * closed fds in select, select's readiness sets exactly as Linux derives them from poll bits,
 * remaining time written back for select, ppoll and pselect6 (as the raw syscalls do).
 *
 * <p>The signal masks of ppoll and pselect6 are in force during the wait
 * ({@link dev.herd.runtime.signal.SignalDelivery#withTemporaryMask}).
 */
final class PollSyscalls {
    private PollSyscalls() {}

    static final short POLLIN = 0x1, POLLPRI = 0x2, POLLOUT = 0x4, POLLERR = 0x8, POLLHUP = 0x10,
            POLLNVAL = 0x20, POLLRDNORM = 0x40, POLLRDBAND = 0x80, POLLWRNORM = 0x100, POLLWRBAND = 0x200;
    static final int POLLIN_SET = POLLRDNORM | POLLRDBAND | POLLIN | POLLHUP | POLLERR;
    static final int POLLOUT_SET = POLLWRBAND | POLLWRNORM | POLLOUT | POLLERR;
    static final int POLLEX_SET = POLLPRI;
    static final int SIGSET_SIZE = 8;

    static void register(SyscallTable t) {
        t.define("poll", "ptr uint int", (ctx, fds, nfds, timeout, d, e, f) -> {
            int ms = (int) timeout;
            if (ms < 0) return poll(ctx, fds, nfds, -1, 0, 0);
            return poll(ctx, fds, nfds, ms / 1000, (ms % 1000) * 1_000_000L, 0);
        });
        t.define("ppoll", "ptr uint ptr ptr size", (ctx, fds, nfds, tsp, sigmask, sigsetsize, f) -> {
            // Linux's order: the timeout (EFAULT, EINVAL), then the mask's size, then the fds.
            long[] limit = Sys.timeout(ctx, tsp);
            if (sigmask != 0 && sigsetsize != SIGSET_SIZE) return -Errno.EINVAL;
            long s = limit == null ? -1 : limit[0], ns = limit == null ? 0 : limit[1];
            if (sigmask == 0) return poll(ctx, fds, nfds, s, ns, tsp);
            long mask = ctx.memory().readLong(sigmask);
            return ctx.process().delivery().withTemporaryMask(ctx, mask, () -> poll(ctx, fds, nfds, s, ns, tsp));
        });
        t.define("select", "int ptr ptr ptr ptr", (ctx, n, r, w, x, tv, f) -> {
            if (tv == 0) return select(ctx, n, r, w, x, -1, 0, 0, false);
            // Linux (kern_select) folds whole seconds of tv_usec into tv_sec first: only a
            // negative result is EINVAL, so a large tv_usec still reaches the fd sets' EFAULT
            long sec = ctx.memory().readLong(tv), usec = ctx.memory().readLong(tv + 8);
            sec += usec / 1_000_000L;
            usec %= 1_000_000L;
            if (sec < 0 || usec < 0) return -Errno.EINVAL;
            return select(ctx, n, r, w, x, sec, usec * 1000, tv, true);
        });
        t.define("pselect6", "int ptr ptr ptr ptr ptr", (ctx, n, r, w, x, tsp, sig) -> {
            // Linux: the {sigset, size} pack (EFAULT), the timeout (EFAULT, EINVAL), then the size
            long ss = 0, len = SIGSET_SIZE;
            if (sig != 0) {
                ss = ctx.memory().readLong(sig);
                len = ctx.memory().readLong(sig + 8);
            }
            long[] limit = Sys.timeout(ctx, tsp);
            if (ss != 0 && len != SIGSET_SIZE) return -Errno.EINVAL;
            long s = limit == null ? -1 : limit[0], ns = limit == null ? 0 : limit[1];
            if (ss == 0) return select(ctx, n, r, w, x, s, ns, tsp, false);
            long mask = ctx.memory().readLong(ss);
            return ctx.process().delivery().withTemporaryMask(ctx, mask, () -> select(ctx, n, r, w, x, s, ns, tsp, false));
        });
        // Every host call of these runs on the side of its fds or the call's host (kernel proxy).
        t.forwardable("poll", "ppoll", "select", "pselect6");
    }

    /**
     * Host ppoll on hostPfds (n entries) with a relative timeout (sec &lt; 0: infinite). When
     * writeBack != 0 the remaining time is stored there (timeval if asTimeval, else timespec).
     */
    private static long hostPoll(SyscallContext ctx, HostOps side, long hostPfds, int n, long sec, long nsec,
                                 long writeBack, boolean asTimeval) {
        Scratch s = Scratch.get();
        int m = s.mark();
        try {
            long ts = 0;
            if (sec >= 0) {
                ts = s.alloc(16);
                Scratch.putLong(ts, sec);
                Scratch.putLong(ts + 8, nsec);
            }
            long r = side.call(HostSyscall.PPOLL, hostPfds, n, ts, 0, SIGSET_SIZE);
            if (writeBack != 0 && ts != 0) {
                long rs = Scratch.getLong(ts), rn = Scratch.getLong(ts + 8);
                try {
                    ctx.memory().writeLong(writeBack, rs);
                    ctx.memory().writeLong(writeBack + 8, asTimeval ? rn / 1000 : rn);
                } catch (ErrnoException ignored) {
                    // Linux ignores a failed write-back of the remaining time (const timeouts)
                }
            }
            return r;
        } finally {
            s.release(m);
        }
    }

    static long poll(SyscallContext ctx, long gPfds, long nfdsArg, long sec, long nsec, long writeBack) {
        FdTable fds = Sys.fds(ctx);
        long nfds = nfdsArg & 0xffffffffL;
        if (nfds > fds.limit()) return -Errno.EINVAL;
        int n = (int) nfds;
        GuestMemory mem = ctx.memory();
        if (n == 0) Sys.accessOk(gPfds, 0); // Linux's zero-length copy still range-checks the pointer
        byte[] in = n == 0 ? new byte[0] : mem.read(gPfds, n * 8);
        MemorySegment src = MemorySegment.ofArray(in);
        Scratch s = Scratch.get();
        int m = s.mark();
        try {
            long host = s.alloc(Math.max(8L, n * 8L));
            int invalid = 0;
            boolean[] nval = new boolean[n];
            int[] handles = new int[n];
            for (int i = 0; i < n; i++) {
                int gfd = src.get(ValueLayout.JAVA_INT_UNALIGNED, i * 8L);
                short ev = src.get(ValueLayout.JAVA_SHORT_UNALIGNED, i * 8L + 4);
                int h = gfd < 0 ? -1 : fds.hostOrMinus1(gfd);
                if (gfd >= 0 && h < 0) {
                    nval[i] = true;
                    invalid++;
                }
                handles[i] = h;
                Scratch.putShort(host + i * 8L + 4, ev);
            }
            HostOps side = placeHandles(ctx, handles, host);
            long r = invalid > 0 ? hostPoll(ctx, side, host, n, 0, 0, 0, false)
                    : hostPoll(ctx, side, host, n, sec, nsec, writeBack, false);
            if (r < 0) return r;
            if (n > 0) {
                MemorySegment dst = mem.segment(gPfds, n * 8L, Prot.WRITE);
                for (int i = 0; i < n; i++) {
                    short rev = nval[i] ? POLLNVAL : Scratch.getShort(host + i * 8L + 6);
                    dst.set(ValueLayout.JAVA_SHORT_UNALIGNED, i * 8L + 6, rev);
                }
            }
            return r + invalid;
        } finally {
            s.release(m);
        }
    }

    static long select(SyscallContext ctx, long nArg, long rPtr, long wPtr, long xPtr,
                       long sec, long nsec, long writeBack, boolean asTimeval) {
        int n = (int) nArg;
        if (n < 0) return -Errno.EINVAL;
        FdTable fds = Sys.fds(ctx);
        n = Math.min(n, fds.capacity()); // Linux clamps to the fd table's current size
        int bytes = ((n + 63) / 64) * 8;
        GuestMemory mem = ctx.memory();
        byte[] r = rPtr == 0 || bytes == 0 ? null : mem.read(rPtr, bytes);
        byte[] w = wPtr == 0 || bytes == 0 ? null : mem.read(wPtr, bytes);
        byte[] x = xPtr == 0 || bytes == 0 ? null : mem.read(xPtr, bytes);
        int count = 0;
        int[] which = new int[n];
        for (int fd = 0; fd < n; fd++) {
            if (bit(r, fd) || bit(w, fd) || bit(x, fd)) which[count++] = fd;
        }
        Scratch s = Scratch.get();
        int m = s.mark();
        try {
            long host = s.alloc(Math.max(8L, count * 8L));
            int[] handles = new int[count];
            for (int i = 0; i < count; i++) {
                int fd = which[i];
                int h = fds.hostOrMinus1(fd);
                if (h < 0) return -Errno.EBADF;
                int ev = (bit(r, fd) ? POLLIN | POLLRDNORM | POLLRDBAND : 0)
                        | (bit(w, fd) ? POLLOUT | POLLWRNORM | POLLWRBAND : 0)
                        | (bit(x, fd) ? POLLPRI : 0);
                handles[i] = h;
                Scratch.putShort(host + i * 8L + 4, (short) ev);
            }
            HostOps side = placeHandles(ctx, handles, host);
            long res = hostPoll(ctx, side, host, count, sec, nsec, writeBack, asTimeval);
            if (res < 0) return res;
            byte[] ro = r == null ? null : new byte[bytes];
            byte[] wo = w == null ? null : new byte[bytes];
            byte[] xo = x == null ? null : new byte[bytes];
            int ready = 0;
            for (int i = 0; i < count; i++) {
                int fd = which[i];
                int rev = Scratch.getShort(host + i * 8L + 6) & 0xffff;
                if (bit(r, fd) && (rev & POLLIN_SET) != 0) { set(ro, fd); ready++; }
                if (bit(w, fd) && (rev & POLLOUT_SET) != 0) { set(wo, fd); ready++; }
                if (bit(x, fd) && (rev & POLLEX_SET) != 0) { set(xo, fd); ready++; }
            }
            if (ro != null) mem.write(rPtr, ro);
            if (wo != null) mem.write(wPtr, wo);
            if (xo != null) mem.write(xPtr, xo);
            return ready;
        } finally {
            s.release(m);
        }
    }

    /**
     * Writes the fds of a pollfd array and picks the side that polls them: all local fds poll
     * here; when any lives in the proxy (or the call is forwarded) the proxy polls them all, the
     * local ones imported (a copy of each stays there while the guest keeps it open).
     */
    private static HostOps placeHandles(SyscallContext ctx, int[] handles, long pfds) {
        boolean proxy = ctx.forwarded();
        for (int h : handles) proxy |= h >= 0 && HostFd.isProxy(h);
        HostSides sides = Sys.fds(ctx).sides();
        // A pollfd array too big for this thread's shared scratch chunk was put in private memory,
        // which the proxy cannot see.
        if (proxy && !dev.herd.host.SharedScratch.get().contains(pfds, handles.length * 8L)) throw new ErrnoException(Errno.ENOMEM);
        for (int i = 0; i < handles.length; i++) {
            int h = handles[i];
            if (h >= 0 && proxy) h = HostFd.number(sides.inProxy(h));
            Scratch.putInt(pfds + i * 8L, h);
        }
        return proxy ? sides.of(HostFd.PROXY) : HostOps.LOCAL;
    }

    private static boolean bit(byte[] set, int fd) {
        return set != null && (set[fd >>> 3] & (1 << (fd & 7))) != 0;
    }

    private static void set(byte[] set, int fd) {
        set[fd >>> 3] |= (byte) (1 << (fd & 7));
    }
}
