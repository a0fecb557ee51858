package dev.herd.runtime.fs;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The AF_UNIX paths this process bound its sockets to, as the guest spelled them, by socket inode.
 *
 * <p>A bound path inside the root goes to the host as {@code /proc/self/fd/N/name} (see
 * {@link SocketSyscalls}), and the host kernel keeps that spelling as the socket's name. Linux
 * gives {@code getsockname} the path as it was bound, and programs connect to what it returns
 * (CPython's asyncore, for one), so Herd answers from here. The key is the socket's inode, so the
 * name follows the socket through dup, fork's shared fds and SCM_RIGHTS within the process. At most
 * {@link #CAPACITY} names are kept, the least recently used going first: an evicted socket's
 * {@code getsockname} shows the host's spelling again, as it did before this table.
 */
final class UnixSocketNames {
    static final int CAPACITY = 4096;

    private final Map<Long, byte[]> byInode = new LinkedHashMap<>(64, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<Long, byte[]> eldest) {
            return size() > CAPACITY;
        }
    };

    /** Records that the socket with host inode {@code ino} was bound to guest path {@code path}. */
    synchronized void bound(long ino, byte[] path) {
        byInode.put(ino, path.clone());
    }

    /** The guest path the socket with host inode {@code ino} was bound to, or null if none is known. */
    synchronized byte[] pathOf(long ino) {
        byte[] p = byInode.get(ino);
        return p == null ? null : p.clone();
    }
}
