package dev.herd.runtime.syscall;

/**
 * One Linux syscall's semantics, independent of the guest architecture's numbering.
 * Returns the result or {@code -errno}; may instead throw {@link dev.herd.host.ErrnoException}.
 * Runs on the calling guest thread, possibly concurrently with other threads.
 */
@FunctionalInterface
public interface SyscallHandler {
    long handle(SyscallContext ctx, long a0, long a1, long a2, long a3, long a4, long a5);
}
