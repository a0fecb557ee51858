package dev.herd.host;

/**
 * Where a host syscall runs: in the Herd process ({@link #LOCAL}) or in the kernel proxy. The
 * syscall layer makes every host call through one of these, chosen per call (a forwarded syscall,
 * or an fd that lives in the proxy), so the dispatcher, the fd table and the hooks never need to
 * know where a call runs.
 *
 * <p>Pointer arguments are host addresses in memory both sides map at the same address: the guest
 * memory and {@link SharedScratch}. Fds are host fds of the side that runs the call;
 * {@link #handle} tags one with its side for the guest fd table ({@link HostFd}).
 */
public interface HostOps {
    /** The raw syscall on this side; the result or {@code -errno}. */
    long call(long nr, long a0, long a1, long a2, long a3, long a4, long a5);

    /** A host fd of this side as an fd-table handle. */
    int handle(int fd);

    /** True for the Herd process itself. */
    boolean isLocal();

    default long call(long nr) { return call(nr, 0, 0, 0, 0, 0, 0); }
    default long call(long nr, long a0) { return call(nr, a0, 0, 0, 0, 0, 0); }
    default long call(long nr, long a0, long a1) { return call(nr, a0, a1, 0, 0, 0, 0); }
    default long call(long nr, long a0, long a1, long a2) { return call(nr, a0, a1, a2, 0, 0, 0); }
    default long call(long nr, long a0, long a1, long a2, long a3) { return call(nr, a0, a1, a2, a3, 0, 0); }
    default long call(long nr, long a0, long a1, long a2, long a3, long a4) { return call(nr, a0, a1, a2, a3, a4, 0); }

    /** The Herd process's own kernel. */
    HostOps LOCAL = new HostOps() {
        @Override
        public long call(long nr, long a0, long a1, long a2, long a3, long a4, long a5) {
            return HostKernel.call(nr, a0, a1, a2, a3, a4, a5);
        }

        @Override
        public int handle(int fd) { return fd; }

        @Override
        public boolean isLocal() { return true; }

        @Override
        public String toString() { return "local"; }
    };
}
