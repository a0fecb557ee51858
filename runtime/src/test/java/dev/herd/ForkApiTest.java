package dev.herd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * fork from a run embedded in this JVM: every child is a child Herd process (cold, then from the
 * warm spare), and once the run has ended nothing of it is left in this JVM: no child process
 * (the unused spare included), no fd, no memfd.
 */
class ForkApiTest {
    private static String probe;

    @BeforeAll
    static void build() throws Exception {
        probe = TestGuests.path("fork_probe");
    }

    private static List<String> fds() throws IOException {
        List<String> out = new ArrayList<>();
        try (Stream<Path> s = Files.list(Path.of("/proc/self/fd"))) {
            for (Path p : s.toList()) {
                try {
                    out.add(p.getFileName() + " -> " + Files.readSymbolicLink(p));
                } catch (IOException gone) {
                    // the directory stream's own fd
                }
            }
        }
        out.removeIf(e -> e.contains("/proc/") && e.contains("/fd"));
        return out;
    }

    @Test
    void forksLeaveNothingBehind() throws Exception {
        // A first run makes what this JVM keeps for all runs (the shared scratch memfd, the JDK's
        // random devices), so the second run's fds are compared like for like.
        try (Herd herd = Herd.builder().program(probe, "1").stdout(new Capture()).build()) {
            assertEquals(0, herd.run());
        }
        List<String> before = fds();
        long childrenBefore = ProcessHandle.current().children().count();
        Capture out = new Capture();
        try (Herd herd = Herd.builder().program(probe, "6").stdout(out).build()) {
            assertEquals(0, herd.run());
        }
        assertEquals("forks 6 bad 0 shared 6\n", out.text());
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (ProcessHandle.current().children().count() > childrenBefore && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertEquals(childrenBefore, ProcessHandle.current().children().count(),
                "child processes left: " + ProcessHandle.current().children().map(p -> p.info().commandLine().orElse("?")).toList());
        List<String> after = fds();
        List<String> leaked = new ArrayList<>(after);
        leaked.removeAll(before);
        assertTrue(leaked.stream().noneMatch(e -> e.contains("herd") || e.contains("memfd") || e.contains("socket")
                || e.contains("pipe")), "fds left: " + leaked);
        assertEquals(before.size(), after.size(), "fds before " + before + " after " + after);
    }
}
