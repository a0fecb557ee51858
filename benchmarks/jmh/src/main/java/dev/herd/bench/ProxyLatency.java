package dev.herd.bench;

import dev.herd.host.HostKernel;
import dev.herd.host.HostMm;
import dev.herd.host.HostSpawn;
import dev.herd.host.HostSyscall;
import dev.herd.host.SharedScratch;
import dev.herd.proxy.ProxyHost;
import dev.herd.proxy.ProxyNetwork;
import dev.herd.proxy.ProxyProcess;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.locks.LockSupport;

/**
 * Latency of one host call through the kernel proxy's shared-memory cells, against the same call
 * in-process and against the seed design's transport (requests and replies over a Unix socketpair
 * to a server process, data copied into the messages). Two workloads: {@code getppid} and a
 * 64-byte echo round trip over a socketpair (send A, recv B, send B, recv A: four calls). Two
 * regimes: hot (calls back to back, both sides spinning) and cold (a 2 ms pause before each call,
 * so both sides have parked on their futexes). Prints a Markdown table of medians and p99s.
 *
 * <p>Run by {@code benchmarks/proxy.sh}, which builds the socketpair server and passes its path.
 */
public final class ProxyLatency {
    private ProxyLatency() {}

    private interface Transport {
        String name();

        long getppid();

        /** Creates a connected pair on this side: {a, b}. */
        int[] pair();

        long send(int fd);

        long recv(int fd);
    }

    private static final MemorySegment ALL = MemorySegment.NULL.reinterpret(Long.MAX_VALUE);

    /** Calls in this process. */
    private static final class Local implements Transport {
        private final long buf;

        Local(long buf) { this.buf = buf; }

        public String name() { return "in-process (FFM downcall)"; }

        public long getppid() { return HostKernel.call(HostSyscall.GETPPID); }

        public int[] pair() { return socketpair(HostKernel::call, buf); }

        public long send(int fd) { return HostKernel.call(HostSyscall.SENDTO, fd, buf, 64, 0, 0, 0); }

        public long recv(int fd) { return HostKernel.call(HostSyscall.RECVFROM, fd, buf, 64, 0, 0, 0); }
    }

    /** Calls through the kernel proxy (buffers in the shared scratch area, not copied). */
    private static final class Proxied implements Transport {
        private final ProxyHost host;
        private final long buf;

        Proxied(ProxyHost host, long buf) {
            this.host = host;
            this.buf = buf;
        }

        public String name() { return "kernel proxy (shared-memory cell)"; }

        public long getppid() { return host.call(HostSyscall.GETPPID); }

        public int[] pair() { return socketpair((nr, a, b, c, d) -> host.call(nr, a, b, c, d), buf); }

        public long send(int fd) { return host.call(HostSyscall.SENDTO, fd, buf, 64, 0, 0, 0); }

        public long recv(int fd) { return host.call(HostSyscall.RECVFROM, fd, buf, 64, 0, 0, 0); }
    }

    /** The seed design: messages over a Unix socketpair to a server process. */
    private static final class SocketpairTransport implements Transport {
        private final int sock;
        private final long msg;

        SocketpairTransport(int sock, long msg) {
            this.sock = sock;
            this.msg = msg;
        }

        public String name() { return "Unix socketpair to a server (seed design)"; }

        private long request(long op, long nr, long a0, int payload, int replyPayload) {
            ALL.set(ValueLayout.JAVA_LONG, msg, op);
            ALL.set(ValueLayout.JAVA_LONG, msg + 8, nr);
            ALL.set(ValueLayout.JAVA_LONG, msg + 16, a0);
            full(HostSyscall.WRITE, msg, 64 + payload);
            full(HostSyscall.READ, msg, 8 + replyPayload);
            return ALL.get(ValueLayout.JAVA_LONG, msg);
        }

        private void full(long nr, long p, long n) {
            long done = 0;
            while (done < n) {
                long r = HostKernel.call(nr, sock, p + done, n - done);
                if (r <= 0) throw new IllegalStateException("socketpair transport: " + r);
                done += r;
            }
        }

        public long getppid() { return request(1, HostSyscall.GETPPID, 0, 0, 0); }

        public int[] pair() {
            long r = request(4, 0, 0, 0, 0);
            return new int[]{(int) r, (int) (r >>> 32)};
        }

        public long send(int fd) { return request(2, 0, fd, 64, 0); }

        public long recv(int fd) { return request(3, 0, fd, 0, 64); }
    }

    private interface Call5 {
        long call(long nr, long a, long b, long c, long d);
    }

