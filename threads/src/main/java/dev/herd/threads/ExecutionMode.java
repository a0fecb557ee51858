package dev.herd.threads;

/**
 * How guest threads share the host CPUs. {@link #PARALLEL}: every guest thread runs its engine
 * whenever it likes (real concurrency; guest atomics made atomic by Herd). {@link #SERIAL}: one
 * engine executes guest code at a time with fair hand-off, while blocking syscalls still run in
 * parallel; deterministic enough for debugging and the oracle parallel mode is tested against.
 */
public enum ExecutionMode { PARALLEL, SERIAL }
