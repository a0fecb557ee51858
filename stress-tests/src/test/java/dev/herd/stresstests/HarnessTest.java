package dev.herd.stresstests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.opentest4j.AssertionFailedError;

/** The harness itself, without herd: timeouts, statuses, diffs. */
class HarnessTest {

    @Test
    void timeoutKillsTheProcess() throws IOException {
        HerdEnv.requireStaticBusybox();
        Path base = Differential.newRunDirectory("harness");
        GuestRun.Result r = GuestRun.run(List.of("/usr/bin/busybox", "sleep", "30"), base, null,
                HerdEnv.guestEnvironment(base), Duration.ofMillis(300));
        assertTrue(r.timedOut());
        assertTrue(r.millis() < 10_000, "killed promptly: " + r.millis() + " ms");
        Differential.deleteTree(base);
    }

    @Test
    void statusesAsJavaSeesThem() throws IOException {
        Path base = Differential.newRunDirectory("harness");
        var env = HerdEnv.guestEnvironment(base);
        assertEquals(1, GuestRun.run(List.of("/usr/bin/busybox", "false"), base, null, env, HerdEnv.TIMEOUT).status());
        GuestRun.Result crash = GuestRun.run(List.of(HerdEnv.guest("crash").toString()), base, null, env, HerdEnv.TIMEOUT);
        assertEquals(139, crash.status(), "death by SIGSEGV is 128 + 11");
        GuestRun.Result hello = GuestRun.run(List.of(HerdEnv.guest("hello").toString(), "7", "x"), base, null, env,
                HerdEnv.TIMEOUT);
        assertEquals(7, hello.status());
        assertEquals("hello, world\nword 1: x\n", hello.stdoutText());
        assertEquals("hello on stderr\n", hello.stderrText());
        Differential.deleteTree(base);
    }

    @Test
    void mismatchReportsADiff() {
        var a = new GuestRun.Result(List.of("a"), "1\n2\n3\n4\n5\n6\n7\n8\n9\n".getBytes(), new byte[0], 0, false, 1, "");
        var b = new GuestRun.Result(List.of("b"), "1\n2\n3\n4\nfive\n6\n7\n8\n9\n".getBytes(), "oops\n".getBytes(), 3, false, 1, "");
        AssertionFailedError e = assertThrows(AssertionFailedError.class, () -> GuestRun.assertSameOutcome("demo", a, b));
        String m = e.getMessage();
        assertTrue(m.contains("exit status differs: native 0, herd 3"), m);
        assertTrue(m.contains("-5\n+five"), m);
        assertTrue(m.contains("+oops"), m);
        assertTrue(!m.contains(" 1\n"), "context is limited to 3 lines: " + m);
    }

    @Test
    void javaExceptionsInStderrAreCaught() {
        var r = new GuestRun.Result(List.of("x"), new byte[0],
                "Exception in thread \"main\" java.lang.IllegalStateException\n\tat dev.herd.X.y(X.java:1)\n".getBytes(),
                1, false, 1, "");
        assertThrows(AssertionFailedError.class, () -> GuestRun.assertNoJavaLeak(r));
    }

    /** A run that passes its bound is described with what its processes were doing then. */
    @Test
    void aTimeoutShowsTheProcessTree() throws Exception {
        java.nio.file.Path dir = java.nio.file.Files.createTempDirectory("hang-");
        var r = GuestRun.run(List.of("/bin/sh", "-c", "sleep 30 & wait"), dir, null, java.util.Map.of("PATH", "/usr/bin:/bin"),
                java.time.Duration.ofMillis(1500));
        assertTrue(r.timedOut(), r.describe());
        String d = r.describe();
        assertTrue(d.contains("process tree at the timeout"), d);
        assertTrue(d.contains(": /bin/sh -c sleep 30 & wait"), d);
        assertTrue(d.contains(": sleep 30"), "the descendant, with its command line: " + d);
        assertTrue(d.contains(" sleep state S"), "its thread, sleeping: " + d);
        java.nio.file.Files.delete(dir);
    }
}
