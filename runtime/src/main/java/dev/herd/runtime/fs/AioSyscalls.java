package dev.herd.runtime.fs;

import dev.herd.host.Errno;
import dev.herd.host.ErrnoException;
import dev.herd.host.HostKernel;
import dev.herd.host.HostSyscall;
import dev.herd.memory.GuestMemory;
import dev.herd.memory.MapFlags;
import dev.herd.memory.Prot;
import dev.herd.runtime.mm.MemorySyscalls;
import dev.herd.runtime.process.AioContexts;
import dev.herd.runtime.process.AioContexts.Context;
import dev.herd.runtime.process.AioContexts.Request;
import dev.herd.runtime.syscall.SyscallContext;
import dev.herd.runtime.syscall.SyscallTable;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;

/**
 * Linux native AIO (io_setup, io_submit, io_getevents, io_pgetevents, io_cancel, io_destroy) on
 * the host kernel's AIO, with Linux's checks in Linux's order (fs/aio.c). The kernel reads a
 * request's iocb at submission and its buffer when the I/O runs, so each guest iocb is copied to
 * host memory with its fds translated and its buffer pointer made a host pointer into the guest
 * view (the host faults, and reports -EFAULT in the event, exactly where Linux would); for
 * vectored requests the iovec array is translated too (the kernel imports it at submission).
 * The host hands the copy's address back as the event's obj, which Herd maps back to the guest
 * iocb ({@link AioContexts}).
 *
 * <p>The guest context id is a page Herd maps in the guest (Linux's id is its ring's address).
 * The page holds no ring (zero magic), so libaio, which reads events from the ring only when it
 * finds AIO_RING_MAGIC there, always asks the kernel: every completion goes through io_getevents.
 * x86_64 layouts: iocb 64 bytes, io_event 32.
 */
final class AioSyscalls {
    private AioSyscalls() {}

    private static final int IOCB = 64, IO_EVENT = 32;
    private static final int IOCB_CMD_PREAD = 0, IOCB_CMD_PWRITE = 1, IOCB_CMD_PREADV = 7, IOCB_CMD_PWRITEV = 8;
    private static final int IOCB_FLAG_RESFD = 1;
    /** The kernel's sanity bound for one io_getevents batch copied through Herd's buffer. */
    private static final long MAX_BATCH = 1 << 16;
    private static final int SIGSET_SIZE = 8;
    private static final long PAGE = 4096;

    static void register(SyscallTable t) {
        t.define("io_setup", "uint ptr", AioSyscalls::setup);
        t.define("io_destroy", "hex", AioSyscalls::destroy);
        t.define("io_submit", "hex int ptr", AioSyscalls::submit);
        t.define("io_getevents", "hex int int ptr ptr", (ctx, id, min, nr, events, timeout, f) ->
                getevents(ctx, id, min, nr, events, timeout));
        t.define("io_pgetevents", "hex int int ptr ptr ptr", AioSyscalls::pgetevents);
        t.define("io_cancel", "hex ptr ptr", AioSyscalls::cancel);
    }

    private static AioContexts contexts(SyscallContext ctx) { return ctx.process().aio(); }

