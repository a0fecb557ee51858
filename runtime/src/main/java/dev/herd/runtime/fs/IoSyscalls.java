package dev.herd.runtime.fs;

import dev.herd.host.HostFd;

import dev.herd.host.Errno;
import dev.herd.host.HostSyscall;

import dev.herd.host.HostKernel;
import dev.herd.memory.GuestMemory;
import dev.herd.memory.Prot;
import dev.herd.runtime.signal.SignalFds;
import dev.herd.runtime.syscall.SyscallContext;
import dev.herd.runtime.syscall.SyscallTable;

import java.util.List;

/**
 * Data transfer on open fds: read/write and their positioned and vectored forms, lseek, getdents,
 * the sync family, truncate/fallocate on fds, sendfile/copy_file_range/splice/tee, readahead,
 * fadvise. Data buffers go to the host kernel by address (no copying).
 */
final class IoSyscalls {
    private IoSyscalls() {}

    /** getdents converts through scratch memory; larger requests read at most this much. */
    static final int GETDENTS_CHUNK = 1 << 20;

    /** SPLICE_F_MOVE | NONBLOCK | MORE | GIFT. */
    private static final long SPLICE_F_ALL = 0xf;

    static void register(SyscallTable t) {
        t.define("read", "fd buf_out:ret size", (ctx, fd, buf, count, d, e, f) -> {
            int h = Sys.fd(ctx, fd);
            var delivery = ctx.process().delivery(); // a signalfd: Herd's signal queues, not the pipe
            long sfd = delivery == null ? SignalFds.NOT_A_SIGNALFD : delivery.signalFds().read(ctx, h, buf, count);
            if (sfd != SignalFds.NOT_A_SIGNALFD) return sfd;
            long n = Sys.clampCount(count);
            // the host copies at most the clamped n bytes; its access_ok is Linux's on the guest range
            return Sys.onFd(ctx, HostSyscall.READ, h, Sys.out(ctx, buf, n), Sys.hostCount(buf, count, n));
        });
        t.define("write", "fd buf_in:2 size", (ctx, fd, buf, count, d, e, f) -> {
            int h = Sys.fd(ctx, fd);
            if (Sys.isSignalfd(ctx, h)) return -Errno.EINVAL; // vfs_write: no write op, before the buffer
            long n = Sys.clampCount(count);
            // the host copies at most the clamped n bytes; its access_ok is Linux's on the guest range
            return Sys.onFd(ctx, HostSyscall.WRITE, h, Sys.in(ctx, buf, n), Sys.hostCount(buf, count, n));
        });
        t.define("pread64", "fd buf_out:ret size int", (ctx, fd, buf, count, off, e, f) -> {
            if (off < 0) return -Errno.EINVAL; // ksys_pread64: the offset before the fd
            int h = Sys.fd(ctx, fd);
            long n = Sys.clampCount(count);
            return Sys.onFd(ctx, HostSyscall.PREAD64, h, Sys.out(ctx, buf, n), Sys.hostCount(buf, count, n), off);
        });
        t.define("pwrite64", "fd buf_in:2 size int", (ctx, fd, buf, count, off, e, f) -> {
            if (off < 0) return -Errno.EINVAL; // ksys_pwrite64: the offset before the fd
            int h = Sys.fd(ctx, fd);
            long n = Sys.clampCount(count);
            return Sys.onFd(ctx, HostSyscall.PWRITE64, h, Sys.in(ctx, buf, n), Sys.hostCount(buf, count, n), off);
        });
        t.define("readv", "fd iov_out:2 int", (ctx, fd, iov, cnt, d, e, f) ->
                vectored(ctx, HostSyscall.READV, fd, iov, cnt, Prot.WRITE, 0, 0, 0));
        t.define("writev", "fd iov_in:2 int", (ctx, fd, iov, cnt, d, e, f) ->
                Sys.isSignalfd(ctx, Sys.fd(ctx, fd)) ? -Errno.EINVAL
                        : vectored(ctx, HostSyscall.WRITEV, fd, iov, cnt, Prot.READ, 0, 0, 0));
        t.define("preadv", "fd iov_out:2 int int int", (ctx, fd, iov, cnt, lo, hi, f) ->
                vectored(ctx, HostSyscall.PREADV, fd, iov, cnt, Prot.WRITE, lo, hi, 0));
        t.define("pwritev", "fd iov_in:2 int int int", (ctx, fd, iov, cnt, lo, hi, f) ->
                vectored(ctx, HostSyscall.PWRITEV, fd, iov, cnt, Prot.READ, lo, hi, 0));
        // RWF_* flags are implemented by the host kernel itself, with Linux's checks.
        t.define("preadv2", "fd iov_out:2 int int int hex", (ctx, fd, iov, cnt, lo, hi, flags) ->
                vectored(ctx, HostSyscall.PREADV2, fd, iov, cnt, Prot.WRITE, lo, hi, flags));
        t.define("pwritev2", "fd iov_in:2 int int int hex", (ctx, fd, iov, cnt, lo, hi, flags) ->
                vectored(ctx, HostSyscall.PWRITEV2, fd, iov, cnt, Prot.READ, lo, hi, flags));
        t.define("lseek", "fd int whence", (ctx, fd, off, whence, d, e, f) -> {
            int h = Sys.fd(ctx, fd);
            if (Sys.isSignalfd(ctx, h)) return 0; // noop_llseek: the position stays 0
            return Sys.onFd(ctx, HostSyscall.LSEEK, h, off, whence);
        });
        t.define("getdents64", "fd ptr uint", (ctx, fd, dirp, count, d, e, f) -> {
            int h = Sys.fd(ctx, fd);
            long n = count & 0xffffffffL;
            String proc = TaskDirectory.procPath(h); // one readlink for both checks
            if (proc != null) {
                if (TaskDirectory.is(ctx, proc)) return TaskDirectory.getdents64(ctx, h, dirp, n);
                if (FdDirectory.is(ctx, proc)) return FdDirectory.getdents64(ctx, h, dirp, n);
            }
            return Sys.onFd(ctx, HostSyscall.GETDENTS64, h, Sys.out(ctx, dirp, n), n);
        });
        t.define("getdents", "fd ptr uint", (ctx, fd, dirp, count, d, e, f) -> getdents(ctx, fd, dirp, count & 0xffffffffL));
        t.define("sync", "", (ctx, a, b, c, d, e, f) -> ctx.host().call(HostSyscall.SYNC));
        t.define("syncfs", "fd", (ctx, fd, b, c, d, e, f) -> Sys.onFd(ctx, HostSyscall.SYNCFS, Sys.fd(ctx, fd)));
        t.define("fsync", "fd", (ctx, fd, b, c, d, e, f) -> Sys.onFd(ctx, HostSyscall.FSYNC, Sys.fd(ctx, fd)));
        t.define("fdatasync", "fd", (ctx, fd, b, c, d, e, f) -> Sys.onFd(ctx, HostSyscall.FDATASYNC, Sys.fd(ctx, fd)));
        t.define("sync_file_range", "fd int int hex", (ctx, fd, off, n, flags, e, f) ->
                Sys.onFd(ctx, HostSyscall.SYNC_FILE_RANGE, Sys.fd(ctx, fd), off, n, flags));
        t.define("readahead", "fd int size", (ctx, fd, off, n, d, e, f) ->
                Sys.onFd(ctx, HostSyscall.READAHEAD, Sys.fd(ctx, fd), off, n));
        t.define("fadvise64", "fd int int int", (ctx, fd, off, len, advice, e, f) ->
                Sys.onFd(ctx, HostSyscall.FADVISE64, Sys.fd(ctx, fd), off, len, advice));
        t.define("ftruncate", "fd int", (ctx, fd, len, c, d, e, f) ->
                Sys.onFd(ctx, HostSyscall.FTRUNCATE, Sys.fd(ctx, fd), len));
        t.define("fallocate", "fd hex int int", (ctx, fd, mode, off, len, e, f) ->
                Sys.onFd(ctx, HostSyscall.FALLOCATE, Sys.fd(ctx, fd), mode, off, len));
        t.define("sendfile", "fd fd ptr size", (ctx, out, in, offp, count, e, f) -> {
            // Linux copies the offset in before the fds and stores it back whatever the result
            if (offp == 0) {
                int[] h = Sys.together(ctx, Sys.fd(ctx, out), Sys.fd(ctx, in));
                return Sys.onFd(ctx, HostSyscall.SENDFILE, h[0], HostFd.number(h[1]), 0, count);
            }
            long pos = ctx.memory().readLong(offp);
            long r;
            try {
                int[] h = Sys.together(ctx, Sys.fd(ctx, out), Sys.fd(ctx, in));
                r = Sys.onFd(ctx, HostSyscall.SENDFILE, h[0], HostFd.number(h[1]), Sys.inOutOrNull(ctx, offp, 8), count);
            } catch (dev.herd.host.ErrnoException err) {
                r = err.asSyscallResult();
            }
            if (r < 0) ctx.memory().writeLong(offp, pos);
            return r;
        });
        t.define("copy_file_range", "fd ptr fd ptr size hex", (ctx, in, offIn, out, offOut, len, flags) -> {
            int[] h = Sys.together(ctx, Sys.fd(ctx, in), Sys.fd(ctx, out));
            return Sys.onFd(ctx, HostSyscall.COPY_FILE_RANGE, h[0], Sys.inOutOrNull(ctx, offIn, 8), HostFd.number(h[1]),
                    Sys.inOutOrNull(ctx, offOut, 8), len, flags);
        });
        t.define("splice", "fd ptr fd ptr size hex", (ctx, in, offIn, out, offOut, len, flags) -> {
            int[] h = Sys.together(ctx, Sys.fd(ctx, in), Sys.fd(ctx, out));
            return Sys.onFd(ctx, HostSyscall.SPLICE, h[0], Sys.inOutOrNull(ctx, offIn, 8), HostFd.number(h[1]),
                    Sys.inOutOrNull(ctx, offOut, 8), len, flags);
        });
        t.define("tee", "fd fd size hex", (ctx, in, out, len, flags, e, f) -> {
            int[] h = Sys.together(ctx, Sys.fd(ctx, in), Sys.fd(ctx, out));
            return Sys.onFd(ctx, HostSyscall.TEE, h[0], HostFd.number(h[1]), len, flags);
        });
        // The guest's pages are host pages of the memfd, so the pipe references them as Linux's
        // does a process's pages (a later guest write may show in unread pipe data, as there).
        t.define("vmsplice", "fd ptr size hex", (ctx, fd, iov, n, flags, e, f) -> {
            if ((flags & 0xffffffffL & ~SPLICE_F_ALL) != 0) return -Errno.EINVAL; // before the fd
            return vectored(ctx, HostSyscall.VMSPLICE, fd, iov, n, 0, flags & 0xffffffffL, 0, 0);
        });
        // Every host call of these runs on the side of its fds or the call's host (kernel proxy).
        t.forwardable("read", "write", "pread64", "pwrite64", "readv", "writev", "preadv", "pwritev", "preadv2", "pwritev2", "lseek", "getdents64", "getdents", "sync", "syncfs", "fsync", "fdatasync", "sync_file_range", "readahead", "fadvise64", "ftruncate", "fallocate", "sendfile", "copy_file_range", "splice", "tee");
    }

