package dev.herd;

/**
 * Called for guest data reads and/or writes in a hooked address range, on every guest thread
 * (including threads created later), on the accessing thread. Not called for accesses Herd makes
 * on the guest's behalf (syscalls copying buffers) nor, in parallel mode, for the atomic
 * instructions Herd emulates. Anything it throws ends the run with a {@link HookFailedException}.
 */
@FunctionalInterface
public interface MemoryAccessHook {
    /**
     * Called by the accessing thread, before the access.
     *
     * @param context the thread
     * @param write   true for a write, false for a read
     * @param address first byte accessed
     * @param size    access size in bytes
     * @param value   the value being written (writes only)
     * @throws Exception to end the run
     */
    void onAccess(HookContext context, boolean write, long address, int size, long value) throws Exception;
}
