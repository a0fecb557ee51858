package dev.herd.memory;

import java.util.List;

/**
 * A fork's copy of a guest address space, as the parent hands it to the child process:
 * {@code memfd} holds the child's own copy of every private page (offset = guest address, like
 * the parent's), {@code mappings} the mapping table, {@code files} the host files of shared
 * mappings (shared anonymous memory included: the same open files as the parent's, so both see
 * one object). Whoever holds it owns the fds until {@link GuestAddressSpace#adopt} takes them.
 *
 * @param memfd     the child's memory file
 * @param size      the space's size (the memfd's)
 * @param regionCap the Unicorn region cap
 * @param brkStart  start of the program break (-1 before the loader set it)
 * @param brkCur    the current break
 * @param mappings  the table, in address order
 * @param files     shared-mapping files, indexed by {@link Entry#file}
 */
public record ForkedSpace(int memfd, long size, int regionCap, long brkStart, long brkCur,
                          List<Entry> mappings, List<File> files) {
    public ForkedSpace {
        mappings = List.copyOf(mappings);
        files = List.copyOf(files);
    }

    /**
     * One mapping: its range, protection, flags, name, file offset, backing kind (0 anonymous,
     * 1 private file copy, 2 shared file) and for a shared file its index in {@link #files}, else -1.
     */
    public record Entry(long start, long end, int prot, int flags, String name, long fileOffset, int kind, int file) {}

    /** A shared mapping's host file: an fd, whether it was opened writable, its size when mapped, display path, inode. */
    public record File(int fd, boolean writable, long sizeAtMap, String path, long inode) {}
}
