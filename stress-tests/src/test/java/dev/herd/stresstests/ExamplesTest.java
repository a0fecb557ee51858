package dev.herd.stresstests;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Compiles every {@code examples/*.java} with javac against {@code bin/herd classpath} (what a user
 * of the embedding API does) and runs the examples on guests, checking their output.
 */
class ExamplesTest {
    private static final Path EXAMPLES = HerdEnv.ROOT.resolve("examples");
    private static final Path CLASSES = HerdEnv.WORK.resolve("examples-classes");
    private static String classpath;

    record Result(int status, String out, String err) {}

    @BeforeAll
    static void compile() throws Exception {
        HerdEnv.requireHerd();
        Result cp = exec(List.of(HerdEnv.HERD.toString(), "classpath"));
        assertEquals(0, cp.status, cp.err);
        classpath = cp.out.strip();
        List<String> sources;
        try (Stream<Path> s = Files.list(EXAMPLES)) {
            sources = s.filter(p -> p.toString().endsWith(".java")).map(Path::toString).sorted().toList();
        }
        assertTrue(sources.size() >= 3, "examples: " + sources);
        Files.createDirectories(CLASSES);
        List<String> javac = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "javac").toString(),
                "-Xlint:all", "-Werror", "-cp", classpath, "-d", CLASSES.toString()));
        javac.addAll(sources);
        Result r = exec(javac);
        assertEquals(0, r.status, "javac failed:\n" + r.out + r.err);
    }

    private static Result exec(List<String> command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).start();
        p.getOutputStream().close();
        CompletableFuture<String> out = CompletableFuture.supplyAsync(() -> read(p.getInputStream()));
        CompletableFuture<String> err = CompletableFuture.supplyAsync(() -> read(p.getErrorStream()));
        if (!p.waitFor(HerdEnv.TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
            p.destroyForcibly();
            fail("timed out: " + command);
        }
        return new Result(p.exitValue(), out.join(), err.join());
    }

    private static String read(java.io.InputStream in) {
        try {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "";
        }
    }

    private static Result example(String main, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED",
                "-cp", classpath + ":" + CLASSES, main));
        cmd.addAll(List.of(args));
        Result r = exec(cmd);
        // The JVM's own warnings are not the example's output.
        String err = r.err.lines().filter(l -> !l.startsWith("WARNING:")).collect(Collectors.joining("\n"));
        return new Result(r.status, r.out, err);
    }

    @Test
    void syscallTracerTracesHello() throws Exception {
        Result r = example("SyscallTracer", HerdEnv.guest("hello").toString(), "3", "from", "herd");
        assertEquals(3, r.status, r.err);
        assertEquals("hello, world\nword 1: from\nword 2: herd\n", r.out);
        assertTrue(r.err.contains("hello on stderr"), r.err);
        // stdout is a pipe: the guest's stdio writes its 39 bytes at exit, in one write.
        assertTrue(r.err.lines().anyMatch(l -> l.matches("\\[\\d+\\] write\\(1, \\d+, 39\\) = 39")), r.err);
        assertTrue(r.err.lines().anyMatch(l -> l.matches("\\[\\d+\\] exit_group\\(3, .*")), r.err);
    }

    @Test
    void fakeHostnameRewritesUname() throws Exception {
        Result r = example("FakeHostname", "herd-box", HerdEnv.BUSYBOX.toString(), "uname", "-n");
        assertEquals(0, r.status, r.err);
        assertEquals("herd-box\n", r.out);
        Result h = example("FakeHostname", "other-name", HerdEnv.BUSYBOX.toString(), "hostname");
        assertEquals("other-name\n", h.out, h.err);
    }

    @Test
    void threadSyscallCounterCountsEveryThread() throws Exception {
        // thr_create: 1..16 then 24, 32, ..., 64 threads (400 in all) each call gettid exactly once,
        // as does main: 401 threads, 401 gettid calls, counted by hooks on all threads at once.
        Result r = example("ThreadSyscallCounter", HerdEnv.guest("thr_create").toString());
        assertEquals(0, r.status, r.err);
        assertTrue(r.out.contains("RESULT: ok"), r.out);
        assertTrue(r.out.contains("\nthreads: 401\n"), r.out);
        assertTrue(r.out.contains("\ngettid calls: 401\n"), r.out);
    }
}
