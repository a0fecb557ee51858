package dev.herd.memory;

/**
 * A host file behind a guest {@code MAP_SHARED} file mapping: Herd's own duplicate of the guest's
 * fd (so the mapping survives the guest closing it and can be moved by mremap), whether it was
 * opened for writing, and its size when mapped (pages past EOF are not overlaid: see
 * {@link GuestAddressSpace}). Identity matters: mappings of one SharedFile may merge.
 */
final class SharedFile {
    final int fd;
    final boolean writable;
    final long sizeAtMap;
    final String path;
    /** The host file's inode: tells the mappings of one file apart (System V segments are memfds). */
    final long inode;
    boolean closed;

    SharedFile(int fd, boolean writable, long sizeAtMap, String path, long inode) {
        this.fd = fd;
        this.writable = writable;
        this.sizeAtMap = sizeAtMap;
        this.path = path;
        this.inode = inode;
    }

    @Override public String toString() { return "SharedFile[fd=" + fd + (writable ? ",rw" : ",ro") + "]"; }
}
