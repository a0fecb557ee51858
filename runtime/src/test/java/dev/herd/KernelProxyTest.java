package dev.herd;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The kernel proxy through the Java API: where calls run (the isolated network is the witness:
 * a connect that runs in the proxy cannot reach a server on the host's loopback), hooks around
 * forwarded calls, a user CALL hook over the proxy, the proxy dying mid-run, and no process left.
 */
class KernelProxyTest {
    private static String probe;

    @BeforeAll
    static void build() throws Exception {
        probe = TestGuests.path("proxy_probe");
    }

    private static ServerSocket hostServer() throws Exception {
        return new ServerSocket(0, 8, InetAddress.getLoopbackAddress());
    }

    private static String tcp(KernelProxy.Network net, boolean forwardNetwork, Capture out, ServerSocket server,
                              java.util.function.Consumer<Herd> more) throws Exception {
        try (Herd herd = Herd.builder().program(probe, "tcp", Integer.toString(server.getLocalPort())).stdout(out).build()) {
            if (net != null) {
                KernelProxy proxy = KernelProxy.start(herd).network(net);
                if (forwardNetwork) proxy.forwardNetwork(); else proxy.forwardSyscall("getppid");
            }
            if (more != null) more.accept(herd);
            assertEquals(0, herd.run());
        }
        return out.text();
    }

    @Test
    void isolatedProxyCannotReachTheHostAndHooksFireAroundForwardedCalls() throws Exception {
        AtomicInteger enters = new AtomicInteger(), exits = new AtomicInteger();
        AtomicInteger proxyPid = new AtomicInteger();
        try (ServerSocket server = hostServer()) {
            Capture out = new Capture();
            try (Herd herd = Herd.builder().program(probe, "tcp", Integer.toString(server.getLocalPort())).stdout(out).build()) {
                KernelProxy proxy = KernelProxy.start(herd).network(KernelProxy.Network.ISOLATED).forwardNetwork();
                herd.setSyscall("connect", Intercept.ENTER, ev -> {
                    enters.incrementAndGet();
                    proxyPid.set(proxy.pid());
                });
                herd.setSyscall("connect", Intercept.EXIT, ev -> {
                    exits.incrementAndGet();
                    assertEquals(-111, ev.returnValue()); // ECONNREFUSED from the proxy's own loopback
                });
                assertEquals(-1, proxy.pid());
                assertEquals(0, herd.run());
                assertFalse(proxy.isAlive());
            }
            assertEquals("error ECONNREFUSED\n", out.text());
        }
        assertEquals(1, enters.get());
        assertEquals(1, exits.get());
        assertTrue(proxyPid.get() > 0, "the proxy ran during the call");
        assertGone(proxyPid.get());
    }

    @Test
    void hostNetworkReachesTheHost() throws Exception {
        try (ServerSocket server = hostServer()) {
            assertEquals("connected\n", tcp(KernelProxy.Network.HOST, true, new Capture(), server, null));
        }
    }

    @Test
    void anUnforwardedSocketRunsInHerd() throws Exception {
        try (ServerSocket server = hostServer()) {
            assertEquals("connected\n", tcp(KernelProxy.Network.ISOLATED, false, new Capture(), server, null));
        }
    }

    @Test
    void withoutAProxyNothingChanges() throws Exception {
        try (ServerSocket server = hostServer()) {
            assertEquals("connected\n", tcp(null, false, new Capture(), server, null));
        }
    }

    @Test
    void aUserCallHookRegisteredAfterTheProxyWins() throws Exception {
        try (ServerSocket server = hostServer()) {
            String out = tcp(KernelProxy.Network.ISOLATED, true, new Capture(), server,
                    herd -> herd.setSyscall("connect", Intercept.CALL, ev -> ev.setReturn(0)));
            assertEquals("connected\n", out);
        }
    }

    @Test
    void aProxyKilledMidRunTurnsForwardedCallsIntoEioAndTheGuestGoesOn() throws Exception {
        Capture out = new Capture();
        ByteArrayOutputStream diag = new ByteArrayOutputStream();
        try (Herd herd = Herd.builder().program(probe, "accept").stdout(out)
                .diagnostics(new PrintStream(diag, true, StandardCharsets.UTF_8)).build()) {
            KernelProxy proxy = KernelProxy.start(herd).forwardNetwork();
            HerdRun run = herd.start();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (!out.text().contains("listening") && System.nanoTime() < deadline) Thread.sleep(10);
            Thread.sleep(100); // into the blocking accept
            int pid = proxy.pid();
            assertTrue(pid > 0);
            new ProcessBuilder("kill", "-9", Integer.toString(pid)).start().waitFor();
            assertEquals(0, run.await());
            assertGone(pid);
        }
        assertEquals("listening\naccept: EIO\nsocket: EIO\nstill running\n", out.text());
        String d = diag.toString(StandardCharsets.UTF_8);
        assertEquals(1, d.lines().filter(l -> l.contains("kernel proxy died")).count(), d);
        assertTrue(d.contains("herd: kernel proxy died (killed by signal 9); forwarded calls now fail with EIO"), d);
    }

    @Test
    void configuringAfterTheStartIsRefused() throws Exception {
        try (Herd herd = Herd.builder().program(probe, "getppid", "1").stdout(new Capture()).build()) {
            KernelProxy proxy = KernelProxy.start(herd);
            assertThrows(IllegalStateException.class, () -> KernelProxy.start(herd));
            assertEquals(0, herd.run());
            assertThrows(IllegalStateException.class, () -> proxy.forwardSyscall("socket"));
        }
    }

    /** The proxy process is reaped, not left behind (no zombie, no orphan). */
    private static void assertGone(int pid) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (Files.exists(Path.of("/proc/" + pid)) && System.nanoTime() < deadline) Thread.sleep(10);
        assertFalse(Files.exists(Path.of("/proc/" + pid)), "proxy process " + pid + " still exists");
    }
}
