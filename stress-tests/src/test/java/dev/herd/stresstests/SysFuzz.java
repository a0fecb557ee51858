package dev.herd.stresstests;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * The syscall fuzzer's harness: runs the {@code sysfuzz} guest (stress-tests/src/main/c/sysfuzz.c)
 * for a seed natively and under {@code bin/herd run} in each mode, in a fresh scratch directory as
 * its cwd and as user nobody when started as root, and compares the calls' results line by line.
 *
 * <p>The rule (docs/SECURITY.md, "Syscall fuzzing"):
 * <ul>
 * <li><b>bad</b> (fails the test): the herd run hangs (bounded time), does not finish the calls or
 *     exits differently, prints {@code herd: internal error}, a Java exception or stack trace or a JVM
 *     crash report, or a call's result differs from native's where one side is {@code EFAULT}
 *     (success vs EFAULT, EFAULT vs another errno other than herd's ENOSYS): a pointer checked where
 *     Linux does not, or not checked where Linux does, or checked in another order.
 * <li><b>listed</b> (reported, not failed): every other difference of success/errno, e.g. ENOSYS
 *     under herd where native works (docs/SYSCALLS.md gives Herd's reasons), another errno where
 *     Linux checks arguments in another order; differences of the returned value only are
 *     counted.
 * </ul>
 *
 * <p>Standalone (no JUnit), so scripts/fuzz-syscalls.sh runs it with the Java source launcher:
 * {@code java SysFuzz.java --root DIR --seeds 1-20 [--rounds N] [--modes parallel,serial]}.
 */
public final class SysFuzz {

    /** One run of the fuzzer. */
    record Run(List<String> command, String stdout, String stderr, int status, boolean timedOut, long millis) {}

    /** A call's result on both sides. */
    record Difference(long index, String name, String args, String nativeResult, String herdResult) {
        @Override
        public String toString() {
            return index + " " + name + "(" + args + "): native " + nativeResult + ", herd " + herdResult;
        }
    }

    /** The comparison of one seed in one mode. */
    record Outcome(long seed, String mode, int calls, List<String> bad, List<Difference> badCalls,
                   List<Difference> listed, int valueDifferences, Run nativeRun, Run herdRun) {
        boolean ok() {
            return bad.isEmpty() && badCalls.isEmpty();
        }

        String report() {
            StringBuilder sb = new StringBuilder();
            sb.append("seed ").append(seed).append(" [").append(mode).append("]: ").append(calls).append(" calls, ")
                    .append(bad.size() + badCalls.size()).append(" bad, ").append(listed.size()).append(" listed, ")
                    .append(valueDifferences).append(" value-only differences; native ").append(nativeRun.millis())
                    .append(" ms, herd ").append(herdRun.millis()).append(" ms\n");
            for (String b : bad) sb.append("  BAD: ").append(b).append('\n');
            for (Difference d : badCalls) sb.append("  BAD call: ").append(d).append('\n');
            Map<String, List<Difference>> byName = new TreeMap<>();
            for (Difference d : listed) byName.computeIfAbsent(d.name(), k -> new ArrayList<>()).add(d);
            for (var e : byName.entrySet()) {
                sb.append("  listed: ").append(e.getKey()).append(" x").append(e.getValue().size()).append(", e.g. ")
                        .append(e.getValue().getFirst()).append('\n');
            }
            return sb.toString();
        }
    }

    final Path root;
    final Path guest;
    final Path work;
    final Duration nativeTimeout;
    final Duration herdTimeout;

    SysFuzz(Path root, Path guest, Path work, Duration nativeTimeout, Duration herdTimeout) {
        this.root = root;
        this.guest = guest;
        this.work = work;
        this.nativeTimeout = nativeTimeout;
        this.herdTimeout = herdTimeout;
    }

    /** Runs one seed natively once and under herd in each mode. */
    List<Outcome> fuzz(long seed, int rounds, List<String> modes) throws IOException {
        List<String> argv = List.of(guest.toString(), Long.toString(seed), Integer.toString(rounds));
        Run nat = run(argv, "native-" + seed, nativeTimeout);
        List<Outcome> outcomes = new ArrayList<>();
        for (String mode : modes) {
            List<String> cmd = new ArrayList<>(List.of(root.resolve("bin/herd").toString(), "run", "--mode", mode));
            cmd.addAll(argv);
            Run herd = run(cmd, "herd-" + mode + "-" + seed, herdTimeout);
            outcomes.add(compare(seed, mode, nat, herd));
        }
        return outcomes;
    }

    static Outcome compare(long seed, String mode, Run nat, Run herd) {
        List<String> bad = new ArrayList<>();
        if (nat.timedOut() || nat.status() != 0 || !nat.stdout().contains("sysfuzz done")) {
            bad.add("the NATIVE run did not finish (fuzzer bug?): status " + nat.status() + (nat.timedOut() ? ", timed out" : "")
                    + "\n" + tail(nat.stdout()) + nat.stderr());
        }
        if (herd.timedOut()) bad.add("herd hung: killed after " + herd.millis() + " ms; last lines:\n" + tail(herd.stdout()));
        else if (herd.status() != nat.status()) {
            bad.add("herd exited " + herd.status() + ", native " + nat.status() + "; last lines:\n" + tail(herd.stdout()));
        }
        String err = herd.stderr();
        String errors = err.lines().filter(l -> !l.startsWith("herd: warning: ")).collect(java.util.stream.Collectors.joining("\n"));
        if (err.contains("herd: internal error")) bad.add("herd: internal error:\n" + indent(errors));
        else if (err.contains("Exception") || err.contains("\tat ") || err.contains("at dev.herd")) {
            bad.add("a Java exception or stack trace on stderr:\n" + indent(errors));
        }
        if (err.contains("A fatal error has been detected") || err.contains("hs_err_pid")) bad.add("the JVM crashed:\n" + indent(err));
        Map<Long, String[]> n = parse(nat.stdout());
        Map<Long, String[]> h = parse(herd.stdout());
        if (!herd.timedOut() && !herd.stdout().contains("sysfuzz done")) {
            bad.add("herd did not finish the calls (" + h.size() + " of " + n.size() + " lines)");
        }
        List<Difference> badCalls = new ArrayList<>();
        List<Difference> listed = new ArrayList<>();
        int values = 0;
        for (var e : n.entrySet()) {
            String[] a = e.getValue();
            String[] b = h.get(e.getKey());
            if (b == null) continue;
            String ra = a[4], rb = b[4];
            if (ra.equals(rb)) continue;
            String ca = ra.startsWith("ok") ? "ok" : ra, cb = rb.startsWith("ok") ? "ok" : rb;
            Difference d = new Difference(e.getKey(), a[2], a[3], ra, rb);
            if (ca.equals(cb)) values++;
            else if (cb.equals("-ENOSYS")) listed.add(d); // Herd's documented ENOSYS (docs/SYSCALLS.md)
            else if (ca.equals("-EFAULT") || cb.equals("-EFAULT")) badCalls.add(d);
            else listed.add(d);
        }
        return new Outcome(seed, mode, n.size(), bad, badCalls, listed, values, nat, herd);
    }

    /** INDEX NR NAME ARGS RESULT lines, by index ("skip" lines have no result and are left out). */
    static Map<Long, String[]> parse(String out) {
        Map<Long, String[]> m = new LinkedHashMap<>();
        for (String line : out.split("\n")) {
            String[] f = line.split(" ");
            if (f.length != 5 || !f[0].chars().allMatch(Character::isDigit) || f[0].isEmpty()) continue;
            m.put(Long.parseLong(f[0]), f);
        }
        return m;
    }

    private Run run(List<String> argv, String label, Duration timeout) throws IOException {
        Files.createDirectories(work);
        Path dir = Files.createTempDirectory(work, label + "-");
        dir.toFile().setWritable(true, false);
        dir.toFile().setExecutable(true, false);
        dir.toFile().setReadable(true, false);
        List<String> cmd = new ArrayList<>();
        if (isRoot()) cmd.addAll(List.of("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"));
        cmd.addAll(argv);
        Path out = Files.createTempFile(work, label + "-out-", ".txt");
        Path err = Files.createTempFile(work, label + "-err-", ".txt");
        try {
            ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile());
            pb.environment().clear();
            pb.environment().put("PATH", "/usr/bin:/bin");
            pb.environment().put("HOME", dir.toString());
            pb.environment().put("LANG", "C");
            pb.environment().put("LC_ALL", "C");
            pb.environment().put("TZ", "UTC");
            pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
            pb.redirectInput(new File("/dev/null"));
            pb.redirectOutput(out.toFile());
            pb.redirectError(err.toFile());
            long t0 = System.nanoTime();
            Process p = pb.start();
            boolean done;
            try {
                done = p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
                Thread.currentThread().interrupt();
                throw new IOException("interrupted", e);
            }
            if (!done) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
                try {
                    p.waitFor(10, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            long ms = (System.nanoTime() - t0) / 1_000_000;
            return new Run(cmd, Files.readString(out, StandardCharsets.ISO_8859_1), Files.readString(err, StandardCharsets.ISO_8859_1),
                    done ? p.exitValue() : -1, !done, ms);
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
            deleteTree(dir);
        }
    }

    static boolean isRoot() {
        try {
            return ((Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid")) == 0;
        } catch (IOException | UnsupportedOperationException e) {
            return false;
        }
    }

    private static String tail(String s) {
        String[] lines = s.split("\n");
        StringBuilder sb = new StringBuilder();
        for (int i = Math.max(0, lines.length - 3); i < lines.length; i++) sb.append("    ").append(lines[i]).append('\n');
        return sb.toString();
    }

    private static String indent(String s) {
        String cut = s.length() > 4000 ? s.substring(0, 4000) + "\n[...]" : s;
        return "    " + cut.replace("\n", "\n    ") + "\n";
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

    /** {@code --root DIR --seeds A-B|A,B,.. [--rounds N] [--modes parallel,serial] [--timeout SECONDS]}. */
    public static void main(String[] args) throws IOException {
        Path root = Path.of(".").toAbsolutePath().normalize();
        String seeds = "1-20";
        int rounds = 4;
        List<String> modes = List.of("parallel", "serial");
        long timeout = 600;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--root" -> root = Path.of(args[++i]).toAbsolutePath().normalize();
                case "--seeds" -> seeds = args[++i];
                case "--rounds" -> rounds = Integer.parseInt(args[++i]);
                case "--modes" -> modes = List.of(args[++i].split(","));
                case "--timeout" -> timeout = Long.parseLong(args[++i]);
                default -> {
                    System.err.println("usage: SysFuzz [--root DIR] [--seeds 1-20|1,5,9] [--rounds N] [--modes parallel,serial] [--timeout S]");
                    System.exit(2);
                }
            }
        }
        Path guest = root.resolve("stress-tests/target/guests/sysfuzz");
        if (!Files.isExecutable(guest)) {
            System.err.println("not built: " + guest + " (mvn -DskipTests package builds it)");
            System.exit(2);
        }
        SysFuzz f = new SysFuzz(root, guest, root.resolve("stress-tests/target/sysfuzz-work"), Duration.ofSeconds(120),
                Duration.ofSeconds(timeout));
        int calls = 0, bad = 0, listed = 0, runs = 0;
        Map<String, Integer> listedByName = new TreeMap<>();
        Map<String, Integer> badByName = new TreeMap<>();
        for (long seed : parseSeeds(seeds)) {
            for (Outcome o : f.fuzz(seed, rounds, modes)) {
                System.out.print(o.report());
                System.out.flush();
                runs++;
                calls += o.calls();
                bad += o.bad().size() + o.badCalls().size();
                listed += o.listed().size();
                for (Difference d : o.listed()) listedByName.merge(d.name(), 1, Integer::sum);
                for (Difference d : o.badCalls()) badByName.merge(d.name(), 1, Integer::sum);
                for (String b : o.bad()) badByName.merge("(run)", 1, Integer::sum);
            }
        }
        System.out.println("TOTAL: " + runs + " herd runs, " + calls + " calls compared, " + bad + " bad, " + listed + " listed");
        System.out.println("bad by syscall: " + badByName);
        System.out.println("listed by syscall: " + listedByName);
        System.exit(bad == 0 ? 0 : 1);
    }

    static List<Long> parseSeeds(String spec) {
        List<Long> out = new ArrayList<>();
        for (String part : spec.split(",")) {
            int dash = part.indexOf('-', 1);
            if (dash > 0) {
                for (long s = Long.parseLong(part.substring(0, dash)); s <= Long.parseLong(part.substring(dash + 1)); s++) out.add(s);
            } else {
                out.add(Long.parseLong(part));
            }
        }
        return out;
    }
}
