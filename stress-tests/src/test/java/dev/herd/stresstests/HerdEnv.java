package dev.herd.stresstests;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Where things are and the fixed environment every guest run gets. Configured by Surefire's
 * system properties (see stress-tests/pom.xml); the defaults work when run from the module dir.
 * Nothing is skipped: a missing launcher, build, guest or busybox fails the test with the fix.
 */
final class HerdEnv {
    private HerdEnv() {}

    static final Path ROOT = Path.of(System.getProperty("herd.root", "..")).toAbsolutePath().normalize();
    static final Path HERD = ROOT.resolve("bin/herd");
    static final Path GUESTS = Path.of(System.getProperty("herd.guests", "target/guests")).toAbsolutePath().normalize();
    static final Path WORK = Path.of(System.getProperty("herd.work", "target/herd-work")).toAbsolutePath().normalize();
    static final Duration TIMEOUT = Duration.ofSeconds(Long.getLong("herd.test.timeout", 60));
    static final Path BUSYBOX = Path.of("/usr/bin/busybox");

    /** The environment of every guest run, native and under herd alike (nothing else leaks in). */
    static Map<String, String> guestEnvironment(Path home) {
        Map<String, String> env = new LinkedHashMap<>();
        env.put("PATH", "/usr/bin:/bin");
        env.put("HOME", home.toString());
        env.put("LANG", "C");
        env.put("LC_ALL", "C");
        env.put("TZ", "UTC");
        env.put("HERD_TEST_VAR", "value with spaces = and ünïcödé");
        // bin/herd uses the JDK the tests run on; the native run sees the same variable.
        env.put("JAVA_HOME", System.getProperty("java.home"));
        return env;
    }

    private static volatile String herdProblem;
    private static volatile boolean herdChecked;

    /** Fails the calling test unless {@code bin/herd classpath} works (the runtime is packaged). */
    static void requireHerd() {
        if (!herdChecked) {
            synchronized (HerdEnv.class) {
                if (!herdChecked) {
                    herdProblem = checkHerd();
                    herdChecked = true;
                }
            }
        }
        if (herdProblem != null) fail(herdProblem);
    }

    private static String checkHerd() {
        if (!Files.isExecutable(HERD)) return "bin/herd missing or not executable: " + HERD;
        try {
            GuestRun.Result r = GuestRun.run(List.of(HERD.toString(), "classpath"), ROOT, null,
                    guestEnvironment(WORK), Duration.ofSeconds(30));
            if (r.status() != 0 || r.timedOut()) {
                return "bin/herd is not usable (status " + r.status() + "): " + r.stderrText().strip()
                        + "\nBuild it first: JAVA_HOME=<jdk25> mvn -DskipTests package (from " + ROOT + ")";
            }
        } catch (IOException e) {
            return "cannot run bin/herd: " + e;
        }
        return null;
    }

    /** The path of a guest program built from stress-tests/src/main/c; fails if it was not built. */
    static Path guest(String name) {
        Path p = GUESTS.resolve(name);
        if (!Files.isExecutable(p)) {
            fail("guest program not built: " + p + " (the Maven build compiles stress-tests/src/main/c with make; "
                    + "run scripts/setup.sh if gcc is missing)");
        }
        return p;
    }

    /** Fails unless /usr/bin/busybox is Debian's static busybox. */
    static void requireStaticBusybox() {
        if (!Files.isExecutable(BUSYBOX)) fail("/usr/bin/busybox missing: run scripts/setup.sh (Debian package busybox-static)");
        try {
            if (Elf.hasInterpreter(BUSYBOX)) {
                fail("/usr/bin/busybox is dynamically linked: install busybox-static (scripts/setup.sh)");
            }
        } catch (IOException e) {
            fail("cannot read /usr/bin/busybox: " + e);
        }
    }
}
