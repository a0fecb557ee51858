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
 * name follows the socket through dup, SCM_RIGHTS within the process and a vfork child's copied
 * fd table (a forked child is another Herd with a table of its own, empty: it shows the host's
 * spelling). At most
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

    /** Set by the first name: until then getsockname needs no inode lookup. */
    private volatile boolean any;

    /** Records that the socket with host inode {@code ino} was bound to guest path {@code path} (kept, never modified). */
    synchronized void bound(long ino, byte[] path) {
        byInode.put(ino, path);
        any = true;
    }

    /** Whether no socket of this process was ever bound to a translated path. */
    boolean isEmpty() { return !any; }

    /** The guest path the socket with host inode {@code ino} was bound to, or null if none is known (not to be modified). */
    synchronized byte[] pathOf(long ino) {
        return byInode.get(ino);
    }
}
