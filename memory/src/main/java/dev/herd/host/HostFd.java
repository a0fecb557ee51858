package dev.herd.host;

/**
 * Fd-table handles: a host fd tagged with the side it lives on. A local fd is its own handle; a
 * proxy fd carries {@link #PROXY}, a bit no host fd number reaches (fs.nr_open is at most 2^30 - 64
 * on x86_64 and Herd's tables stop at 2^20), so a proxy handle given by mistake to the local kernel
 * is {@code EBADF}, never another file.
 */
public final class HostFd {
    private HostFd() {}

    public static final int PROXY = 1 << 30;

    public static boolean isProxy(int handle) { return (handle & PROXY) != 0; }

    /** The host fd number on its own side. */
    public static int number(int handle) { return handle & ~PROXY; }
}
