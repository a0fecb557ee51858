package dev.herd.stresstests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.params.provider.Arguments;

/** Runs a {@link GuestCase} natively and under herd in one mode and compares everything. */
final class Differential {
    private Differential() {}

    /** Every case crossed with every mode, as JUnit arguments {@code (case, mode)}. */
    static Stream<Arguments> inAllModes(List<GuestCase> cases) {
        return cases.stream().flatMap(c -> Stream.of(Mode.values()).map(m -> Arguments.of(c, m)));
    }

    static void check(GuestCase c, Mode mode, String... herdOptions) throws IOException {
        check(c, mode, java.util.Map.of(), herdOptions);
    }

    /**
     * As {@link #check(GuestCase, Mode, String...)}, with extra variables in herd's environment
     * only; returns herd's run.
     */
    static GuestRun.Result check(GuestCase c, Mode mode, java.util.Map<String, String> herdEnv, String... herdOptions) throws IOException {
        HerdEnv.requireHerd();
        Path base = newRunDirectory(c.name() + "-" + mode);
        Path dir = base.resolve("d");
        List<String> argv = c.resolve(dir);
        if (!Files.isExecutable(Path.of(argv.getFirst()))) {
            if (argv.getFirst().startsWith(HerdEnv.GUESTS.toString())) {
                HerdEnv.guest(Path.of(argv.getFirst()).getFileName().toString());
            }
            if (argv.getFirst().equals(HerdEnv.BUSYBOX.toString())) HerdEnv.requireStaticBusybox();
            fail("program not found: " + argv.getFirst());
        }
        if (argv.getFirst().equals(HerdEnv.BUSYBOX.toString())) HerdEnv.requireStaticBusybox();

        prepare(dir, c);
        Path stdin = c.stdin() == null ? null : dir.resolve(c.stdin());
        GuestRun.Result nat = GuestRun.run(argv, dir, stdin, HerdEnv.guestEnvironment(base), HerdEnv.TIMEOUT);
        for (int retry = 0; retry < 3 && c.expectStatus() != null && nat.status() != c.expectStatus(); retry++) {
            // The native run shares the host with the rest of the suite: sig_rtqueue's limit counts
            // every queued signal of the user, and a CI run once found 5 pending elsewhere at the
            // moment its native run queued (none could; signal guests of other test classes queue
            // up to ~100 at times, measured with SigQ). A fixture that passes again is sound.
            try {
                Thread.sleep(300);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new java.io.InterruptedIOException();
            }
            prepare(dir, c);
            nat = GuestRun.run(argv, dir, stdin, HerdEnv.guestEnvironment(base), HerdEnv.TIMEOUT);
        }
        if (c.expectStatus() != null) {
            assertEquals(c.expectStatus().intValue(), nat.status(),
                    "test fixture problem: the NATIVE run of " + c + " exited " + nat.status() + "\nstdout:\n"
                            + Diff.indent(nat.stdoutText()) + "stderr:\n" + Diff.indent(nat.stderrText()));
        }
        prepare(dir, c);
        java.util.Map<String, String> env = new java.util.LinkedHashMap<>(HerdEnv.guestEnvironment(base));
        env.putAll(herdEnv);
        GuestRun.Result herd = GuestRun.run(GuestRun.herdCommand(mode, argv, herdOptions), dir, stdin, env, HerdEnv.TIMEOUT);
        GuestRun.assertNoJavaLeak(herd);
        GuestRun.assertSameOutcome(c + " [" + mode + "]", nat, herd);
        deleteTree(base);
        return herd;
    }

    /** A fresh directory under target/herd-work for one test run. */
    static Path newRunDirectory(String label) throws IOException {
        String safe = label.replaceAll("[^A-Za-z0-9._-]+", "_");
        if (safe.length() > 60) safe = safe.substring(0, 60);
        return Files.createTempDirectory(Files.createDirectories(HerdEnv.WORK), safe + "-");
    }

    private static void prepare(Path dir, GuestCase c) throws IOException {
        deleteTree(dir);
        Files.createDirectories(dir);
        c.setup().prepare(dir);
    }

    static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)) return;
        try (Stream<Path> s = Files.walk(p)) {
            for (Path q : s.sorted(Comparator.reverseOrder()).toList()) {
                q.toFile().setWritable(true);
                Files.deleteIfExists(q);
            }
        }
    }
}
