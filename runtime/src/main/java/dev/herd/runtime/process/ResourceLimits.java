package dev.herd.runtime.process;

import dev.herd.host.Errno;
import dev.herd.host.ErrnoException;
import dev.herd.host.HostKernel;
import dev.herd.host.HostSyscall;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The guest process's resource limits (getrlimit/setrlimit/prlimit64). They start as a copy of the
 * host's and change only here: applying a guest's setrlimit to the host would change the JVM's own
 * limits (RLIMIT_NOFILE, RLIMIT_STACK...) for every run in it.
 */
public final class ResourceLimits {
    /** RLIM_NLIMITS on Linux. */
    public static final int COUNT = 16;
    public static final int RLIMIT_STACK = 3, RLIMIT_NOFILE = 7;
    public static final long INFINITY = -1L;

    private final long[] soft = new long[COUNT];
    private final long[] hard = new long[COUNT];

    /** Starts from the host process's limits, so a guest sees what a native run would. */
    public ResourceLimits() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment rlimit = arena.allocate(16, 8);
            for (int r = 0; r < COUNT; r++) {
                long res = HostKernel.call(HostSyscall.PRLIMIT64, 0, r, 0, rlimit.address());
                soft[r] = res < 0 ? INFINITY : rlimit.get(ValueLayout.JAVA_LONG, 0);
                hard[r] = res < 0 ? INFINITY : rlimit.get(ValueLayout.JAVA_LONG, 8);
            }
        }
    }

    /** Takes {@code other}'s limits (a vfork child's copy of its parent's, as Linux's fork copies them). */
    public void copyFrom(ResourceLimits other) {
        long[] s, h;
        synchronized (other) {
            s = other.soft.clone();
            h = other.hard.clone();
        }
        synchronized (this) {
            System.arraycopy(s, 0, soft, 0, COUNT);
            System.arraycopy(h, 0, hard, 0, COUNT);
        }
    }

    /** The soft RLIMIT_NOFILE clamped to {@code max} (RLIM_INFINITY counts as infinite, not -1). */
    public synchronized int openFilesLimit(int max) {
        return Long.compareUnsigned(soft[RLIMIT_NOFILE], max) > 0 ? max : (int) soft[RLIMIT_NOFILE];
    }

    public synchronized long soft(int resource) { check(resource); return soft[resource]; }
    public synchronized long hard(int resource) { check(resource); return hard[resource]; }

    /** setrlimit semantics: EINVAL if soft > hard; raising the hard limit needs privilege (EPERM). */
    public synchronized void set(int resource, long newSoft, long newHard) {
        check(resource);
        if (Long.compareUnsigned(newSoft, newHard) > 0) throw new ErrnoException(Errno.EINVAL);
        if (Long.compareUnsigned(newHard, hard[resource]) > 0 && !isRoot()) throw new ErrnoException(Errno.EPERM);
        soft[resource] = newSoft;
        hard[resource] = newHard;
    }

    private static boolean isRoot() {
        return HostKernel.call(HostSyscall.GETEUID) == 0;
    }

    private static void check(int resource) {
        if (resource < 0 || resource >= COUNT) throw new ErrnoException(Errno.EINVAL);
    }
}
