package dev.herd;

/**
 * A guest memory access through {@link GuestMemoryAccess} failed: the range is not mapped with the
 * needed permission (Linux's {@code EFAULT}), a string has no NUL within its bound, or the length
 * is past {@link GuestMemoryAccess#MAX_ACCESS}. Thrown from a syscall hook, it ends the run like any
 * other exception unless the hook catches it.
 */
public final class GuestMemoryException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final long address;

    GuestMemoryException(long address, String message) {
        super(message + " at guest address 0x" + Long.toHexString(address));
        this.address = address;
    }

    /** The guest address of the failed access. @return the address */
    public long address() { return address; }
}
