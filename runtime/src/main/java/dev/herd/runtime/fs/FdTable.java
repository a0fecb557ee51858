package dev.herd.runtime.fs;

import dev.herd.host.HostSyscall;

import dev.herd.host.Errno;
import dev.herd.host.ErrnoException;
import dev.herd.host.HostKernel;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A guest process's file descriptor table: guest fd → host fd, plus the guest-side
 * {@code FD_CLOEXEC} flag of each guest fd.
 *
 * <p>A host fd is held as a handle ({@link dev.herd.host.HostFd}) that says which side it lives on,
 * the Herd process or the run's kernel proxy; {@link #sides()} routes calls on it.
 *
 * <p>Guest fds are virtual because the JVM's own fds share the host fd space and two guest runs in
 * one JVM must not see each other's files. Every host fd owned by a table is exclusively owned
 * (one host fd per guest fd, never shared with the JVM) and is always {@code O_CLOEXEC} on the
 * host side; the guest's close-on-exec flag lives here.
 *
 * <p>Allocation is lowest-free, like Linux; the soft {@code RLIMIT_NOFILE} (default 1024) bounds
 * guest fd numbers ({@code EMFILE} for allocation, {@code EBADF} for {@code dup2} targets,
 * {@code EINVAL} for {@code F_DUPFD} minimums).
 *
 * <p><b>Concurrency.</b> Guest threads share the table. Mutations take one lock; {@link #get} is
 * lock-free (a volatile read of the slot array plus one atomic read). Host fds that a mutation
 * removes are closed after the lock is released.
 *
 * <p><b>Close racing with use (documented limitation).</b> Linux keeps a file alive until every
 * syscall already using it returns. Here, a thread that got host fd H from {@link #get} and is about
 * to enter (or is inside) a host syscall on H can race with another guest thread closing the guest
 * fd. The host kernel itself keeps the open file alive for a syscall already in progress, so a
 * blocked read simply completes, exactly as on Linux. The remaining window is between {@code get}
 * and entering the host syscall: if the guest fd is closed and the host number H is reused by an
 * unrelated open (of this or another guest, or of the JVM) inside that window, the syscall goes to
 * the wrong file. Only a guest with a use-after-close bug on a shared fd can hit it (the same
 * guest bug on Linux would hit a reused guest fd number). Closing it fully would need a reference
 * count per use (two atomics per syscall) and deferred host close; not done.
 */
public final class FdTable implements AutoCloseable {
    /** Linux's default soft RLIMIT_NOFILE. */
    public static final int DEFAULT_LIMIT = 1024;
    /** Hard cap on guest fd numbers (Linux's default fs.nr_open). */
    public static final int NR_OPEN = 1 << 20;

    public static final int FD_CLOEXEC = 1;
    private static final int O_CLOEXEC = 0x80000;
    private static final int CLOSE_RANGE_UNSHARE = 1 << 1, CLOSE_RANGE_CLOEXEC = 1 << 2;
    private static final int F_DUPFD_CLOEXEC = 1030;

    /** Slot encoding: -1 = free, else (hostFd << 1) | cloexec. */
    private static final int FREE = -1;

    private volatile AtomicIntegerArray slots;
    private final HostSides sides;
    /** False for a copy (a vfork child's table): the sides, and the proxy link, are its parent's. */
    private final boolean ownsSides;
    /** The guest's spelling of its bound AF_UNIX paths; a copy shares its parent's (same host sockets). */
    private final UnixSocketNames unixNames;
    private final ReentrantLock lock = new ReentrantLock();
    private int limit = DEFAULT_LIMIT;
    /** No free slot below this index (Linux's next_fd); guarded by lock. */
    private int lowestFreeHint;
    private int openCount;
    private boolean closed;

    public FdTable() {
        this(new HostSides(), true, new UnixSocketNames());
    }

    private FdTable(HostSides sides, boolean ownsSides, UnixSocketNames unixNames) {
        this.sides = sides;
        this.ownsSides = ownsSides;
        this.unixNames = unixNames;
        slots = newSlots(64);
    }

    /**
     * A table whose guest fds 0, 1, 2 are duplicates of the given host fds (so closing guest fd 1
     * does not close the JVM's stdout). A negative or invalid host fd leaves that guest fd closed.
     */
    public static FdTable withStdio(int hostIn, int hostOut, int hostErr) {
        FdTable t = new FdTable();
        int[] src = {hostIn, hostOut, hostErr};
        for (int i = 0; i < 3; i++) {
            if (src[i] < 0) continue;
            long h = HostKernel.call(HostSyscall.FCNTL, src[i], F_DUPFD_CLOEXEC, 0);
            if (h < 0) continue;
            t.installAt(i, (int) h, false);
        }
        return t;
    }

    private static AtomicIntegerArray newSlots(int n) {
        AtomicIntegerArray a = new AtomicIntegerArray(n);
        for (int i = 0; i < n; i++) a.set(i, FREE);
        return a;
    }

    // ---------------------------------------------------------------- lock-free reads

    /** Where this table's host fds live, and how calls on them are routed. */
    public HostSides sides() { return sides; }

    /** The guest's spelling of the AF_UNIX paths its sockets were bound to. */
    UnixSocketNames unixNames() { return unixNames; }

    /** Host fd handle of guest fd, or throws {@code EBADF}. */
    public int get(int guestFd) {
        int e = raw(guestFd);
        if (e == FREE) throw new ErrnoException(Errno.EBADF);
        return e >>> 1;
    }

    /** Host fd of guest fd, or -1 when it is not open. */
    public int hostOrMinus1(int guestFd) {
        int e = raw(guestFd);
        return e == FREE ? -1 : e >>> 1;
    }

    /** True when the guest fd is open. */
    public boolean isOpen(int guestFd) { return raw(guestFd) != FREE; }

    /** The guest fd flags ({@link #FD_CLOEXEC} or 0), or throws {@code EBADF}. */
    public int getFdFlags(int guestFd) {
        int e = raw(guestFd);
        if (e == FREE) throw new ErrnoException(Errno.EBADF);
        return e & 1;
    }

    private int raw(int guestFd) {
        AtomicIntegerArray s = slots;
        if (guestFd < 0 || guestFd >= s.length()) return FREE;
        return s.get(guestFd);
    }

    /**
     * Current size of the slot array (like Linux's fdtable max_fds: 64, doubling as fds are
     * allocated). select() ignores bits at or above it, as Linux does.
     */
    public int capacity() { return slots.length(); }

    /** The soft RLIMIT_NOFILE. */
    public int limit() {
        lock.lock();
        try { return limit; } finally { lock.unlock(); }
    }

    /** Sets the soft RLIMIT_NOFILE (1..NR_OPEN). Open fds above it stay open, as on Linux. */
    public void setLimit(int newLimit) {
        if (newLimit < 0 || newLimit > NR_OPEN) throw new ErrnoException(Errno.EPERM);
        lock.lock();
        try { limit = newLimit; } finally { lock.unlock(); }
    }

    /** Number of open guest fds. */
    public int size() {
        lock.lock();
        try { return openCount; } finally { lock.unlock(); }
    }

    /** Open guest fds in ascending order (a snapshot). */
    public int[] openFds() {
        AtomicIntegerArray s = slots;
        int n = 0;
        int[] out = new int[16];
        for (int i = 0; i < s.length(); i++) {
            if (s.get(i) != FREE) {
                if (n == out.length) out = java.util.Arrays.copyOf(out, n * 2);
                out[n++] = i;
            }
        }
        return java.util.Arrays.copyOf(out, n);
    }

    // ---------------------------------------------------------------- mutations

    /**
     * Installs an owned host fd at the lowest free guest fd and returns that guest fd. On failure
     * ({@code EMFILE}) the host fd is closed and the error thrown: ownership always passes here.
     */
    public int install(int hostFd, boolean cloexec) {
        return installFrom(hostFd, 0, cloexec, Errno.EMFILE);
    }

    private int installFrom(int hostFd, int minFd, boolean cloexec, int fullErrno) {
        int fd;
        lock.lock();
        try {
            if (closed) {
                fd = -2;
            } else {
                fd = findFree(minFd);
                if (fd >= 0) put(fd, hostFd, cloexec);
            }
        } finally {
            lock.unlock();
        }
        if (fd < 0) {
            hostClose(hostFd);
            throw new ErrnoException(fd == -2 ? Errno.EBADF : fullErrno);
        }
        return fd;
    }

    /** Installs an owned host fd at a fixed guest fd (which must be free); for setup code. */
    public void installAt(int guestFd, int hostFd, boolean cloexec) {
        lock.lock();
        try {
            checkOpen();
            if (guestFd < 0 || guestFd >= NR_OPEN || raw(guestFd) != FREE) {
                throw new IllegalArgumentException("guest fd " + guestFd + " is not free");
            }
            put(guestFd, hostFd, cloexec);
        } finally {
            lock.unlock();
        }
    }

    /** Linux dup: lowest free guest fd sharing the open file description; FD_CLOEXEC clear. */
    public int dup(int guestFd) {
        return dupFrom(guestFd, 0, false, Errno.EMFILE);
    }

    /** fcntl(F_DUPFD / F_DUPFD_CLOEXEC): lowest free guest fd ≥ minFd. */
    public int dupMin(int guestFd, int minFd, boolean cloexec) {
        get(guestFd); // EBADF before EINVAL, as Linux checks the fd first
        if (minFd < 0 || minFd >= limit()) throw new ErrnoException(Errno.EINVAL);
        return dupFrom(guestFd, minFd, cloexec, Errno.EMFILE);
    }

    private int dupFrom(int guestFd, int minFd, boolean cloexec, int fullErrno) {
        int host = get(guestFd);
        long h = dupHost(host);
        // If guestFd was closed meanwhile, we still duplicated a live file (the host refcount kept
        // it); Linux would give EBADF or the dup, depending on ordering: both are valid outcomes.
        return installFrom((int) h, minFd, cloexec, fullErrno);
    }

    /** Linux dup2. */
    public int dup2(int oldFd, int newFd) {
        if (oldFd == newFd) {
            get(oldFd);
            return newFd;
        }
        return replace(oldFd, newFd, false);
    }

    /** Linux dup3: flags may only be O_CLOEXEC; oldFd == newFd is EINVAL. */
    public int dup3(int oldFd, int newFd, int flags) {
        if ((flags & ~O_CLOEXEC) != 0) throw new ErrnoException(Errno.EINVAL);
        if (oldFd == newFd) throw new ErrnoException(Errno.EINVAL);
        return replace(oldFd, newFd, (flags & O_CLOEXEC) != 0);
    }

    private int replace(int oldFd, int newFd, boolean cloexec) {
        int host = get(oldFd);
        if (newFd < 0 || newFd >= limit()) throw new ErrnoException(Errno.EBADF);
        long h = dupHost(host);
        int displaced;
        boolean wasClosed;
        lock.lock();
        try {
            wasClosed = closed;
            if (wasClosed) {
                displaced = (int) h;
            } else {
                int e = raw(newFd);
                displaced = e == FREE ? -1 : e >>> 1;
                ensureCapacity(newFd);
                slots.set(newFd, encode((int) h, cloexec));
                if (e == FREE) {
                    openCount++;
                    if (newFd == lowestFreeHint) advanceHint();
                }
            }
        } finally {
            lock.unlock();
        }
        // Linux dup2 ignores errors from closing the displaced file.
        if (displaced >= 0) hostClose(displaced);
        if (wasClosed) throw new ErrnoException(Errno.EBADF);
        return newFd;
    }

    /** Sets or clears the guest FD_CLOEXEC flag (fcntl F_SETFD, FIOCLEX/FIONCLEX). */
    public void setCloexec(int guestFd, boolean cloexec) {
        lock.lock();
        try {
            int e = raw(guestFd);
            if (e == FREE) throw new ErrnoException(Errno.EBADF);
            slots.set(guestFd, (e & ~1) | (cloexec ? 1 : 0));
        } finally {
            lock.unlock();
        }
    }

    /** Linux close: frees the guest fd and closes its host fd. Returns the host close result (0 or -errno, EBADF excluded). */
    public int close(int guestFd) {
        int host;
        lock.lock();
        try {
            int e = raw(guestFd);
            if (e == FREE) throw new ErrnoException(Errno.EBADF);
            host = e >>> 1;
            clear(guestFd);
        } finally {
            lock.unlock();
        }
        long r = sides.close(host);
        // Linux: the fd is gone even if close reports an error (EIO, EINTR); report it the same.
        return (int) Math.min(0, r);
    }

    /**
     * Removes a guest fd and hands its host fd to the caller (who now owns it), or throws EBADF.
     */
    public int detach(int guestFd) {
        lock.lock();
        try {
            int e = raw(guestFd);
            if (e == FREE) throw new ErrnoException(Errno.EBADF);
            clear(guestFd);
            return e >>> 1;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Linux close_range(first, last, flags): flags CLOSE_RANGE_CLOEXEC (mark instead of closing)
     * and CLOSE_RANGE_UNSHARE (a no-op here: the table is unshared already as far as the guest can
     * tell). first &gt; last or unknown flags: EINVAL.
     */
    public void closeRange(int first, int last, int flags) {
        if ((flags & ~(CLOSE_RANGE_UNSHARE | CLOSE_RANGE_CLOEXEC)) != 0) throw new ErrnoException(Errno.EINVAL);
        if (Integer.compareUnsigned(first, last) > 0) throw new ErrnoException(Errno.EINVAL);
        List<Integer> toClose = new ArrayList<>();
        lock.lock();
        try {
            AtomicIntegerArray s = slots;
            long hi = Math.min(Integer.toUnsignedLong(last), s.length() - 1L);
            for (long i = Integer.toUnsignedLong(first); i <= hi; i++) {
                int fd = (int) i, e = s.get(fd);
                if (e == FREE) continue;
                if ((flags & CLOSE_RANGE_CLOEXEC) != 0) {
                    s.set(fd, e | 1);
                } else {
                    toClose.add(e >>> 1);
                    clear(fd);
                }
            }
        } finally {
            lock.unlock();
        }
        for (int h : toClose) hostClose(h);
    }

    /** execve: closes every guest fd marked close-on-exec. */
    public void closeOnExec() {
        List<Integer> toClose = new ArrayList<>();
        lock.lock();
        try {
            AtomicIntegerArray s = slots;
            for (int i = 0; i < s.length(); i++) {
                int e = s.get(i);
                if (e != FREE && (e & 1) != 0) {
                    toClose.add(e >>> 1);
                    clear(i);
                }
            }
        } finally {
            lock.unlock();
        }
        for (int h : toClose) hostClose(h);
    }

    /**
     * fork/vfork: a new table with a host duplicate of every open fd (same open file descriptions),
     * each on its own side; it shares this table's sides (the run's proxy).
     */
    public FdTable copy() {
        FdTable t = new FdTable(sides, false, unixNames);
        lock.lock();
        try {
            checkOpen();
            t.limit = limit;
            AtomicIntegerArray s = slots;
            for (int i = 0; i < s.length(); i++) {
                int e = s.get(i);
                if (e == FREE) continue;
                long h;
                try {
                    h = dupHost(e >>> 1);
                } catch (ErrnoException err) {
                    t.close();
                    throw err;
                }
                t.put(i, (int) h, (e & 1) != 0);
            }
        } finally {
            lock.unlock();
        }
        return t;
    }

    /** Closes every host fd the table owns; the table is unusable afterwards. Idempotent. */
    @Override
    public void close() {
        List<Integer> toClose = new ArrayList<>();
        lock.lock();
        try {
            if (closed) return;
            closed = true;
            AtomicIntegerArray s = slots;
            for (int i = 0; i < s.length(); i++) {
                int e = s.get(i);
                if (e != FREE) {
                    toClose.add(e >>> 1);
                    s.set(i, FREE);
                }
            }
            openCount = 0;
        } finally {
            lock.unlock();
        }
        for (int h : toClose) hostClose(h);
        if (ownsSides) sides.close();
    }

    // ---------------------------------------------------------------- internals (lock held)

    private void checkOpen() {
        if (closed) throw new ErrnoException(Errno.EBADF);
    }

    private static int encode(int hostFd, boolean cloexec) {
        return (hostFd << 1) | (cloexec ? 1 : 0);
    }

    /** Lowest free fd ≥ minFd and &lt; limit, or -1. */
    private int findFree(int minFd) {
        AtomicIntegerArray s = slots;
        int start = Math.max(minFd, lowestFreeHint);
        for (int i = start; i < limit; i++) {
            if (i >= s.length() || s.get(i) == FREE) return i;
        }
        return -1;
    }

    private void put(int fd, int hostFd, boolean cloexec) {
        ensureCapacity(fd);
        slots.set(fd, encode(hostFd, cloexec));
        openCount++;
        if (fd == lowestFreeHint) advanceHint();
    }

    private void clear(int fd) {
        slots.set(fd, FREE);
        openCount--;
        if (fd < lowestFreeHint) lowestFreeHint = fd;
    }

    private void advanceHint() {
        AtomicIntegerArray s = slots;
        int i = lowestFreeHint;
        while (i < s.length() && s.get(i) != FREE) i++;
        lowestFreeHint = i;
    }

    private void ensureCapacity(int fd) {
        AtomicIntegerArray s = slots;
        if (fd < s.length()) return;
        int n = s.length();
        while (n <= fd) n *= 2;
        AtomicIntegerArray g = newSlots(Math.min(n, NR_OPEN));
        for (int i = 0; i < s.length(); i++) g.set(i, s.get(i));
        slots = g; // readers holding the old array see the state before this mutation
    }

    private void hostClose(int handle) {
        sides.close(handle);
    }

    /** A new host fd (handle) for the same open file, on the same side, close-on-exec there. */
    private long dupHost(int handle) {
        long h = sides.of(handle).call(HostSyscall.FCNTL, dev.herd.host.HostFd.number(handle), F_DUPFD_CLOEXEC, 0);
        if (h < 0) throw new ErrnoException((int) -h);
        return sides.of(handle).handle((int) h);
    }
}
