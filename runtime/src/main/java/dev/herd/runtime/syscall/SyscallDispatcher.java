package dev.herd.runtime.syscall;

import dev.herd.host.Errno;
import dev.herd.host.ErrnoException;

import java.io.PrintStream;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongFunction;

/**
 * Maps an architecture's syscall numbers to semantic definitions and runs them: unknown numbers
 * return {@code -ENOSYS} with one warning per syscall, errors become {@code -errno}, and
 * {@code --strace} lines are written around each call.
 */
public final class SyscallDispatcher {
    private final SyscallTable.Definition[] byNumber;
    private final String[] names;
    private final PrintStream warnings;
    private final Strace strace;
    /** Syscall numbers already warned about (ENOSYS); touched only on the unimplemented path. */
    private final Set<Long> warned = ConcurrentHashMap.newKeySet();

    /**
     * @param numberCount one past the largest syscall number of the architecture
     * @param nameOf      the architecture's number → name mapping (null for holes)
     * @param strace      null unless tracing
     */
    public SyscallDispatcher(SyscallTable table, int numberCount, LongFunction<String> nameOf,
                             PrintStream warnings, Strace strace) {
        this.byNumber = new SyscallTable.Definition[numberCount];
        this.names = new String[numberCount];
        for (int nr = 0; nr < numberCount; nr++) {
            names[nr] = nameOf.apply(nr);
            if (names[nr] != null) byNumber[nr] = table.lookup(names[nr]);
        }
        this.warnings = warnings;
        this.strace = strace;
    }

    /** Name of syscall {@code nr} for messages, e.g. {@code "openat"} or {@code "syscall_999"}. */
    public String name(long nr) {
        return nr >= 0 && nr < names.length && names[(int) nr] != null ? names[(int) nr] : "syscall_" + nr;
    }

    /** Runs syscall {@code nr} with {@code args[1..6]} and returns the raw result. */
    public long dispatch(SyscallContext ctx, long nr, long[] args) {
        SyscallTable.Definition def = nr >= 0 && nr < byNumber.length ? byNumber[(int) nr] : null;
        if (def == null) {
            warnOnce(nr);
            if (strace != null) strace.unknown(ctx, name(nr), args);
            return -Errno.ENOSYS;
        }
        if (strace != null) strace.enter(ctx, def, args);
        long result;
        try {
            result = def.handler().handle(ctx, args[1], args[2], args[3], args[4], args[5], args[6]);
        } catch (ErrnoException e) {
            result = e.asSyscallResult();
        }
        if (strace != null) strace.exit(ctx, def, args, result);
        return result;
    }

    private void warnOnce(long nr) {
        if (!warned.add(nr)) return;
        warnings.println("herd: warning: unimplemented syscall " + name(nr) + " (" + nr + "), returning -ENOSYS");
        warnings.flush();
    }
}