    private static int[] socketpair(Call5 c, long buf) {
        long r = c.call(HostSyscall.SOCKETPAIR, 1, 1, 0, buf + 128);
        if (r != 0) throw new IllegalStateException("socketpair: " + r);
        return new int[]{ALL.get(ValueLayout.JAVA_INT, buf + 128), ALL.get(ValueLayout.JAVA_INT, buf + 132)};
    }

    private record Stats(double median, double p99) {}

    private static Stats measure(Runnable op, int n, long pauseNanos) {
        long[] t = new long[n];
        for (int i = 0; i < n; i++) {
            if (pauseNanos > 0) LockSupport.parkNanos(pauseNanos);
            long s = System.nanoTime();
            op.run();
            t[i] = System.nanoTime() - s;
        }
        Arrays.sort(t);
        return new Stats(t[n / 2] / 1000.0, t[(int) (n * 0.99)] / 1000.0);
    }

    public static void main(String[] args) throws Exception {
        String server = args[0];
        int hot = args.length > 1 ? Integer.parseInt(args[1]) : 200_000;
        int cold = args.length > 2 ? Integer.parseInt(args[2]) : 2_000;
        long pause = 2_000_000;

        long buf = SharedScratch.get().takeChunk();
        // A stand-in for guest memory: the proxy maps it as it would a guest's.
        int memfd = HostMm.memfdCreate("bench-guest", HostMm.MFD_CLOEXEC);
        long size = 1 << 20;
        HostMm.ftruncate(memfd, size);
        long base = HostMm.mapHinted(17L << 40, size, HostMm.PROT_READ | HostMm.PROT_WRITE, HostMm.MAP_SHARED, memfd);
        long startNanos = System.nanoTime();
        ProxyProcess proxy = ProxyProcess.start(memfd, base, size, ProxyNetwork.HOST, 45, System.err);
        double startMs = (System.nanoTime() - startNanos) / 1e6;

        long sv = SharedScratch.get().takeChunk();
        HostKernel.check(HostKernel.call(HostSyscall.SOCKETPAIR, 1, 1 | 0x80000, 0, sv));
        int mine = ALL.get(ValueLayout.JAVA_INT, sv), theirs = ALL.get(ValueLayout.JAVA_INT, sv + 4);
        int copy = (int) HostKernel.check(HostKernel.call(HostSyscall.FCNTL, theirs, 1030, 10));
        HostSpawn.spawn(server.getBytes(StandardCharsets.UTF_8), List.of(server.getBytes(StandardCharsets.UTF_8)), List.of(),
                null, List.of(new HostSpawn.FdPlacement(copy, 3)), 4);
        HostMm.close(copy);
        HostMm.close(theirs);

        List<Transport> transports = List.of(new Local(buf), new Proxied(proxy.host(), buf), new SocketpairTransport(mine, sv + 256));
        StringBuilder out = new StringBuilder();
        out.append(String.format(Locale.ROOT, "- Proxy start-up (spawn until ready, measured here): %.1f ms%n", startMs));
        out.append("- Hot: ").append(hot).append(" calls back to back after as many warm-up calls; cold: ").append(cold)
                .append(" calls each after a ").append(pause / 1_000_000).append(" ms pause (both sides parked)\n\n");
        out.append("| transport | getppid hot median / p99 | getppid cold median / p99 | 64-byte echo hot median / p99 | 64-byte echo cold median / p99 |\n");
        out.append("|---|---:|---:|---:|---:|\n");
        for (Transport t : transports) {
            int[] p = t.pair();
            Runnable getppid = t::getppid;
            Runnable echo = () -> {
                if (t.send(p[0]) != 64 || t.recv(p[1]) != 64 || t.send(p[1]) != 64 || t.recv(p[0]) != 64) {
                    throw new IllegalStateException("echo failed on " + t.name());
                }
            };
            measure(getppid, hot, 0);
            Stats gh = measure(getppid, hot, 0);
            Stats gc = measure(getppid, cold, pause);
            measure(echo, hot / 4, 0);
            Stats eh = measure(echo, hot / 4, 0);
            Stats ec = measure(echo, cold, pause);
            out.append(String.format(Locale.ROOT, "| %s | %.2f / %.2f µs | %.2f / %.2f µs | %.2f / %.2f µs | %.2f / %.2f µs |%n",
                    t.name(), gh.median(), gh.p99(), gc.median(), gc.p99(), eh.median(), eh.p99(), ec.median(), ec.p99()));
        }
        proxy.close();
        System.out.print(out);
        System.out.flush();
        Runtime.getRuntime().halt(0);
    }
}
