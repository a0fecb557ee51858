package dev.herd.proxy;

import dev.herd.host.ErrnoException;
import dev.herd.host.HostKernel;
import dev.herd.host.HostMm;
import dev.herd.host.HostSpawn;
import dev.herd.host.HostSyscall;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * A running kernel proxy: the {@code herd-proxy} process (built from
 * {@code proxy/src/main/c/herd_proxy.c} into this module's jar), its channel and the
 * {@link ProxyHost} that sends it calls.
 *
 * <p>Lifetime: started for one run, closed with it. The proxy watches Herd through a pidfd and
 * exits when Herd does, however Herd ends (SIGKILL included). Herd watches the proxy the same
 * way from a daemon thread that also reaps it; a proxy that dies before {@link #close} turns
 * every forwarded call into EIO with one line on the report stream.
 */
public final class ProxyProcess implements AutoCloseable {
    private static final String RESOURCE = "/dev/herd/proxy/native/herd-proxy";
    private static final long START_TIMEOUT_NANOS = 5_000_000_000L;
    private static final int P_PIDFD = 3, WEXITED = 4;

    private final ProxyChannel channel;
    private final ProxyHost host;
    private final int pid;
    private final int pidfd;
    private final int localSocket;
    private final Thread watcher;
    private volatile boolean closing;
    /** Set once the proxy said it is ready: a death before that is the start-up error, not a report. */
    private volatile boolean ready;
    private volatile String deathReason;

    /**
     * Starts a proxy that maps the guest memory (memfd {@code guestMemfd}, at host address
     * {@code guestBase}, {@code guestSize} bytes) and {@link dev.herd.host.SharedScratch}.
     *
     * @param interruptSignal the host signal Herd interrupts blocked calls with
     * @param report          where a proxy's death mid-run is reported (one line)
     * @throws ProxyStartException with one line for the user when it cannot start
     */
    public static ProxyProcess start(int guestMemfd, long guestBase, long guestSize, ProxyNetwork network,
                                     int interruptSignal, PrintStream report) {
        return new ProxyProcess(guestMemfd, guestBase, guestSize, network, 0, interruptSignal, report);
    }

    /**
     * As {@link #start(int, long, long, ProxyNetwork, int, PrintStream)}, the isolated network
     * being the one of the running proxy {@code joinPid} (its user and network namespaces): after
     * an execve, the new image's proxy shares the old one's network.
     */
    public static ProxyProcess startJoining(int guestMemfd, long guestBase, long guestSize, int joinPid,
                                            int interruptSignal, PrintStream report) {
        return new ProxyProcess(guestMemfd, guestBase, guestSize, ProxyNetwork.ISOLATED, joinPid, interruptSignal, report);
    }

    private ProxyProcess(int guestMemfd, long guestBase, long guestSize, ProxyNetwork network, int joinPid,
                         int interruptSignal, PrintStream report) {
        dev.herd.host.SharedScratch scratch = dev.herd.host.SharedScratch.get();
        if (!scratch.available()) {
            throw new ProxyStartException("herd: cannot start the kernel proxy: no shared scratch memory (file-size limit?)");
        }
        channel = new ProxyChannel(1024, interruptSignal);
        int[] pair = socketpair();
        localSocket = pair[0];
        host = new ProxyHost(channel, interruptSignal, localSocket);
        List<Integer> copies = new ArrayList<>();
        int spawned;
        try {
            int exe = executable();
            int[] sources = {channel.memfd, guestMemfd, scratch.memfd(), pair[1], exe};
            List<HostSpawn.FdPlacement> placements = new ArrayList<>();
            for (int i = 0; i < sources.length; i++) {
                int copy = (int) HostKernel.check(HostKernel.call(HostSyscall.FCNTL, sources[i], 1030 /* F_DUPFD_CLOEXEC */, 64));
                copies.add(copy);
                placements.add(new HostSpawn.FdPlacement(copy, 3 + i));
            }
            int self = (int) HostKernel.call(HostSyscall.GETPID);
            List<byte[]> argv = new ArrayList<>();
            for (String a : new String[]{"herd-proxy", "3", "4", Long.toHexString(guestBase), Long.toString(guestSize), "5",
                    Long.toHexString(scratch.base()), Long.toString(scratch.size()), "6", Integer.toString(self),
                    joinPid > 0 ? "join:" + joinPid : network == ProxyNetwork.ISOLATED ? "isolated" : "host"}) {
                argv.add(a.getBytes(StandardCharsets.ISO_8859_1));
            }
            spawned = HostSpawn.spawn("/proc/self/fd/7".getBytes(StandardCharsets.ISO_8859_1), argv, List.of(), null, placements, 8);
        } catch (ErrnoException e) {
            closeQuietly(pair);
            channel.close();
            throw new ProxyStartException("herd: cannot start the kernel proxy: " + e.getMessage());
        } finally {
            for (int c : copies) HostMm.close(c);
            HostMm.close(pair[1]);
            channel.closeFd(); // the mappings stay; the proxy has its own copy of the file
        }
        pid = spawned;
        long fd = HostKernel.call(HostSyscall.PIDFD_OPEN, pid, 0);
        if (fd < 0) {
            HostKernel.call(HostSyscall.KILL, pid, 9);
            HostKernel.call(HostSyscall.WAIT4, pid, 0, 0, 0);
            HostMm.close(localSocket);
            channel.close();
            throw new ProxyStartException("herd: cannot watch the kernel proxy (pidfd_open: errno " + -fd + ")");
        }
        pidfd = (int) fd;
        host.proxyPid(pid);
        watcher = Thread.ofPlatform().daemon().name("herd-proxy-watcher").unstarted(() -> watch(report));
        watcher.start();
        awaitReady();
    }

    /** The calls this proxy runs. */
    public ProxyHost host() { return host; }

    /** The proxy's host pid. */
    public int pid() { return pid; }

    private void awaitReady() {
        long deadline = System.nanoTime() + START_TIMEOUT_NANOS;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment ts = a.allocate(16, 8);
            ts.set(ValueLayout.JAVA_LONG, 8, 20_000_000);
            while (channel.buffer.getIntVolatile(ProxyChannel.H_STATUS) == ProxyChannel.STATUS_STARTING && !host.isDead()) {
                if (System.nanoTime() > deadline) {
                    close();
                    throw new ProxyStartException("herd: the kernel proxy did not start within 5 s");
                }
                HostKernel.call(HostSyscall.FUTEX, channel.hostAddress(ProxyChannel.H_STATUS), 0, ProxyChannel.STATUS_STARTING,
                        ts.address(), 0, 0);
            }
        }
        int status = channel.buffer.getIntVolatile(ProxyChannel.H_STATUS);
        if (status == ProxyChannel.STATUS_READY) {
            ready = true;
            if (!host.isDead()) return;
        }
        String why = status == ProxyChannel.STATUS_FAILED ? channel.error() : "exited at start-up (" + deathReason + ")";
        close();
        throw new ProxyStartException("herd: cannot start the kernel proxy: " + why);
    }

    private void watch(PrintStream reportTo) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment info = a.allocate(128, 8);
            long r;
            do {
                r = HostKernel.call(HostSyscall.WAITID, P_PIDFD, pidfd, info.address(), WEXITED, 0);
            } while (r == -dev.herd.host.Errno.EINTR);
            int code = info.get(ValueLayout.JAVA_INT, 8), status = info.get(ValueLayout.JAVA_INT, 24);
            deathReason = code == 1 /* CLD_EXITED */ ? "status " + status : "killed by signal " + status;
        }
        boolean report = ready && !closing;
        host.proxyDied(report ? reportTo : null, "died (" + deathReason + ")");
        // a start-up waiter sleeps on the status word
        HostKernel.call(HostSyscall.FUTEX, channel.hostAddress(ProxyChannel.H_STATUS), 1, Integer.MAX_VALUE);
    }

    @Override
    public void close() {
        if (closing) return;
        closing = true;
        host.shutdown();
        HostKernel.call(HostSyscall.PIDFD_SEND_SIGNAL, pidfd, 9, 0, 0);
        try {
            watcher.join(2000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        HostMm.close(pidfd);
        HostMm.close(localSocket);
        // The channel's mapping stays: a guest thread may still be reading a cell as the run ends.
    }

    private static int[] socketpair() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment sv = a.allocate(8, 4);
            HostKernel.check(HostKernel.call(HostSyscall.SOCKETPAIR, 1 /* AF_UNIX */, 1 | 0x80000 /* SOCK_STREAM|CLOEXEC */, 0, sv.address()));
            return new int[]{sv.get(ValueLayout.JAVA_INT, 0), sv.get(ValueLayout.JAVA_INT, 4)};
        }
    }

    private static void closeQuietly(int[] fds) {
        for (int fd : fds) HostKernel.call(HostSyscall.CLOSE, fd);
    }

    /** The proxy program in a memfd (made once per JVM), executed as /proc/self/fd/N. */
    private static int executable() {
        return Executable.FD;
    }

    private static final class Executable {
        static final int FD = load();

        private static int load() {
            byte[] bytes;
            try (InputStream in = ProxyProcess.class.getResourceAsStream(RESOURCE)) {
                if (in == null) throw new IllegalStateException("kernel proxy " + RESOURCE + " missing from the build");
                bytes = in.readAllBytes();
            } catch (IOException e) {
                throw new IllegalStateException("cannot read " + RESOURCE, e);
            }
            int fd = HostMm.memfdCreate("herd-proxy", HostMm.MFD_CLOEXEC);
            try (Arena a = Arena.ofConfined()) {
                MemorySegment m = a.allocate(bytes.length);
                MemorySegment.copy(bytes, 0, m, ValueLayout.JAVA_BYTE, 0, bytes.length);
                long done = 0;
                while (done < bytes.length) {
                    long w = HostKernel.check(HostKernel.call(HostSyscall.WRITE, fd, m.address() + done, bytes.length - done));
                    done += w;
                }
            }
            return fd;
        }
    }
}
