package dev.herd.stresstests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.parallel.Isolated;

/**
 * Runs the jcstress tests of Herd's own concurrent structures ({@code src/jcstress/java}: mapping
 * table updates vs lookups, the safe-point handshake, the fd table, the TID registry) with the jcstress runner in a
 * forked JVM, and fails if any result is FORBIDDEN or any test errs.
 *
 * <p>The default budget is short ({@link #DEFAULT_ARGS}); {@code -Dherd.jcstress.args="..."}
 * replaces the jcstress options for longer runs (see the README's Tests section). The full report is in
 * {@code target/jcstress/index.html}, the console output in {@code target/jcstress/output.txt}.
 *
 * <p>Isolated: jcstress wants the CPUs to itself (two actors on two cores), and it must not slow
 * the time-bounded guest runs of the differential tests.
 */
@Isolated
class JcstressTest {
    /**
     * Short default (about a minute on 2 idle cores): two forks per test with one 1 s iteration
     * each, in one JVM configuration ({@code -jvmArgs} turns off jcstress' auto-detected extra
     * configurations, {@code -sc false} its per-actor compilation modes, which together multiply
     * the forks by 14). {@code -strideCount 4} bounds the live states to 1024: each address-space
     * state holds a memfd, so the default 40 would need 10240 fds.
     */
    static final String DEFAULT_ARGS = "-f 2 -iters 1 -time 1000 -sc false -strideCount 4 -jvmArgs --enable-native-access=ALL-UNNAMED -jvmArgs --add-exports=java.base/jdk.internal.misc=ALL-UNNAMED";

    @Test
    @Timeout(value = 60, unit = TimeUnit.MINUTES)
    void noForbiddenOutcomes() throws IOException, InterruptedException {
        Path out = Path.of(System.getProperty("herd.jcstress.results", "target/jcstress")).toAbsolutePath();
        Files.createDirectories(out);
        String args = System.getProperty("herd.jcstress.args", "").isBlank()
                ? DEFAULT_ARGS : System.getProperty("herd.jcstress.args");
        String nativeAccess = "--enable-native-access=ALL-UNNAMED";

        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add(nativeAccess);
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), "org.openjdk.jcstress.Main"));
        cmd.addAll(Arrays.asList(args.trim().split("\\s+")));
        if (!args.contains("-jvmArgs")) cmd.addAll(List.of("-jvmArgsPrepend", nativeAccess)); // forks need it too
        cmd.addAll(List.of("-r", out.toString()));
        Path log = out.resolve("output.txt");
        Process p = new ProcessBuilder(cmd).directory(out.toFile()).redirectErrorStream(true)
                .redirectOutput(log.toFile()).start();
        p.getOutputStream().close();
        int status = p.waitFor();
        String text = Files.readString(log);
        String where = "\n(command: " + String.join(" ", cmd) + ")\n(console output: " + log + ", report: "
                + out.resolve("index.html") + ")\n" + tail(text, 60);

        assertEquals(0, status, "jcstress runner exit status" + where);
        assertTrue(text.contains("RUN RESULTS:"), "jcstress did not finish" + where);
        assertNoMatches(text, "Failed tests", where);
        assertNoMatches(text, "Error tests", where);
        // The last progress line: "(Results: 22 planned; 22 passed, 0 failed, 0 soft errs, 0 hard errs)".
        Matcher m = Pattern.compile("\\(Results: (\\d+) planned; (\\d+) passed, (\\d+) failed, (\\d+) soft errs, (\\d+) hard errs\\)")
                .matcher(text);
        String last = null;
        int planned = 0, passed = 0;
        while (m.find()) {
            last = m.group();
            planned = Integer.parseInt(m.group(1));
            passed = Integer.parseInt(m.group(2));
        }
        if (last == null) fail("no jcstress progress line" + where);
        int tests = args.matches("(^|.*\\s)-t\\s.*") ? 1 : testCount();
        assertTrue(planned >= tests && passed == planned,
                "not every planned result passed, or fewer results than tests (" + tests + "): " + last + where);
        for (String forbidden : List.of("[FAILED]", "[ERROR]", "[VM ERROR]")) {
            assertTrue(!text.contains(forbidden), forbidden + " in the jcstress output" + where);
        }
    }

    /** The number of jcstress tests compiled (lines of the processor's META-INF/TestList). */
    private static int testCount() throws IOException {
        try (InputStream in = JcstressTest.class.getResourceAsStream("/META-INF/TestList")) {
            if (in == null) fail("META-INF/TestList missing: the jcstress annotation processor did not run (<proc>full</proc>)");
            return (int) new String(in.readAllBytes(), StandardCharsets.UTF_8).lines().filter(l -> !l.isBlank()).count();
        }
    }

    private static void assertNoMatches(String text, String heading, String where) {
        Matcher m = Pattern.compile(Pattern.quote(heading) + ": (.*)").matcher(text);
        if (!m.find()) fail("no \"" + heading + "\" summary" + where);
        assertEquals("No matches.", m.group(1).trim(), heading + where);
    }

    private static String tail(String text, int lines) {
        List<String> all = text.lines().toList();
        return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
    }
}
