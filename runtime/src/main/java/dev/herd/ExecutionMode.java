package dev.herd;

/**
 * How a guest's threads share the host CPUs.
 *
 * <ul>
 *   <li>{@link #PARALLEL} (the default): every guest thread runs its own engine whenever it likes,
 *       real concurrency; guest atomics are made atomic by Herd.</li>
 *   <li>{@link #SERIAL}: one engine executes guest code at a time with fair hand-off (blocking
 *       syscalls still run in parallel); deterministic enough for debugging.</li>
 * </ul>
 */
public enum ExecutionMode {
    /** All guest threads execute at once, one engine each. */
    PARALLEL,
    /** One guest thread executes guest code at a time. */
    SERIAL;

    dev.herd.threads.ExecutionMode internal() {
        return this == PARALLEL ? dev.herd.threads.ExecutionMode.PARALLEL : dev.herd.threads.ExecutionMode.SERIAL;
    }
}
