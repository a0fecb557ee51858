package dev.herd.stresstests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@code bin/herd run --proxy} from the command line: Debian's busybox wget through the proxy, the
 * isolated network, a proxy that cannot start, and no proxy process outliving a killed Herd.
 */
class ProxyCliTest {
    private Path base;

    @BeforeEach
    void setUp() throws IOException {
        HerdEnv.requireHerd();
        base = Differential.newRunDirectory("proxy-cli");
    }

    @AfterEach
    void tearDown() throws IOException {
        Differential.deleteTree(base);
    }

    private GuestRun.Result herd(String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(HerdEnv.HERD.toString(), "run"));
        cmd.addAll(List.of(args));
        GuestRun.Result r = GuestRun.run(cmd, base, null, HerdEnv.guestEnvironment(base), HerdEnv.TIMEOUT);
        GuestRun.assertNoJavaLeak(r);
        return r;
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    /**
     * Debian's busybox wget through the proxy, against an HTTP server in this JVM on the host's
     * loopback: fetched intact with the proxy in the host's network, refused from an isolated one.
     */
    @Test
    void busyboxWgetThroughTheProxy() throws Exception {
        HerdEnv.requireStaticBusybox();
        byte[] page = "served to a guest through its kernel proxy\n".repeat(2000).getBytes(StandardCharsets.UTF_8);
        com.sun.net.httpserver.HttpServer server = com.sun.net.httpserver.HttpServer.create(
                new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 8);
        server.createContext("/index.html", ex -> {
            ex.sendResponseHeaders(200, page.length);
            try (var body = ex.getResponseBody()) {
                body.write(page);
            }
        });
        server.start();
        try {
            String url = "http://127.0.0.1:" + server.getAddress().getPort() + "/index.html";
            GuestRun.Result wget = herd("--proxy", HerdEnv.BUSYBOX.toString(), "wget", "-q", "-O", "-", url);
            assertEquals(0, wget.status(), wget.stderrText());
            assertEquals(new String(page, StandardCharsets.UTF_8), wget.stdoutText());
            GuestRun.Result isolated = herd("--proxy", "--net", "isolated", HerdEnv.BUSYBOX.toString(), "wget", "-q",
                    "-O", "-", url); // (no -T: Debian's busybox 1.35 wget crashes on a refused connection with it)
            assertEquals(1, isolated.status(), "an isolated proxy cannot reach the host's loopback");
            assertTrue(isolated.stderrText().contains("Connection refused"), isolated.stderrText());
        } finally {
            server.stop(0);
        }
    }

    /**
     * busybox httpd and busybox wget, both guests, talking in an isolated network: a shell starts
     * httpd (which forks a child per connection) and wget, every one a child Herd whose proxy joins
     * the first one's network; the host cannot reach the server.
     */
    @Test
    void busyboxHttpdAndWgetInAnIsolatedNetwork() throws Exception {
        HerdEnv.requireStaticBusybox();
        Path www = Files.createDirectories(base.resolve("www"));
        String page = "served by busybox httpd under herd\n".repeat(500);
        Files.writeString(www.resolve("index.html"), page);
        int port = freePort();
        String url = "http://127.0.0.1:" + port + "/index.html";
        String bb = HerdEnv.BUSYBOX.toString();
        String script = bb + " httpd -f -p 127.0.0.1:" + port + " -h " + www + " & p=$!; "
                + "for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do "
                + bb + " wget -q -O page.out " + url + " && break; sleep 0.5; done; echo \"wget $?\"; "
                + bb + " wget -q -O - " + url + " | " + bb + " wc -c; "
                + "kill $p; wait $p; echo \"httpd $?\"";
        GuestRun.Result r = herd("--proxy", "--net", "isolated", bb, "sh", "-c", script);
        assertEquals(0, r.status(), r.stdoutText() + r.stderrText());
        assertEquals("wget 0\n" + page.length() + "\nhttpd 143\n", r.stdoutText(), r.stderrText());
        assertEquals(page, Files.readString(base.resolve("page.out")));
        try (java.net.Socket s = new java.net.Socket()) {
            assertThrows(java.io.IOException.class, () -> s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 2000),
                    "the host reaches a server in the isolated network");
        }
    }

    /** A Herd killed hard leaves no proxy behind: the proxy watches Herd through a pidfd. */
    @Test
    void noProxyOutlivesAKilledHerd() throws Exception {
        HerdEnv.requireStaticBusybox();
        ProcessBuilder pb = new ProcessBuilder(HerdEnv.HERD.toString(), "run", "--proxy", HerdEnv.BUSYBOX.toString(),
                "nc", "-l", "-p", Integer.toString(freePort()));
        pb.environment().putAll(HerdEnv.guestEnvironment(base));
        pb.redirectErrorStream(true).redirectOutput(base.resolve("nc.log").toFile());
        Process herd = pb.start();
        try {
            int proxy = proxyOf(herd.pid());
            assertTrue(proxy > 0, "the herd has a proxy process");
            Thread.sleep(300);
            herd.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (isLiveProxy(proxy) && System.nanoTime() < deadline) Thread.sleep(20);
            assertFalse(isLiveProxy(proxy), "proxy " + proxy + " outlived its Herd");
        } finally {
            herd.destroyForcibly();
        }
    }

    @Test
    void aProxyThatCannotStartIsOneLineAndStatus1() throws IOException {
        // In a user namespace without a uid mapping Herd has no capabilities and may not create a
        // user namespace either, so the isolated network cannot be made.
        List<String> cmd = List.of("unshare", "-U", HerdEnv.HERD.toString(), "run", "--net", "isolated",
                HerdEnv.GUESTS.resolve("hello").toString());
        GuestRun.Result r = GuestRun.run(cmd, base, null, HerdEnv.guestEnvironment(base), HerdEnv.TIMEOUT);
        GuestRun.assertNoJavaLeak(r);
        assertEquals(1, r.status(), r.describe() + "\n" + r.stderrText());
        assertEquals("", r.stdoutText(), "the guest never started");
        assertEquals(1, r.stderrText().lines().count(), r.stderrText());
        assertTrue(r.stderrText().startsWith("herd: cannot start the kernel proxy: cannot create a network namespace"),
                r.stderrText());
    }

    /** The herd-proxy child of the JVM whose launcher is {@code pid} (bin/herd execs java). */
    private static int proxyOf(long pid) throws IOException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < deadline) {
            try (var dirs = Files.list(Path.of("/proc"))) {
                for (Path d : (Iterable<Path>) dirs::iterator) {
                    String n = d.getFileName().toString();
                    if (!n.chars().allMatch(Character::isDigit)) continue;
                    try {
                        String stat = Files.readString(d.resolve("stat"), StandardCharsets.ISO_8859_1);
                        String after = stat.substring(stat.lastIndexOf(')') + 2);
                        long ppid = Long.parseLong(after.split(" ")[1]);
                        if (stat.contains("(herd-proxy)") && ppid == pid) return Integer.parseInt(n);
                    } catch (IOException | RuntimeException gone) {
                        // exited meanwhile
                    }
                }
            }
        }
        return -1;
    }

    private static boolean isLiveProxy(int pid) {
        try {
            String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
            return stat.contains("(herd-proxy)") && !stat.substring(stat.lastIndexOf(')') + 2).startsWith("Z");
        } catch (IOException gone) {
            return false;
        }
    }
}