    /** readv/writev/preadv/pwritev(2): the guest iovec array becomes a host one (same buffers). */
    static long vectored(SyscallContext ctx, int nr, long fd, long iovPtr, long cnt, int prot,
                         long posLo, long posHi, long flags) {
        int h = Sys.fd(ctx, fd);
        GuestMemory mem = ctx.memory();
        List<GuestMemory.Iovec> iovs;
        try {
            iovs = mem.readIovecs(iovPtr, (int) cnt);
        } catch (dev.herd.host.ErrnoException e) {
            // Linux reads the iovec array after its own checks (fd mode, ESPIPE, flags): let the host
            // make them and then fail the same way, with an array it cannot read (EFAULT) or a
            // negative length (EINVAL).
            return replayBadIovec(ctx, nr, h, cnt, posLo, posHi, flags, e.errno());
        }
        if (nr == HostSyscall.READV && ctx.process().delivery() != null) {
            long sfd = ctx.process().delivery().signalFds().readv(ctx, h, iovs);
            if (sfd != SignalFds.NOT_A_SIGNALFD) return sfd;
        }
        Scratch s = Scratch.get();
        int m = s.mark();
        try {
            long arr = s.alloc(Math.max(16L, 16L * iovs.size()));
            for (int i = 0; i < iovs.size(); i++) {
                GuestMemory.Iovec v = iovs.get(i);
                Scratch.putLong(arr + 16L * i, mem.hostPointer(v.base(), v.len()));
                Scratch.putLong(arr + 16L * i + 8, v.len());
            }
            return Sys.onFd(ctx, nr, h, arr, iovs.size(), posLo, posHi, flags);
        } finally {
            s.release(m);
        }
    }

