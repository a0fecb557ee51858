package dev.herd;

import dev.herd.host.HostKernel;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

/**
 * The guest's stdin/stdout/stderr for one run: inherited host fds, or host pipes pumped by daemon
 * threads to and from Java streams. The guest's fd table duplicates the guest-side pipe ends at
 * start, after which this JVM closes its own copies, so an output pump sees EOF once the guest's
 * fds are closed at the end of the run. Each pump closes its own end itself (never another
 * thread: a closed fd number could be reused by then).
 */
final class Stdio {
    private static final int NR_READ = 0, NR_WRITE = 1, NR_CLOSE = 3, NR_PIPE2 = 293;
    private static final int O_CLOEXEC = 0x80000, EINTR = 4, CHUNK = 64 * 1024;

    int guestIn, guestOut, guestErr;
    /** JVM copies of guest-side pipe ends, closed once the guest has its own duplicates. */
    private final List<Integer> guestSide = new ArrayList<>();
    /** JVM-side ends, owned by the pumps once started. */
    private final List<Integer> jvmSide = new ArrayList<>();
    private final List<Thread> pumps = new ArrayList<>();
    private final List<Thread> outputPumps = new ArrayList<>();

    private Stdio() {}

    static Stdio open(Herd.Builder c) {
        Stdio s = new Stdio();
        s.guestIn = c.stdinFd;
        s.guestOut = c.stdoutFd;
        s.guestErr = c.stderrFd;
        try {
            if (c.stdin != null) {
                int[] p = s.pipe();
                s.guestIn = p[0];
                s.guestSide.add(p[0]);
                InputStream src = c.stdin;
                int fd = p[1];
                s.pumps.add(Thread.ofPlatform().daemon().name("herd-stdin")
                        .unstarted(() -> pumpIn(src, fd)));
            }
            if (c.stdout != null) {
                int[] p = s.pipe();
                s.guestOut = p[1];
                s.guestSide.add(p[1]);
                s.outputPumps.add(outPump("herd-stdout", p[0], c.stdout));
            }
            if (c.stderr != null) {
                int[] p = s.pipe();
                s.guestErr = p[1];
                s.guestSide.add(p[1]);
                s.outputPumps.add(outPump("herd-stderr", p[0], c.stderr));
            }
        } catch (IOException e) {
            s.abort();
            throw new HerdException("cannot create stdio pipes: " + e.getMessage(), e);
        }
        s.pumps.addAll(s.outputPumps);
        return s;
    }

    private static Thread outPump(String prefix, int fd, OutputStream out) {
        return Thread.ofPlatform().daemon().name(prefix).unstarted(() -> pumpOut(fd, out));
    }

    private int[] pipe() throws IOException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment fds = a.allocate(ValueLayout.JAVA_INT, 2);
            long r = HostKernel.call(NR_PIPE2, fds.address(), O_CLOEXEC);
            if (r < 0) throw new IOException("pipe2 failed, errno " + -r);
            int[] p = {fds.getAtIndex(ValueLayout.JAVA_INT, 0), fds.getAtIndex(ValueLayout.JAVA_INT, 1)};
            jvmSide.add(p[0]);
            jvmSide.add(p[1]);
            return p;
        }
    }

    /** The guest has duplicated its ends: close ours and start the pumps. */
    void started() {
        for (int fd : guestSide) close(fd);
        for (Thread t : pumps) t.start();
    }

    /** The guest never started: close everything. */
    void abort() {
        for (int fd : jvmSide) close(fd);
    }

    /** Waits (bounded) until all guest output has been written to the user's streams. */
    void awaitOutput(long timeoutMillis) throws InterruptedException {
        long deadline = System.currentTimeMillis() + timeoutMillis;
        for (Thread t : outputPumps) {
            long left = deadline - System.currentTimeMillis();
            if (left > 0) t.join(left);
        }
    }

    private static void close(int fd) {
        HostKernel.call(NR_CLOSE, fd);
    }

    private static void pumpOut(int fd, OutputStream out) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(CHUNK);
            byte[] bytes = new byte[CHUNK];
            boolean sinkOk = true;
            while (true) {
                long n = HostKernel.call(NR_READ, fd, buf.address(), CHUNK);
                if (n == -EINTR) continue;
                if (n <= 0) break;
                if (!sinkOk) continue; // keep draining so the guest never blocks on a full pipe
                MemorySegment.copy(buf, ValueLayout.JAVA_BYTE, 0, bytes, 0, (int) n);
                try {
                    out.write(bytes, 0, (int) n);
                    out.flush();
                } catch (IOException e) {
                    sinkOk = false;
                }
            }
        } finally {
            close(fd);
        }
    }

    private static void pumpIn(InputStream in, int fd) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(CHUNK);
            byte[] bytes = new byte[CHUNK];
            outer:
            while (true) {
                int n;
                try {
                    n = in.read(bytes);
                } catch (IOException e) {
                    break;
                }
                if (n < 0) break;
                MemorySegment.copy(bytes, 0, buf, ValueLayout.JAVA_BYTE, 0, n);
                long off = 0;
                while (off < n) {
                    long w = HostKernel.call(NR_WRITE, fd, buf.address() + off, n - off);
                    if (w == -EINTR) continue;
                    if (w < 0) break outer; // EPIPE: the guest is gone
                    off += w;
                }
            }
        } finally {
            close(fd);
        }
    }
}