    private static long setup(SyscallContext ctx, long nrEvents, long ctxp, long c, long d, long e, long f) {
        GuestMemory m = ctx.memory();
        if (m.readLong(ctxp) != 0 || (int) nrEvents == 0) return -Errno.EINVAL;
        long hostId;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(8);
            long r = HostKernel.call(HostSyscall.IO_SETUP, nrEvents & 0xffffffffL, out.address());
            if (r < 0) return r;
            hostId = out.get(ValueLayout.JAVA_LONG, 0);
        }
        long page;
        try {
            page = MemorySyscalls.map(ctx, 0, PAGE, Prot.READ | Prot.WRITE, MapFlags.PRIVATE | MapFlags.ANONYMOUS, -1, 0,
                    "/[aio] (deleted)");
        } catch (ErrnoException ex) {
            HostKernel.call(HostSyscall.IO_DESTROY, hostId);
            return -ex.errno();
        }
        contexts(ctx).add(page, hostId);
        try {
            m.writeLong(ctxp, page);
        } catch (ErrnoException ex) {
            destroy(ctx, page, 0, 0, 0, 0, 0); // Linux kills the new context when put_user fails
            return -Errno.EFAULT;
        }
        return 0;
    }

    private static long destroy(SyscallContext ctx, long id, long b, long c, long d, long e, long f) {
        Context c0 = contexts(ctx).get(id);
        if (c0 == null) return -Errno.EINVAL;
        long r = HostKernel.call(HostSyscall.IO_DESTROY, c0.hostId); // waits for requests in flight
        contexts(ctx).remove(id);
        try {
            MemorySyscalls.unmap(ctx, id, PAGE);
        } catch (ErrnoException ignored) {
            // the guest unmapped the page itself
        }
        return r;
    }

    private static long submit(SyscallContext ctx, long id, long nr, long iocbpp, long d, long e, long f) {
        if (nr < 0) return -Errno.EINVAL;
        Context c = contexts(ctx).get(id);
        if (c == null) return -Errno.EINVAL;
        GuestMemory m = ctx.memory();
        long done = 0, ret = 0;
        for (; done < nr; done++) {
            long guestIocb;
            try {
                guestIocb = m.readLong(iocbpp + 8 * done);
            } catch (ErrnoException ex) {
                ret = -Errno.EFAULT;
                break;
            }
            ret = submitOne(ctx, c, guestIocb);
            if (ret != 0) break;
        }
        return done > 0 ? done : ret;
    }

    /** io_submit_one: 0, or the error that stops the batch. */
    private static long submitOne(SyscallContext ctx, Context c, long guestIocb) {
        GuestMemory m = ctx.memory();
        byte[] raw;
        try {
            raw = m.read(guestIocb, IOCB);
        } catch (ErrnoException ex) {
            return -Errno.EFAULT;
        }
        var in = java.nio.ByteBuffer.wrap(raw).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        int opcode = Short.toUnsignedInt(in.getShort(16));
        int fildes = in.getInt(20);
        long buf = in.getLong(24), nbytes = in.getLong(32);
        long reserved2 = in.getLong(48);
        int flags = in.getInt(56), resfd = in.getInt(60);
        if (reserved2 != 0 || nbytes < 0) return -Errno.EINVAL;
        FdTable fds = ctx.process().fds();
        Arena memory = Arena.ofShared();
        try {
            MemorySegment iocb = memory.allocate(IOCB, 8);
            MemorySegment.copy(raw, 0, iocb, ValueLayout.JAVA_BYTE, 0, IOCB);
            // An fd the guest does not have becomes -1, so the host refuses it where Linux would.
            iocb.set(ValueLayout.JAVA_INT, 20, fds.hostOrMinus1(fildes));
            if ((flags & IOCB_FLAG_RESFD) != 0) iocb.set(ValueLayout.JAVA_INT, 60, fds.hostOrMinus1(resfd));
            long hostBuf = buf;
            if (opcode == IOCB_CMD_PREAD || opcode == IOCB_CMD_PWRITE) {
                hostBuf = m.hostPointer(buf, nbytes);
            } else if (opcode == IOCB_CMD_PREADV || opcode == IOCB_CMD_PWRITEV) {
                List<GuestMemory.Iovec> iovs;
                try {
                    iovs = m.readIovecs(buf, (int) Math.min(nbytes, Integer.MAX_VALUE));
                } catch (ErrnoException ex) {
                    return -ex.errno();
                }
                MemorySegment arr = memory.allocate(Math.max(16L, 16L * iovs.size()), 8);
                for (int i = 0; i < iovs.size(); i++) {
                    arr.set(ValueLayout.JAVA_LONG, 16L * i, m.hostPointer(iovs.get(i).base(), iovs.get(i).len()));
                    arr.set(ValueLayout.JAVA_LONG, 16L * i + 8, iovs.get(i).len());
                }
                hostBuf = arr.address();
            }
            iocb.set(ValueLayout.JAVA_LONG, 24, hostBuf);
            // Linux writes KIOCB_KEY (0) into the guest's iocb before the request starts.
            try {
                m.writeInt(guestIocb + 8, 0);
            } catch (ErrnoException ex) {
                return -Errno.EFAULT;
            }
            MemorySegment vec = memory.allocate(8, 8);
            vec.set(ValueLayout.JAVA_LONG, 0, iocb.address());
            // In the table before the host can complete it (another thread may reap it at once).
            c.inFlight.put(iocb.address(), new Request(guestIocb, memory));
            long r = HostKernel.call(HostSyscall.IO_SUBMIT, c.hostId, 1, vec.address());
            if (r == 1) {
                memory = null; // owned by the table until the event is reaped
                return 0;
            }
            c.inFlight.remove(iocb.address());
            return r < 0 ? r : -Errno.EAGAIN;
        } finally {
            if (memory != null) memory.close();
        }
    }

    private static long getevents(SyscallContext ctx, long id, long minNr, long nr, long events, long timeout) {
        GuestMemory m = ctx.memory();
        long ts = 0;
        byte[] tsBytes = timeout == 0 ? null : m.read(timeout, 16); // copied in first (EFAULT)
        Context c = contexts(ctx).get(id);
        if (c == null || minNr < 0 || minNr > nr) return -Errno.EINVAL;
        long batch = Math.min(nr, MAX_BATCH);
        long min = Math.min(minNr, batch);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(Math.max(IO_EVENT, IO_EVENT * batch), 8);
            if (tsBytes != null) {
                MemorySegment t = a.allocate(16, 8);
                MemorySegment.copy(tsBytes, 0, t, ValueLayout.JAVA_BYTE, 0, 16);
                ts = t.address();
            }
            long r = HostKernel.call(HostSyscall.IO_GETEVENTS, c.hostId, min, batch, out.address(), ts);
            if (r <= 0) return r;
            byte[] guest = new byte[(int) (IO_EVENT * r)];
            var b = java.nio.ByteBuffer.wrap(guest).order(java.nio.ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < r; i++) {
                long off = (long) IO_EVENT * i;
                long obj = out.get(ValueLayout.JAVA_LONG, off + 8);
                Request req = c.complete(obj);
                b.putLong(out.get(ValueLayout.JAVA_LONG, off));
                b.putLong(req == null ? obj : req.guestIocb());
                b.putLong(out.get(ValueLayout.JAVA_LONG, off + 16));
                b.putLong(out.get(ValueLayout.JAVA_LONG, off + 24));
            }
            m.write(events, guest); // EFAULT: the events are gone, as in Linux
            return r;
        }
    }

    private static long pgetevents(SyscallContext ctx, long id, long minNr, long nr, long events, long timeout, long usig) {
        GuestMemory m = ctx.memory();
        if (timeout != 0) m.read(timeout, 16); // Linux's order: the timeout, then the signal set
        if (usig == 0) return getevents(ctx, id, minNr, nr, events, timeout);
        long sigmask = m.readLong(usig), size = m.readLong(usig + 8);
        if (sigmask == 0) return getevents(ctx, id, minNr, nr, events, timeout);
        if (size != SIGSET_SIZE) return -Errno.EINVAL;
        long mask = m.readLong(sigmask);
        long r = ctx.process().delivery().withTemporaryMask(ctx, mask, () -> getevents(ctx, id, minNr, nr, events, timeout));
        // Interrupted with nothing reaped: restarted unless a handler ran (ERESTARTNOHAND).
        return r == -Errno.EINTR ? -Errno.ERESTARTNOHAND : r;
    }

    private static long cancel(SyscallContext ctx, long id, long guestIocb, long result, long d, long e, long f) {
        GuestMemory m = ctx.memory();
        if (m.readInt(guestIocb + 8) != 0) return -Errno.EINVAL; // aio_key must be KIOCB_KEY
        Context c = contexts(ctx).get(id);
        if (c == null) return -Errno.EINVAL;
        long hostIocb = c.hostIocbOf(guestIocb);
        if (hostIocb == 0) return -Errno.EINVAL;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment ev = a.allocate(IO_EVENT, 8);
            return HostKernel.call(HostSyscall.IO_CANCEL, c.hostId, hostIocb, ev.address());
        }
    }
}
