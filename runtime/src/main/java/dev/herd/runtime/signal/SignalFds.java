package dev.herd.runtime.signal;

import dev.herd.host.Errno;
import dev.herd.host.ErrnoException;
import dev.herd.host.HostKernel;
import dev.herd.host.HostSyscall;
import dev.herd.memory.GuestMemory;
import dev.herd.runtime.fs.FdTable;
import dev.herd.runtime.process.GuestProcess;
import dev.herd.runtime.syscall.SyscallContext;
import dev.herd.runtime.syscall.SyscallTable;
import dev.herd.signals.ProcessSignals;
import dev.herd.signals.SigInfo;
import dev.herd.signals.SigInfoLayout;
import dev.herd.signals.Signals;
import dev.herd.threads.GuestThread;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/**
 * signalfd and signalfd4: Herd's guest signal queues read through a file descriptor.
 *
 * <p><b>Design.</b> Guest signals are Herd's (queued in {@link ProcessSignals}, never host
 * signals), so no host signalfd can see them. Each guest signalfd is instead the read end of a
 * host pipe whose readability Herd keeps equal to "a signal in the fd's mask is pending": bytes
 * sit in the pipe while that holds, none otherwise. {@link SignalDelivery} calls
 * {@link #changedLocked} under the signal lock after every enqueue and dequeue, which writes or
 * drains that byte (and adds one for each further matching signal queued while it is readable, so
 * that edge-triggered epoll sees an event per signal, as Linux wakes signalfd waiters on each
 * one). So poll, select, epoll (level and edge triggered), close, dup, fcntl and
 * O_NONBLOCK all work on the ordinary host fd with no special case anywhere in Herd's fd code; only
 * {@code read} is intercepted ({@link #read}): it dequeues from the calling thread's queue and the
 * process's, as sigtimedwait does, and writes {@code struct signalfd_siginfo} records.
 *
 * <p>A pipe rather than an eventfd because a pipe has an identity of its own: a guest fd is
 * recognised as a signalfd by the pipe's inode (fstat of its host fd), which survives dup, dup2,
 * fcntl(F_DUPFD) and SCM_RIGHTS without any bookkeeping in {@link FdTable}; every eventfd shares
 * one anonymous inode. Herd keeps only the pipe's write end; it drains the pipe through a
 * short-lived non-blocking reader opened on {@code /proc/self/fd/W}. Once the guest has closed every
 * fd of the read end, the pipe has no reader, which Herd notices (EPIPE on a write, POLLERR on the
 * write end when the next signalfd is created) and then forgets the signalfd and closes its end.
 *
 * <p><b>Differences from Linux</b> (documented, accepted):
 * <ul>
 *   <li>Readiness is process-wide: a matching signal pending for any thread (its private queue) or
 *       for the process makes the fd readable, whereas Linux's poll asks about the polling thread's
 *       private queue only. A blocking read by a thread that sees the fd readable because of another
 *       thread's private signal waits in short sleeps until something it can dequeue arrives.</li>
 *   <li>fstat shows a FIFO, {@code /proc/self/fd} a pipe, F_GETFL O_RDONLY (Linux: an anonymous
 *       inode "[signalfd]", O_RDWR); write(2) fails with EBADF instead of EINVAL; pread and
 *       preadv fail with ESPIPE.</li>
 *   <li>A signalfd inherited by another Herd process (execve) is a plain empty pipe there.</li>
 * </ul>
 */
public final class SignalFds {
    private static final int O_NONBLOCK = 04000, O_CLOEXEC = 02000000, O_RDONLY = 0;
    private static final int F_GETFL = 3, F_SETFL = 4;
    private static final int S_IFMT = 0170000, S_IFIFO = 0010000;
    private static final int AT_FDCWD = -100;
    private static final short POLLIN = 0x1, POLLOUT = 0x4, POLLERR = 0x8;
    private static final long SIGSET_SIZE = 8;
    /** How long a blocking read sleeps when the pipe is readable only for another thread's signal. */
    private static final long SPURIOUS_SLEEP_NANOS = 5_000_000;
    /** Returned by {@link #read} for a host fd that is not a signalfd. */
    public static final long NOT_A_SIGNALFD = Long.MIN_VALUE;

    /** One guest signalfd (an open file description: shared by its dups). */
    private static final class Entry {
        final long dev, ino;
        final int writeFd;
        /** The signals it reads; written under the signal lock, read without it. */
        volatile long mask;
        /** Whether the pipe holds its byte; guarded by the signal lock. */
        boolean ready;

        Entry(long dev, long ino, int writeFd, long mask) {
            this.dev = dev;
            this.ino = ino;
            this.writeFd = writeFd;
            this.mask = mask;
        }
    }

