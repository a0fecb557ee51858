package dev.herd.runtime.process;

import dev.herd.host.HostFd;
import dev.herd.host.HostKernel;
import dev.herd.host.HostSyscall;
import dev.herd.runtime.fs.FdTable;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The guest fds a new process starts with, as host fds to pass on (by SCM_RIGHTS or as a child's
 * placements): every open fd for a fork, the non-CLOEXEC ones for an execve. A proxy fd (a socket,
 * an epoll instance) goes on as a local copy of the same open file, owned here and closed by
 * {@link #close}: its network namespace stays the proxy's. Entry {@code i} is guest fd
 * {@code guestFd(i)} with host fd {@code hostFd(i)}.
 */
final class InheritedFds implements AutoCloseable {
    private final int[] guestFds, hostFds;
    private final boolean[] cloexec;
    private final List<Integer> owned;

    private InheritedFds(int[] guestFds, int[] hostFds, boolean[] cloexec, List<Integer> owned) {
        this.guestFds = guestFds;
        this.hostFds = hostFds;
        this.cloexec = cloexec;
        this.owned = owned;
    }

    /** A fork's: every open fd, with its CLOEXEC flag. */
    static InheritedFds forFork(FdTable fds) { return collect(fds, true); }

    /** An execve's: the fds without CLOEXEC. */
    static InheritedFds forExec(FdTable fds) { return collect(fds, false); }

    private static InheritedFds collect(FdTable fds, boolean withCloexec) {
        int[] open = fds.openFds();
        int[] guest = new int[open.length], host = new int[open.length];
        boolean[] cx = new boolean[open.length];
        List<Integer> owned = new ArrayList<>();
        int n = 0;
        try {
            for (int g : open) {
                boolean closeOnExec = (fds.getFdFlags(g) & FdTable.FD_CLOEXEC) != 0;
                if (closeOnExec && !withCloexec) continue;
                int h = fds.hostOrMinus1(g);
                if (h < 0) continue;
                if (HostFd.isProxy(h)) {
                    h = fds.sides().localCopy(h);
                    owned.add(h);
                }
                guest[n] = g;
                host[n] = h;
                cx[n] = closeOnExec;
                n++;
            }
        } catch (RuntimeException e) {
            closeAll(owned);
            throw e;
        }
        return new InheritedFds(Arrays.copyOf(guest, n), Arrays.copyOf(host, n),
                Arrays.copyOf(cx, n), owned);
    }

    /** The highest guest fd here, at least 2 (where a child's own fds may start above). */
    int highestGuestFd() { return Math.max(2, Arrays.stream(guestFds).max().orElse(2)); }

    int count() { return guestFds.length; }

    int guestFd(int i) { return guestFds[i]; }

    int hostFd(int i) { return hostFds[i]; }

    /** The guest fd numbers, in entry order (a copy). */
    int[] guestFds() { return guestFds.clone(); }

    /** The host fds, in entry order (a new list the caller may extend). */
    List<Integer> hostFdList() {
        List<Integer> l = new ArrayList<>(hostFds.length + 1);
        for (int h : hostFds) l.add(h);
        return l;
    }

    /** The CLOEXEC flags, in entry order (a copy; all false for an execve's). */
    boolean[] cloexec() { return cloexec.clone(); }

    /** Closes the local copies of proxy fds. */
    @Override
    public void close() { closeAll(owned); }

    private static void closeAll(List<Integer> fds) {
        for (int fd : fds) HostKernel.call(HostSyscall.CLOSE, fd);
        fds.clear();
    }
}
