package dev.herd.runtime.fs;

import dev.herd.host.Errno;
import dev.herd.host.ErrnoException;
import dev.herd.host.HostFd;
import dev.herd.host.HostKernel;
import dev.herd.host.HostOps;
import dev.herd.host.HostSyscall;
import dev.herd.proxy.ProxyHost;

import java.util.concurrent.ConcurrentHashMap;

/**
 * The two places a process's host fds can live: the Herd process and, when the run has one, its
 * kernel proxy. Routes a call on an fd-table handle ({@link HostFd}) to its side, and moves fds
 * across when one call needs them on one side: a local fd used by a forwarded call, or polled
 * together with proxy fds, is imported into the proxy once (a copy sent with SCM_RIGHTS, kept
 * while the guest keeps the fd open and closed with it); a proxy fd that a local socket sends in
 * SCM_RIGHTS is copied out for that one message (pidfd_getfd).
 */
public final class HostSides {
    private volatile ProxyHost proxy;
    private volatile int proxyPidfd = -1;
    /** Local host fd → its copy in the proxy. */
    private final ConcurrentHashMap<Integer, Integer> imported = new ConcurrentHashMap<>();

    /** Connects a proxy (once per run, before the guest starts). */
    public void proxy(ProxyHost proxy, int proxyPid) {
        this.proxy = proxy;
        long fd = HostKernel.call(HostSyscall.PIDFD_OPEN, proxyPid, 0);
        this.proxyPidfd = fd < 0 ? -1 : (int) fd;
    }

    /** The proxy, or null when the run has none. */
    public ProxyHost proxy() { return proxy; }

    /** The side that holds {@code handle}. */
    public HostOps of(int handle) {
        if (!HostFd.isProxy(handle)) return HostOps.LOCAL;
        ProxyHost p = proxy;
        return p != null ? p : DEAD;
    }

    /** The same file as {@code handle}, as a handle of the proxy (imported when local). */
    public int inProxy(int handle) {
        if (HostFd.isProxy(handle)) return handle;
        ProxyHost p = proxy;
        if (p == null) throw new ErrnoException(Errno.EBADF);
        Integer have = imported.get(handle);
        if (have != null) return have | HostFd.PROXY;
        synchronized (imported) {
            have = imported.get(handle);
            if (have != null) return have | HostFd.PROXY;
            long r = p.importFd(handle);
            if (r < 0) throw new ErrnoException((int) -r);
            imported.put(handle, (int) r);
            return (int) r | HostFd.PROXY;
        }
    }

    /**
     * A local copy of proxy fd {@code handle} that the caller owns and closes (for one SCM_RIGHTS
     * message on a local socket).
     */
    public int localCopy(int handle) {
        if (!HostFd.isProxy(handle)) throw new IllegalArgumentException("not a proxy fd");
        int pidfd = proxyPidfd;
        if (pidfd < 0) throw new ErrnoException(Errno.EBADF);
        long r = HostKernel.call(HostSyscall.PIDFD_GETFD, pidfd, HostFd.number(handle), 0);
        if (r < 0) throw new ErrnoException((int) -r);
        return (int) r;
    }

    /** Closes a handle's host fd on its side (and a local fd's copy in the proxy). */
    long close(int handle) {
        if (!HostFd.isProxy(handle)) {
            Integer copy = imported.remove(handle);
            long r = HostKernel.call(HostSyscall.CLOSE, handle);
            ProxyHost p = proxy;
            if (copy != null && p != null) p.call(HostSyscall.CLOSE, copy);
            return r;
        }
        return of(handle).call(HostSyscall.CLOSE, HostFd.number(handle));
    }

    /** Releases what connecting a proxy opened (the table is closing). */
    void close() {
        int pidfd = proxyPidfd;
        proxyPidfd = -1;
        if (pidfd >= 0) HostKernel.call(HostSyscall.CLOSE, pidfd);
    }

    /** Proxy fds after the proxy is gone and before one was connected: every call fails with EIO. */
    private static final HostOps DEAD = new HostOps() {
        @Override
        public long call(long nr, long a0, long a1, long a2, long a3, long a4, long a5) { return -Errno.EIO; }

        @Override
        public int handle(int fd) { return fd | HostFd.PROXY; }

        @Override
        public boolean isLocal() { return false; }
    };
}
