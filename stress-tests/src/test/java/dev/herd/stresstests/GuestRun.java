package dev.herd.stresstests;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Runs one command as a host process with a bounded time, capturing stdout, stderr and status,
 * and compares a native run with a run under {@code bin/herd run}.
 */
final class GuestRun {
    private GuestRun() {}

    /** What a process did. {@code status} is Java's view: 128 + signal for a death by signal. */
    record Result(List<String> command, byte[] stdout, byte[] stderr, int status, boolean timedOut, long millis,
                  String hang) {
        String stdoutText() {
            return new String(stdout, StandardCharsets.UTF_8);
        }

        String stderrText() {
            return new String(stderr, StandardCharsets.UTF_8);
        }

        String describe() {
            return String.join(" ", command.stream().map(GuestRun::shellQuote).toList())
                    + (timedOut ? "  [TIMED OUT, killed]" : "  [status " + status + ", " + millis + " ms]")
                    + (hang.isEmpty() ? "" : "\n" + hang);
        }
    }

    /**
     * Runs {@code command} in {@code cwd} with exactly {@code env}, stdin from {@code stdin} (or
     * /dev/null), killing the process and its descendants after {@code timeout}.
     */
    static Result run(List<String> command, Path cwd, Path stdin, Map<String, String> env, Duration timeout)
            throws IOException {
        Path io = Files.createDirectories(HerdEnv.WORK.resolve("io"));
        Path out = Files.createTempFile(io, "stdout-", ".txt");
        Path err = Files.createTempFile(io, "stderr-", ".txt");
        try {
            ProcessBuilder pb = new ProcessBuilder(command).directory(cwd.toFile());
            pb.environment().clear();
            pb.environment().putAll(env);
            pb.redirectInput(stdin != null ? stdin.toFile() : new java.io.File("/dev/null"));
            pb.redirectOutput(out.toFile());
            pb.redirectError(err.toFile());
            long t0 = System.nanoTime();
            Process p = pb.start();
            boolean done;
            try {
                done = p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                killTree(p);
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while running " + command, e);
            }
            String hang = "";
            if (!done) {
                hang = HangReport.of(p.toHandle());
                killTree(p);
            }
            long millis = (System.nanoTime() - t0) / 1_000_000;
            int status = done ? p.exitValue() : -1;
            return new Result(List.copyOf(command), Files.readAllBytes(out), Files.readAllBytes(err), status, !done, millis,
                    hang);
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }

    private static void killTree(Process p) {
        p.descendants().forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly();
        try {
            p.waitFor(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** {@code bin/herd run --mode M [options] argv...}. */
    static List<String> herdCommand(Mode mode, List<String> argv, String... options) {
        List<String> cmd = new ArrayList<>();
        cmd.add(HerdEnv.HERD.toString());
        cmd.add("run");
        cmd.add("--mode");
        cmd.add(mode.cli);
        cmd.addAll(Arrays.asList(options));
        cmd.addAll(argv);
        return cmd;
    }

    /** Fails with a readable diff unless both runs printed the same and exited the same. */
    static void assertSameOutcome(String what, Result nat, Result herd) {
        StringBuilder why = new StringBuilder();
        if (nat.timedOut()) why.append("the native run timed out (test bug?)\n");
        if (herd.timedOut()) why.append("the herd run timed out after ").append(HerdEnv.TIMEOUT.toSeconds()).append(" s\n");
        if (nat.status() != herd.status()) {
            why.append("exit status differs: native ").append(nat.status()).append(", herd ").append(herd.status()).append('\n');
        }
        if (!Arrays.equals(nat.stdout(), herd.stdout())) {
            why.append("stdout differs (--- native, +++ herd):\n")
                    .append(Diff.unified(nat.stdoutText(), herd.stdoutText())).append('\n');
        }
        if (!Arrays.equals(nat.stderr(), herd.stderr())) {
            why.append("stderr differs (--- native, +++ herd):\n")
                    .append(Diff.unified(nat.stderrText(), herd.stderrText())).append('\n');
        }
        if (!why.isEmpty()) {
            fail(what + ": herd differs from native\n  native: " + nat.describe() + "\n  herd:   " + herd.describe()
                    + "\n" + why);
        }
    }

    /** A herd run's stderr must never show a Java exception or stack trace. */
    static void assertNoJavaLeak(Result herd) {
        String err = herd.stderrText();
        if (err.contains("Exception") || err.contains("at dev.herd") || err.contains("\tat ")) {
            fail("herd leaked a Java exception to stderr:\n  " + herd.describe() + "\n" + Diff.indent(err));
        }
    }

    static String shellQuote(String s) {
        if (!s.isEmpty() && s.chars().allMatch(c -> Character.isLetterOrDigit(c) || "/._-=+:,@%".indexOf(c) >= 0)) {
            return s;
        }
        return "'" + s.replace("'", "'\\''") + "'";
    }
}
