package dev.herd.memory;

import java.util.List;

/**
 * The guest's address space: one host reservation backed by a memfd (guest g at hostBase+g),
 * the Linux mapping table, and the Unicorn region plan derived from it. Thread-safe.
 * SKELETON: bodies to be written (see docs/ARCHITECTURE.md).
 */
public final class GuestAddressSpace implements AutoCloseable {
    /** Default guest address-space size: 1 TiB. */
    public static final long DEFAULT_SIZE = 1L << 40;

    public static GuestAddressSpace create(long size) { throw new UnsupportedOperationException("TODO"); }

    /** Host address of guest address 0. */
    public long hostBase() { throw new UnsupportedOperationException("TODO"); }
    public long size() { throw new UnsupportedOperationException("TODO"); }
    public GuestMemory memory() { throw new UnsupportedOperationException("TODO"); }

    /** Linux mmap; hostFd is -1 for anonymous mappings. Returns the guest address. */
    public long mmap(long addr, long length, int prot, int flags, int hostFd, long offset) { throw new UnsupportedOperationException("TODO"); }
    public void munmap(long addr, long length) { throw new UnsupportedOperationException("TODO"); }
    public void mprotect(long addr, long length, int prot) { throw new UnsupportedOperationException("TODO"); }
    public long mremap(long oldAddr, long oldSize, long newSize, int flags, long newAddr) { throw new UnsupportedOperationException("TODO"); }
    /** Sets the program break start (end of the loaded image, page-aligned up by the caller or not). */
    public void initBrk(long start) { throw new UnsupportedOperationException("TODO"); }
    /** Linux brk: returns the new break, or the current one when the request cannot be met. */
    public long brk(long requested) { throw new UnsupportedOperationException("TODO"); }

    public List<Mapping> mappings() { throw new UnsupportedOperationException("TODO"); }
    /** The mapping containing addr, or null. */
    public Mapping find(long addr) { throw new UnsupportedOperationException("TODO"); }
    /** Bumps on every change to the table. */
    public long version() { throw new UnsupportedOperationException("TODO"); }

    /** Applies deferred host-side reductions; call once every engine has synced. */
    public void releaseDeferred() { throw new UnsupportedOperationException("TODO"); }

    @Override public void close() { throw new UnsupportedOperationException("TODO"); }
}