    private final GuestProcess process;
    private final SignalDelivery delivery;
    /** Live signalfds; guarded by the process's signal lock. */
    private final List<Entry> entries = new ArrayList<>();
    /** Whether any signalfd was ever made (reads of other fds then skip the fstat). */
    private volatile boolean active;
    private boolean closed;

    /** Native scratch for host calls; one per host thread (senders update readiness too). */
    private static final ThreadLocal<MemorySegment> BUFFER =
            ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(256, 16));

    SignalFds(GuestProcess process, SignalDelivery delivery) {
        this.process = process;
        this.delivery = delivery;
    }

    static void register(SyscallTable t) {
        t.define("signalfd", "fd ptr size", (ctx, fd, mask, size, d, e, f) ->
                ctx.process().delivery().signalFds().signalfd4(ctx, (int) fd, mask, size, 0));
        t.define("signalfd4", "fd ptr size hex", (ctx, fd, mask, size, flags, e, f) ->
                ctx.process().delivery().signalFds().signalfd4(ctx, (int) fd, mask, size, flags));
    }

    private ProcessSignals signals() { return process.signals(); }

    // ------------------------------------------------------------------ creation

    private long signalfd4(SyscallContext ctx, int ufd, long maskPtr, long size, long flagsArg) {
        int flags = (int) flagsArg; // an int in the kernel
        // fs/signalfd.c's order: the size, the mask's copy, the flags, then the fd
        if (size != SIGSET_SIZE) return -Errno.EINVAL;
        long mask = ctx.memory().readLong(maskPtr);
        if ((flags & ~(O_NONBLOCK | O_CLOEXEC)) != 0) return -Errno.EINVAL;
        mask &= ~Signals.UNBLOCKABLE;
        FdTable fds = ctx.process().fds();
        if (ufd != -1) {
            int host = fds.hostOrMinus1(ufd);
            if (host < 0) return -Errno.EBADF;
            Entry e = find(host);
            if (e == null) return -Errno.EINVAL;
            signals().lock().lock();
            try {
                e.mask = mask;
                changedLocked();
            } finally {
                signals().lock().unlock();
            }
            return ufd;
        }
        sweep();
        MemorySegment b = BUFFER.get();
        long r = HostKernel.call(HostSyscall.PIPE2, b.address(), O_CLOEXEC);
        if (r < 0) return r;
        int readFd = b.get(ValueLayout.JAVA_INT, 0), writeFd = b.get(ValueLayout.JAVA_INT, 4);
        HostKernel.call(HostSyscall.FCNTL, writeFd, F_SETFL, O_NONBLOCK);
        if ((flags & O_NONBLOCK) != 0) HostKernel.call(HostSyscall.FCNTL, readFd, F_SETFL, O_NONBLOCK);
        long[] id = identity(readFd);
        if (id == null) {
            HostKernel.call(HostSyscall.CLOSE, readFd);
            HostKernel.call(HostSyscall.CLOSE, writeFd);
            return -Errno.ENOMEM;
        }
        Entry e = new Entry(id[0], id[1], writeFd, mask);
        signals().lock().lock();
        try {
            if (closed) {
                HostKernel.call(HostSyscall.CLOSE, readFd);
                HostKernel.call(HostSyscall.CLOSE, writeFd);
                return -Errno.EBADF;
            }
            entries.add(e);
            active = true;
            changedLocked();
        } finally {
            signals().lock().unlock();
        }
        // install owns readFd from here (EMFILE closes it: the entry then dies at its next write or sweep)
        return fds.install(readFd, (flags & O_CLOEXEC) != 0);
    }

    /** {dev, ino} of a host fd that is a FIFO, else null. */
    private static long[] identity(int hostFd) {
        MemorySegment b = BUFFER.get();
        if (HostKernel.call(HostSyscall.FSTAT, hostFd, b.address()) < 0) return null;
        int mode = b.get(ValueLayout.JAVA_INT, 24); // x86_64 struct stat: st_dev 0, st_ino 8, st_mode 24
        if ((mode & S_IFMT) != S_IFIFO) return null;
        return new long[]{b.get(ValueLayout.JAVA_LONG, 0), b.get(ValueLayout.JAVA_LONG, 8)};
    }

    /** Whether host fd {@code hostFd} is one of this process's signalfds (its pipe's read end). */
    public boolean isSignalfd(int hostFd) { return find(hostFd) != null; }

    /** The signalfd a host fd is, or null. */
    private Entry find(int hostFd) {
        if (!active) return null;
        long[] id = identity(hostFd);
        if (id == null) return null;
        signals().lock().lock();
        try {
            for (Entry e : entries) if (e.dev == id[0] && e.ino == id[1]) return e;
            return null;
        } finally {
            signals().lock().unlock();
        }
    }

    /** Forgets signalfds whose every guest fd is closed (their pipe has no reader left). */
    private void sweep() {
        signals().lock().lock();
        try {
            MemorySegment b = BUFFER.get();
            MemorySegment ts = b.asSlice(240, 16); // a zero timeout
            ts.fill((byte) 0);
            int batch = 240 / 8;
            List<Entry> dead = new ArrayList<>();
            for (int from = 0; from < entries.size(); from += batch) {
                int n = Math.min(batch, entries.size() - from);
                for (int i = 0; i < n; i++) {
                    b.set(ValueLayout.JAVA_INT, i * 8L, entries.get(from + i).writeFd);
                    b.set(ValueLayout.JAVA_SHORT, i * 8L + 4, POLLOUT);
                    b.set(ValueLayout.JAVA_SHORT, i * 8L + 6, (short) 0);
                }
                if (HostKernel.call(HostSyscall.PPOLL, b.address(), n, ts.address(), 0, SIGSET_SIZE) < 0) return;
                for (int i = 0; i < n; i++) {
                    if ((b.get(ValueLayout.JAVA_SHORT, i * 8L + 6) & POLLERR) != 0) dead.add(entries.get(from + i));
                }
            }
            for (Entry e : dead) forget(e);
        } finally {
            signals().lock().unlock();
        }
    }

    private void forget(Entry e) {
        entries.remove(e);
        HostKernel.call(HostSyscall.CLOSE, e.writeFd);
    }

    /** Process exit: closes Herd's pipe ends. */
    public void close() {
        signals().lock().lock();
        try {
            closed = true;
            for (Entry e : entries) HostKernel.call(HostSyscall.CLOSE, e.writeFd);
            entries.clear();
        } finally {
            signals().lock().unlock();
        }
    }

    // ------------------------------------------------------------------ readiness

    /**
     * A pending set of the process changed: brings every signalfd's pipe in line with "a signal in
     * its mask is pending for the process or one of its threads". Caller holds the signal lock.
     */
    void changedLocked() {
        changedLocked(0);
    }

    /**
     * {@link #changedLocked()} after {@code queued} (a signal number) went into a pending set: a
     * signalfd that was readable already gets one more byte, so that epoll in edge-triggered mode
     * sees a new event for every signal queued, as Linux's signalfd_notify wakes it each time.
     */
    void changedLocked(int queued) {
        if (!active || entries.isEmpty()) return;
        long pending = signals().shared().pending();
        for (GuestThread t : process.threads().threads()) {
            if (t.kernelState() instanceof SyscallContext c) pending |= c.signals().pending().pending();
        }
        for (Iterator<Entry> it = entries.iterator(); it.hasNext(); ) {
            Entry e = it.next();
            boolean want = (pending & e.mask) != 0;
            boolean edge = want && e.ready && queued != 0 && (e.mask & Signals.bit(queued)) != 0;
            if (want == e.ready && !edge) continue;
            if (want) {
                MemorySegment b = BUFFER.get();
                b.set(ValueLayout.JAVA_BYTE, 0, (byte) 1);
                long r = HostKernel.call(HostSyscall.WRITE, e.writeFd, b.address(), 1);
                if (r == -Errno.EPIPE) { // no guest fd left: the signalfd is gone
                    it.remove();
                    HostKernel.call(HostSyscall.CLOSE, e.writeFd);
                    continue;
                }
                e.ready = r == 1 || r == -Errno.EAGAIN;
            } else {
                drain(e);
            }
        }
    }

    /** Empties the pipe through a non-blocking reader of its own (the guest's fds stay untouched). */
    private static void drain(Entry e) {
        MemorySegment b = BUFFER.get();
        byte[] path = ("/proc/self/fd/" + e.writeFd + "\0").getBytes(StandardCharsets.US_ASCII);
        MemorySegment.copy(path, 0, b, ValueLayout.JAVA_BYTE, 192, path.length);
        long fd = HostKernel.call(HostSyscall.OPENAT, AT_FDCWD, b.address() + 192, O_RDONLY | O_NONBLOCK | O_CLOEXEC, 0);
        if (fd < 0) return; // stays readable: a read then finds nothing (EAGAIN, or it waits)
        while (HostKernel.call(HostSyscall.READ, (int) fd, b.address(), 192) > 0) { }
        HostKernel.call(HostSyscall.CLOSE, (int) fd);
        e.ready = false;
    }

    // ------------------------------------------------------------------ read

    /** Where records go: {@code b} at byte offset {@code off} of the caller's buffer (or iovecs). */
    private interface Sink {
        void put(long off, byte[] b);
    }

    /** access_ok: the range lies in the user address space (EFAULT otherwise, before anything else). */
    private static boolean userRange(long base, long len) {
        long end = base + len;
        return Long.compareUnsigned(end, GuestMemory.TASK_SIZE_MAX) <= 0 && Long.compareUnsigned(end, base) >= 0;
    }

    /**
     * read(2) on host fd {@code hostFd}: if it is a signalfd, dequeues pending signals of its mask
     * (the caller's own queue first, then the process's) as {@code struct signalfd_siginfo}
     * records, as many as {@code count} holds; blocks for the first unless the fd is non-blocking.
     * Returns {@link #NOT_A_SIGNALFD} for any other fd.
     */
    public long read(SyscallContext ctx, int hostFd, long buf, long count) {
        if (!active) return NOT_A_SIGNALFD;
        Entry e = find(hostFd);
        if (e == null) return NOT_A_SIGNALFD;
        // vfs_read's access_ok comes first: a range beyond the user address space is EFAULT
        if (!userRange(buf, count)) return -Errno.EFAULT;
        return records(ctx, e, hostFd, count, (off, b) -> ctx.memory().write(buf + off, b));
    }

    /** readv(2): {@link #read} into the iovecs (a record may span two of them, as copy_to_iter does). */
    public long readv(SyscallContext ctx, int hostFd, List<GuestMemory.Iovec> iovs) {
        if (!active) return NOT_A_SIGNALFD;
        Entry e = find(hostFd);
        if (e == null) return NOT_A_SIGNALFD;
        long total = 0;
        for (GuestMemory.Iovec v : iovs) {
            if (!userRange(v.base(), v.len())) return -Errno.EFAULT;
            total += v.len();
        }
        return records(ctx, e, hostFd, total, (off, b) -> {
            long skip = off;
            int done = 0;
            for (GuestMemory.Iovec v : iovs) {
                if (done == b.length) break;
                if (skip >= v.len()) {
                    skip -= v.len();
                    continue;
                }
                int n = (int) Math.min(v.len() - skip, b.length - done);
                ctx.memory().write(v.base() + skip, b, done, n);
                done += n;
                skip = 0;
            }
        });
    }

    private long records(SyscallContext ctx, Entry e, int hostFd, long count, Sink sink) {
        int size = SigInfoLayout.SIGNALFD_SIZE;
        if (Long.compareUnsigned(count, size) < 0) return -Errno.EINVAL;
        long max = Math.min(Long.divideUnsigned(count, size), 1 << 16);
        long flags = HostKernel.call(HostSyscall.FCNTL, hostFd, F_GETFL, 0);
        boolean nonblock = flags >= 0 && (flags & O_NONBLOCK) != 0;
        long got = 0;
        boolean spurious = false;
        while (got < max) {
            SigInfo info = delivery.dequeueFrom(ctx, e.mask);
            if (info == null) {
                if (got > 0) break;
                if (nonblock) return -Errno.EAGAIN;
                long r = await(ctx, hostFd, spurious);
                if (r < 0) return r;
                spurious = r > 0;
                continue;
            }
            try {
                sink.put(got * size, SigInfoLayout.signalfdBytes(info));
            } catch (ErrnoException err) {
                // Linux: the dequeued signal is lost; what was copied before counts
                return got > 0 ? got * size : -Errno.EFAULT;
            }
            got++;
            nonblock = true; // only the first record is waited for
        }
        return got * size;
    }

    /**
     * Waits until the pipe is readable (a matching signal may be pending), a signal the thread does
     * not block is pending (-EINTR: the dispatcher makes it ERESTARTSYS, as Linux's signalfd read
     * returns) or a safe point is requested (a host EINTR: -EINTR too, restarted transparently when
     * no handler runs). Returns 1 when the pipe was readable, 0 after a sleep.
     */
    private long await(SyscallContext ctx, int hostFd, boolean spurious) {
        if (delivery.hasDeliverable(ctx, ctx.signals().blocked())) return -Errno.EINTR;
        if (ctx.thread().exitRequested()) return -Errno.EINTR;
        MemorySegment s = ctx.scratch();
        long r;
        if (spurious) {
            // readable for another thread's signal: sleep a little instead of spinning
            s.set(ValueLayout.JAVA_LONG, 8, 0);
            s.set(ValueLayout.JAVA_LONG, 16, SPURIOUS_SLEEP_NANOS);
            r = HostKernel.call(HostSyscall.PPOLL, 0, 0, s.address() + 8, 0, SIGSET_SIZE);
            return r == -Errno.EINTR ? r : 0;
        }
        s.set(ValueLayout.JAVA_INT, 0, hostFd);
        s.set(ValueLayout.JAVA_SHORT, 4, POLLIN);
        s.set(ValueLayout.JAVA_SHORT, 6, (short) 0);
        r = HostKernel.call(HostSyscall.PPOLL, s.address(), 1, 0, 0, SIGSET_SIZE);
        if (r < 0) return r;
        return 1;
    }
}
