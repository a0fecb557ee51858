package dev.herd.memory;

/**
 * Checked Java access to guest memory. Every access is checked against the mapping table's
 * permissions; a bad guest pointer throws {@code ErrnoException(EFAULT)}. Thread-safe.
 * SKELETON: bodies to be written.
 */
public final class GuestMemory {
    public byte[] read(long g, int len) { throw new UnsupportedOperationException("TODO"); }
    public void read(long g, byte[] dst, int off, int len) { throw new UnsupportedOperationException("TODO"); }
    public void write(long g, byte[] src, int off, int len) { throw new UnsupportedOperationException("TODO"); }
    public void write(long g, byte[] src) { write(g, src, 0, src.length); }
    public int readInt(long g) { throw new UnsupportedOperationException("TODO"); }
    public long readLong(long g) { throw new UnsupportedOperationException("TODO"); }
    public void writeInt(long g, int v) { throw new UnsupportedOperationException("TODO"); }
    public void writeLong(long g, long v) { throw new UnsupportedOperationException("TODO"); }
    /** NUL-terminated string of at most maxLen bytes (ENAMETOOLONG past it), decoded as UTF-8 bytes-preserving. */
    public String readCString(long g, int maxLen) { throw new UnsupportedOperationException("TODO"); }
    /** NUL-terminated raw bytes (without the NUL), at most maxLen. */
    public byte[] readCStringBytes(long g, int maxLen) { throw new UnsupportedOperationException("TODO"); }
    /** Checks [g, g+len) is mapped with the given PROT_* access and returns the host address (hostBase+g). */
    public long hostAddress(long g, long len, int prot) { throw new UnsupportedOperationException("TODO"); }
}