    private static long replayBadIovec(SyscallContext ctx, int nr, int h, long cnt, long posLo, long posHi, long flags, int errno) {
        if (errno == dev.herd.host.Errno.EFAULT) return Sys.onFd(ctx, nr, h, -4096L, cnt, posLo, posHi, flags);
        if (errno != dev.herd.host.Errno.EINVAL || cnt < 0 || cnt > GuestMemory.IOV_MAX) {
            return Sys.onFd(ctx, nr, h, -4096L, cnt, posLo, posHi, flags); // the host refuses cnt first
        }
        Scratch s = Scratch.get();
        int m = s.mark();
        try {
            long arr = s.alloc(16);
            Scratch.putLong(arr, 0);
            Scratch.putLong(arr + 8, -1);
            return Sys.onFd(ctx, nr, h, arr, 1, posLo, posHi, flags);
        } finally {
            s.release(m);
        }
    }

    /**
     * Old getdents (struct linux_dirent: d_ino, d_off, d_reclen, d_name, pad, d_type at reclen-1),
     * converted from host getdents64 records. Both layouts give every entry the same record length
     * (ALIGN(name + 20, 8)), so converting a buffer of count bytes yields at most count bytes and the
     * directory offset stays exact.
     */
    static long getdents(SyscallContext ctx, long fd, long dirp, long count) {
        int h = Sys.fd(ctx, fd);
        // the buffer is checked when the converted records are written (Linux: EFAULT if the first does not fit)
        // a count past INT_MAX is negative in Linux's filldir: the first entry is EINVAL (before
        // the buffer is touched); the host's getdents64 says so for a 1-byte buffer as well
        int n = (int) count < 0 ? 1 : (int) Math.min(count, GETDENTS_CHUNK);
        Scratch s = Scratch.get();
        int m = s.mark();
        try {
            long src = s.alloc(n);
            long r = Sys.onFd(ctx, HostSyscall.GETDENTS64, h, src, n);
            if (r <= 0) return r;
            byte[] out = new byte[(int) r];
            int pos = 0;
            while (pos < r) {
                long rec = src + pos;
                long ino = Scratch.getLong(rec), off = Scratch.getLong(rec + 8);
                int reclen = Scratch.getShort(rec + 16) & 0xffff;
                byte type = Scratch.getByte(rec + 18);
                int nameLen = 0;
                while (19 + nameLen < reclen && Scratch.getByte(rec + 19 + nameLen) != 0) nameLen++;
                java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(out, pos, reclen).order(java.nio.ByteOrder.LITTLE_ENDIAN);
                b.putLong(ino).putLong(off).putShort((short) reclen);
                byte[] name = Scratch.bytes(rec + 19, nameLen);
                System.arraycopy(name, 0, out, pos + 18, nameLen);
                // bytes between the name's NUL and d_type are already zero
                out[pos + reclen - 1] = type;
                pos += reclen;
            }
            ctx.memory().write(dirp, out);
            return r;
        } finally {
            s.release(m);
        }
    }
}
