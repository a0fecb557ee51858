package dev.herd.runtime.process;

import dev.herd.host.ErrnoException;
import dev.herd.host.HostKernel;
import dev.herd.host.HostMm;
import dev.herd.host.HostSyscall;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;

/**
 * How many Herd processes one run's process tree has (the first Herd, and every child Herd a fork
 * or an execve started), in a word of shared memory that the first Herd makes and every child
 * maps ({@code --budget-fd}). A fork or execve takes a place before it starts a child Herd and
 * fails with EAGAIN when none is left; a Herd gives its place back when it ends. The limit is the
 * guest's RLIMIT_NPROC (not for root, as Linux does not enforce it for root) and Herd's own cap,
 * {@code HERD_MAX_PROCESSES} or one process per 256 MiB of the machine's memory (each is a JVM):
 * a fork bomb is bounded and never takes the machine down. A Herd killed by SIGKILL keeps its
 * place until the run ends (a documented approximation).
 */
public final class ProcessBudget implements AutoCloseable {
    private static final VarHandle COUNT = ValueLayout.JAVA_INT.varHandle();
    private static final long PER_PROCESS = 256L << 20;
    private static final int MIN_CAP = 16;

    private final int fd;
    private final MemorySegment word;
    private boolean closed;

    private ProcessBudget(int fd) {
        this.fd = fd;
        long at = HostMm.mmap(0, HostMm.PAGE_SIZE, HostMm.PROT_READ | HostMm.PROT_WRITE, HostMm.MAP_SHARED, fd, 0);
        this.word = MemorySegment.ofAddress(at).reinterpret(HostMm.PAGE_SIZE);
    }

    /** A new budget with this process counted (the first Herd of a run). */
    public static ProcessBudget create() {
        int fd = HostMm.memfdCreate("herd-processes", HostMm.MFD_CLOEXEC);
        try {
            HostMm.ftruncate(fd, HostMm.PAGE_SIZE);
            ProcessBudget b = new ProcessBudget(fd);
            COUNT.getAndAdd(b.word, 0L, 1);
            return b;
        } catch (RuntimeException e) {
            HostMm.close(fd);
            throw e;
        }
    }

    /** The budget of a parent Herd (this process was counted when the parent started it); takes over {@code fd}. */
    public static ProcessBudget adopt(int fd) {
        return new ProcessBudget(fd);
    }

    /** The memfd, for a child Herd. */
    public int fd() { return fd; }

    /** Herd processes of the run now. */
    public int count() { return (int) COUNT.getVolatile(word, 0L); }

    /** Takes a place for a new child Herd; false if the tree has {@code limit} processes already. */
    public boolean tryAcquire(long limit) {
        while (true) {
            int n = (int) COUNT.getVolatile(word, 0L);
            if (Long.compareUnsigned(n, limit) >= 0) return false;
            if (COUNT.compareAndSet(word, 0L, n, n + 1)) return true;
        }
    }

    /** Gives a place back (this process ended, or a child it counted could not start). */
    public void release() {
        COUNT.getAndAdd(word, 0L, -1);
    }

    /** The most processes a run's tree may have: the guest's RLIMIT_NPROC (unless root) and Herd's cap. */
    public static long limit(ResourceLimits limits) {
        long cap = cap();
        if (HostKernel.call(HostSyscall.GETUID) == 0) return cap;
        long nproc = limits.soft(RLIMIT_NPROC);
        return Long.compareUnsigned(nproc, cap) < 0 ? nproc : cap;
    }

    private static final int RLIMIT_NPROC = 6;

    private static long cap() {
        String env = System.getenv("HERD_MAX_PROCESSES");
        if (env != null) {
            try {
                return Math.max(1, Long.parseLong(env.strip()));
            } catch (NumberFormatException ignored) {
                // fall through to the default
            }
        }
        long total = memTotal();
        return total <= 0 ? MIN_CAP * 4 : Math.max(MIN_CAP, total / PER_PROCESS);
    }

    private static long memTotal() {
        try {
            for (String line : java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/meminfo"))) {
                if (line.startsWith("MemTotal:")) return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
            }
        } catch (java.io.IOException | NumberFormatException ignored) {
            // unknown
        }
        return -1;
    }

    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        try {
            HostMm.munmap(word.address(), HostMm.PAGE_SIZE);
        } catch (ErrnoException ignored) {
            // nothing to do
        }
        HostMm.close(fd);
    }
}
