package dev.herd.runtime.syscall;

import java.util.Arrays;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * User interception of syscalls, by number and phase: ENTER (see or change the arguments), CALL
 * (replace the call: the interceptor sets the result), EXIT (see or change the result). Lookups on
 * the dispatch path are one volatile array read; registration copies the per-number array, so
 * hooks can be added and removed while guest threads run. Interceptors run on the guest thread
 * that made the call, concurrently with other threads.
 */
public final class SyscallInterceptors {
    public enum Phase { ENTER, CALL, EXIT }

    /** An interceptor; an exception it throws ends the run (it never reaches the guest). */
    @FunctionalInterface
    public interface Interceptor {
        void intercept(InterceptedCall call);
    }

    /** A removable registration. */
    public interface Registration extends AutoCloseable {
        @Override
        void close();
    }

    private static final Interceptor[] NONE = new Interceptor[0];
    private final int numbers;
    /** [phase * numbers + nr] → interceptors (null when none). */
    private final AtomicReferenceArray<Interceptor[]> table;
    private volatile boolean any;

    public SyscallInterceptors(int numberCount) {
        this.numbers = numberCount;
        this.table = new AtomicReferenceArray<>(numberCount * 3);
    }

    /**
     * Interceptors of numbers past the architecture's table (a guest may call any number, e.g. to
     * reach a hook-provided syscall): key {@code phase * 2^32 + nr}. Copy-on-write like the table.
     */
    private final java.util.concurrent.ConcurrentHashMap<Long, Interceptor[]> beyond =
            new java.util.concurrent.ConcurrentHashMap<>();

    public Registration add(long nr, Phase phase, Interceptor interceptor) {
        if (nr < 0 || nr > 0xffff_ffffL) throw new IllegalArgumentException("no syscall number " + nr);
        if (nr >= numbers) return addBeyond(nr, phase, interceptor);
        int slot = phase.ordinal() * numbers + (int) nr;
        table.updateAndGet(slot, old -> {
            Interceptor[] base = old == null ? NONE : old;
            Interceptor[] next = Arrays.copyOf(base, base.length + 1);
            next[base.length] = interceptor;
            return next;
        });
        any = true;
        return () -> table.updateAndGet(slot, old -> without(old, interceptor));
    }

    private Registration addBeyond(long nr, Phase phase, Interceptor interceptor) {
        long key = ((long) phase.ordinal() << 32) | nr;
        beyond.compute(key, (k, old) -> {
            Interceptor[] base = old == null ? NONE : old;
            Interceptor[] next = Arrays.copyOf(base, base.length + 1);
            next[base.length] = interceptor;
            return next;
        });
        any = true;
        return () -> beyond.computeIfPresent(key, (k, old) -> without(old, interceptor));
    }

    private static Interceptor[] without(Interceptor[] old, Interceptor interceptor) {
        if (old == null) return null;
        for (int i = 0; i < old.length; i++) {
            if (old[i] == interceptor) {
                if (old.length == 1) return null;
                Interceptor[] next = new Interceptor[old.length - 1];
                System.arraycopy(old, 0, next, 0, i);
                System.arraycopy(old, i + 1, next, i, old.length - i - 1);
                return next;
            }
        }
        return old;
    }

    /** Whether any interceptor was ever registered (lets the dispatcher skip all lookups otherwise). */
    boolean any() { return any; }

    Interceptor[] get(long nr, Phase phase) {
        if (nr < 0) return null;
        if (nr >= numbers) return nr > 0xffff_ffffL || beyond.isEmpty() ? null : beyond.get(((long) phase.ordinal() << 32) | nr);
        return table.get(phase.ordinal() * numbers + (int) nr);
    }
}
