package dev.herd;

/** Which data accesses a {@link MemoryAccessHook} sees. */
public enum MemoryAccess {
    /** Reads only. */
    READ,
    /** Writes only. */
    WRITE,
    /** Reads and writes. */
    READ_WRITE
}
