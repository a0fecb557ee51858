package dev.herd.stresstests.fuzz;

import java.io.File;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * The ELF fuzzer: for case {@code i} of a campaign with seed {@code S} it takes seed file
 * {@code seeds[i % seeds.size()]}, mutates it with {@link ElfMutator} and per-case seed
 * {@link ElfMutator#caseSeed caseSeed(S, i)}, writes the mutant into a fresh directory, runs it
 * natively and under {@code bin/herd run} (both bounded, the process tree killed on timeout; as
 * user nobody through {@code setpriv} when running as root; {@code exec_raw} does the exec so
 * Linux's own verdict on the file is seen) and classifies the pair of outcomes.
 *
 * <p>Bad outcomes (they fail the campaign): a JVM crash or death, a Java stack trace, "herd:
 * internal error", a hang under herd that native does not share, a refusal that is not status
 * 126/127 with exactly one "herd: ..." stderr line, Linux refusing what herd runs, herd refusing
 * what Linux runs (except the accepted cases below), and different exit statuses.
 * Accepted, counted and listed, not failing: see {@link #verdict}. A bad outcome is re-judged
 * against a second oracle, {@code qemu-x86_64-static -cpu qemu64} (the CPU model Herd's engine
 * emulates): where the host CPU and that model make the guest's libc take different code, herd
 * must end as QEMU does ({@link #sameAsQemu}).
 *
 * <p>No JUnit here: {@code scripts/fuzz.sh} runs {@link #main} from the compiled test classes.
 */
public final class ElfFuzzer {

    /** Campaign settings. */
    public record Config(Path root, Path execRaw, List<Path> seeds, long campaignSeed, long start, int count,
                         int parallelism, Duration herdTimeout, Duration nativeTimeout, Path work, String mode,
                         boolean keepAll, PrintStream out) {
        public List<String> reproduce(long index) {
            List<String> c = new ArrayList<>(List.of("scripts/fuzz.sh", "--seed", Long.toString(campaignSeed),
                    "--case", Long.toString(index)));
            if (!seeds.equals(defaultSeeds(root))) {
                c.add("--seeds");
                c.add(String.join(",", seeds.stream().map(Path::toString).toList()));
            }
            return c;
        }
    }

    /** hello (static), hello-static-pie, /usr/bin/true (dynamic, PIE, with PT_INTERP). */
    public static List<Path> defaultSeeds(Path root) {
        Path guests = root.resolve("stress-tests/target/guests");
        return List.of(guests.resolve("hello"), guests.resolve("hello-static-pie"), Path.of("/usr/bin/true"));
    }

    enum Kind { REFUSED, EXIT, SIGNAL, TIMEOUT, JVM_CRASH, JAVA_TRACE, INTERNAL, BAD_REFUSAL }

    /** What one run did. {@code code}: exit status, signal number, or errno for a native refusal. */
    record Outcome(Kind kind, int code, String detail, String stdout, String stderr, long millis) {
        String brief() {
            return switch (kind) {
                case REFUSED -> "refused(" + (detail.length() > 90 ? detail.substring(0, 90) + "..." : detail) + ")";
                case EXIT -> "exit " + code;
                case SIGNAL -> "signal " + code;
                default -> kind.name().toLowerCase() + (detail.isEmpty() ? "" : "(" + detail + ")");
            };
        }
    }

    /** One classified case. */
    record CaseResult(long index, Path seedFile, String mutation, Outcome nat, Outcome herd, String verdict, Path dir) {
        boolean bad() { return verdict.startsWith("BAD"); }
    }

    /** Totals of a campaign. */
    public record Summary(int cases, int bad, Map<String, Integer> verdicts, List<String> badLines) {}

    /**
     * JVM options of the herd runs: C1 only and the Serial GC halve the CPU a short herd run costs
     * (measured: 2.3 s to 1.1 s of CPU for hello), which is what bounds a campaign on a shared
     * machine. Herd's behaviour does not depend on them. {@code -Dherd.fuzz.javaOpts=} overrides.
     */
    static final String HERD_JAVA_OPTS = System.getProperty("herd.fuzz.javaOpts",
            "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC");

    private final Config cfg;
    private final ElfMutator mutator;
    private final List<byte[]> seedBytes = new ArrayList<>();
    private final boolean root;

    public ElfFuzzer(Config cfg) throws IOException {
        this.cfg = cfg;
        for (Path s : cfg.seeds()) {
            if (!Files.isRegularFile(s)) throw new IOException("seed file missing: " + s + " (build first: mvn -DskipTests package)");
            seedBytes.add(Files.readAllBytes(s));
        }
        if (!Files.isExecutable(cfg.execRaw())) {
            throw new IOException("exec_raw missing: " + cfg.execRaw() + " (built with the guests by mvn -DskipTests package)");
        }
        this.mutator = new ElfMutator(ElfMutator.Paths.host(cfg.seeds().getFirst().toString()));
        Files.createDirectories(cfg.work());
        Files.setPosixFilePermissions(cfg.work(), PosixFilePermissions.fromString("rwxr-xr-x"));
        this.root = "root".equals(System.getProperty("user.name")) && new File("/usr/bin/setpriv").canExecute();
    }

    /** Runs the campaign; prints progress, every bad case with its reproduce command, and totals. */
    public Summary run() throws IOException, InterruptedException {
        Path report = cfg.work().resolve("report.tsv");
        cfg.out().printf("elf-fuzz: %d mutants from case %d, seed %d, %d at a time, herd --mode %s, %s; report %s%n",
                cfg.count(), cfg.start(), cfg.campaignSeed(), cfg.parallelism(), cfg.mode(),
                root ? "native and herd as user nobody (setpriv)" : "as the current user", report);
        ExecutorService pool = Executors.newFixedThreadPool(cfg.parallelism());
        List<Future<CaseResult>> futures = new ArrayList<>();
        for (long i = cfg.start(); i < cfg.start() + cfg.count(); i++) {
            long index = i;
            futures.add(pool.submit(() -> {
                try {
                    return runCase(index);
                } catch (IOException | RuntimeException e) { // a fuzzer bug: report the case, go on
                    Outcome none = new Outcome(Kind.INTERNAL, 0, "", "", "", 0);
                    return new CaseResult(index, cfg.seeds().get((int) Math.floorMod(index, (long) cfg.seeds().size())),
                            "?", none, none, "BAD fuzzer error: " + e, cfg.work());
                }
            }));
        }
        pool.shutdown();
        Map<String, Integer> verdicts = new TreeMap<>();
        List<String> badLines = new ArrayList<>();
        int done = 0;
        try (pool; PrintStream tsv = new PrintStream(Files.newOutputStream(report), true, StandardCharsets.UTF_8)) {
            tsv.println("index\tseed_file\tmutation\tnative\therd\tverdict\tnative_ms\therd_ms");
            for (Future<CaseResult> f : futures) {
                CaseResult r;
                try {
                    r = f.get();
                } catch (InterruptedException e) { // e.g. the JUnit timeout: drop the queued cases
                    pool.shutdownNow();
                    throw e;
                } catch (java.util.concurrent.ExecutionException e) {
                    throw new IOException("fuzzer failure: " + e.getCause(), e.getCause());
                }
                done++;
                verdicts.merge(r.verdict().replaceAll(" \\(.*", ""), 1, Integer::sum);
                tsv.println(r.index() + "\t" + r.seedFile().getFileName() + "\t" + r.mutation() + "\t"
                        + r.nat().brief() + "\t" + r.herd().brief() + "\t" + r.verdict() + "\t" + r.nat().millis()
                        + "\t" + r.herd().millis());
                if (r.bad()) {
                    String line = String.format("case %d [%s] %s%n    native: %s%n    herd:   %s%n    %s%n    reproduce: %s",
                            r.index(), r.seedFile().getFileName(), r.mutation(), r.nat().brief(), r.herd().brief(),
                            r.verdict(), String.join(" ", cfg.reproduce(r.index())));
                    if (!r.herd().stderr().isEmpty()) {
                        line += "\n    herd stderr: " + abbreviate(r.herd().stderr().strip().replace("\n", "\n                 "), 1500);
                    }
                    badLines.add(line);
                    cfg.out().println("BAD " + line);
                }
                if (done % 100 == 0) cfg.out().printf("elf-fuzz: %d/%d done, %d bad%n", done, cfg.count(), badLines.size());
            }
        }
        cfg.out().println("elf-fuzz: " + done + " mutants, " + badLines.size() + " bad; verdicts:");
        verdicts.forEach((k, v) -> cfg.out().printf("  %6d  %s%n", v, k));
        return new Summary(done, badLines.size(), verdicts, badLines);
    }

    /** Builds, runs and classifies case {@code index}; its directory is deleted unless it is bad or keepAll. */
    CaseResult runCase(long index) throws IOException {
        int s = (int) Math.floorMod(index, (long) seedBytes.size());
        Path seedFile = cfg.seeds().get(s);
        ElfMutator.Mutant m = mutator.mutate(seedBytes.get(s), ElfMutator.caseSeed(cfg.campaignSeed(), index));
        Path dir = cfg.work().resolve("case-" + index);
        deleteTree(dir);
        Files.createDirectories(dir);
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path tmp = Files.createDirectories(dir.resolve("tmp"));
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxrwxrwx"));
        Path prog = dir.resolve("prog");
        Files.write(prog, m.bytes());
        Files.setPosixFilePermissions(prog, PosixFilePermissions.fromString("rwxr-xr-x"));
        if (m.companionName() != null) {
            Files.copy(Path.of(m.companionSource()), dir.resolve(m.companionName()), StandardCopyOption.REPLACE_EXISTING);
        }
        Map<String, String> env = new LinkedHashMap<>();
        env.put("PATH", "/usr/bin:/bin");
        env.put("HOME", tmp.toString());
        env.put("TMPDIR", tmp.toString());
        env.put("LANG", "C");
        env.put("LC_ALL", "C");

        Outcome nat = classifyNative(exec(List.of("./prog"), dir, env, cfg.nativeTimeout()));
        // ETXTBSY: a process another fuzzer thread was forking at the moment inherited our write
        // descriptor of prog for an instant (the JDK's fork/exec race); try again.
        for (int retry = 0; retry < 20 && nat.kind() == Kind.REFUSED && nat.code() == 26; retry++) {
            sleep(50);
            nat = classifyNative(exec(List.of("./prog"), dir, env, cfg.nativeTimeout()));
        }
        Map<String, String> herdEnv = new LinkedHashMap<>(env);
        herdEnv.put("JAVA_HOME", System.getProperty("java.home"));
        if (!HERD_JAVA_OPTS.isEmpty()) herdEnv.put("HERD_JAVA_OPTS", HERD_JAVA_OPTS);
        List<String> herdCmd = List.of(cfg.root().resolve("bin/herd").toString(), "run", "--mode", cfg.mode(), "./prog");
        Outcome herd = classifyHerd(exec(herdCmd, dir, herdEnv, cfg.herdTimeout()), tmp);
        if (herd.kind() == Kind.TIMEOUT && nat.kind() != Kind.TIMEOUT) {
            // On a loaded machine a herd run (a JVM start) can take longer than the bound: a
            // hang must also outlast a second run with four times the bound.
            herd = classifyHerd(exec(herdCmd, dir, herdEnv, cfg.herdTimeout().multipliedBy(4)), tmp);
        }
        String verdict = verdict(m.description(), nat, herd);
        if (verdict.startsWith("BAD") && nat.kind() == Kind.SIGNAL && Files.isExecutable(QEMU)) {
            // A second oracle for crashes that depend on the CPU: Herd emulates QEMU's qemu64
            // model, not the host CPU, so glibc may pick other code (memcpy variants...) and a
            // broken file may crash another way. qemu-x86_64 with that model is the reference then.
            // Only for native crashes: QEMU's own syscall emulation differs from Linux elsewhere
            // (seed 1 case 2899: its mprotect accepted what Linux refuses).
            Outcome q = classifyNative(exec(List.of(QEMU.toString(), "-cpu", "qemu64", "./prog"), dir, env, cfg.herdTimeout()));
            if (sameAsQemu(q, herd)) verdict = "ok same as qemu-x86_64 -cpu qemu64 (the CPU model Herd emulates)";
        }
        CaseResult r = new CaseResult(index, seedFile, m.description(), nat, herd, verdict, dir);
        if (!r.bad() && !cfg.keepAll()) deleteTree(dir);
        return r;
    }

    static final Path QEMU = Path.of("/usr/bin/qemu-x86_64-static");

    /**
     * Whether herd ended as qemu-x86_64 did: the same exit status, or the same signal (herd's
     * death by a signal the guest sent itself has no report line and shows as status 128+N), with
     * the same stdout and the same stderr apart from the emulators' own report lines.
     */
    static boolean sameAsQemu(Outcome q, Outcome herd) {
        int herdSignal = switch (herd.kind()) {
            case SIGNAL -> herd.code();
            case JVM_CRASH -> herd.detail().endsWith("without a herd report line") ? herd.code() - 128 : -1;
            default -> -1;
        };
        boolean same = q.kind() == Kind.SIGNAL ? herdSignal == q.code()
                : q.kind() == Kind.EXIT && herd.kind() == Kind.EXIT && herd.code() == q.code();
        return same && q.stdout().equals(herd.stdout()) && withoutEmulatorLines(q.stderr()).equals(withoutEmulatorLines(herd.stderr()));
    }

    private static String withoutEmulatorLines(String err) {
        StringBuilder b = new StringBuilder();
        err.lines().filter(l -> !l.startsWith("herd: ") && !l.startsWith("qemu: ") && !l.startsWith("qemu-x86_64-static: "))
                .forEach(l -> b.append(l).append('\n'));
        return b.toString();
    }

    /** Decides, for a pair of outcomes, whether herd behaved acceptably; see the class comment. */
    static String verdict(String mutation, Outcome nat, Outcome herd) {
        // A signal the guest sends itself (abort's SIGABRT, kill(getpid(), ...)) ends herd as it
        // ends the process on Linux: status 128+N and no report line (only faults get one). It is
        // the guest's own death, not the JVM's, when native died by the same signal with the same
        // stderr (a JVM dying by a signal without a fatal-error report would differ there).
        if (herd.kind() == Kind.JVM_CRASH && herd.detail().endsWith("without a herd report line")
                && nat.kind() == Kind.SIGNAL && nat.code() == herd.code() - 128 && nat.stderr().equals(herd.stderr())
                && nat.stdout().equals(herd.stdout())) {
            return "ok same signal, sent by the guest itself (no report line, as on Linux)";
        }
        switch (herd.kind()) {
            case JVM_CRASH, JAVA_TRACE, INTERNAL, BAD_REFUSAL -> { return "BAD " + herd.kind().name().toLowerCase(); }
            case TIMEOUT -> {
                return nat.kind() == Kind.TIMEOUT ? "ok both hang" : "BAD herd hangs (native: " + nat.brief() + ")";
            }
            default -> { }
        }
        if (nat.kind() == Kind.TIMEOUT) return "ok native hangs, herd " + herd.kind().name().toLowerCase();
        boolean natRefused = nat.kind() == Kind.REFUSED, herdRefused = herd.kind() == Kind.REFUSED;
        if (natRefused && herdRefused) return "ok both refuse";
        if (natRefused) return "BAD linux refuses (" + nat.detail() + ") but herd runs it";
        if (herdRefused) {
            String why = herd.detail();
            // Linux commits to the new image before mapping the segments ("point of no return");
            // a mapping that fails after that kills the process (SIGSEGV or SIGKILL) before its
            // first instruction. Herd refuses such files up front: same class "cannot run".
            if (nat.kind() == Kind.SIGNAL && nat.stdout().isEmpty()
                    && (nat.code() == 9 || nat.code() == 11 || nat.code() == 7)) {
                return "ok linux kills it at exec or first instruction, herd refuses";
            }
            // ElfFile is deliberately stricter than load_elf_binary (its class comment): overlapping
            // or unsorted PT_LOADs are refused with one clear message.
            if (why.contains("overlaps PT_LOAD") || why.contains("not sorted by address")) {
                return "ok herd stricter: overlapping or unsorted PT_LOADs";
            }
            // An ET_EXEC interpreter at the program's own addresses: Linux maps it over the
            // program (MAP_FIXED) and runs it; Herd refuses the clash.
            if (why.startsWith("ELF interpreter") && why.contains("overlaps an existing mapping")) {
                return "ok herd stricter: interpreter overlaps the program";
            }
            // Also deliberate (ElfFile's class comment; private file mappings are copied at load
            // time): a PT_LOAD whose file range runs past the end of the file. Linux maps it and
            // the program gets SIGBUS only if it touches a page wholly past the end.
            if (why.contains("extends past end of file")) {
                return "ok herd stricter: PT_LOAD file range past the end of the file";
            }
            // Herd's guest address space is 1 TiB where Linux's user space is 128 TiB (README,
            // "Measured limits"): an alignment or address beyond it cannot be placed.
            if (why.contains("does not fit in the guest address space")) {
                return "known: beyond Herd's 1 TiB guest address space (Linux: 128 TiB)";
            }
            return "BAD herd refuses (" + why + ") but linux runs it (" + nat.brief() + ")";
        }
        // Both executed.
        if (nat.kind() == Kind.EXIT && herd.kind() == Kind.EXIT) {
            if (nat.code() != herd.code()) return "BAD exit status differs";
            if (!nat.stdout().equals(herd.stdout())) return "BAD stdout differs";
            return "ok same exit";
        }
        if (nat.kind() == Kind.SIGNAL && herd.kind() == Kind.SIGNAL) {
            if (nat.code() == herd.code()) return "ok same signal";
            // Garbage executed as code: both die by a fault signal; which one depends on the
            // decoder (Unicorn's TCG vs the CPU), e.g. SIGSEGV vs SIGILL.
            return "ok both die by a fault signal (native " + nat.code() + ", herd " + herd.code() + ")";
        }
        // e_entry moved into the middle of an instruction: Linux faults on a privileged instruction
        // (in, out, hlt, cli, ...) that Herd's engine executes, since guest code runs at the
        // engine's CPL 0 (README, "Measured limits").
        if (mutation.contains("e_entry=") && nat.kind() == Kind.SIGNAL && nat.code() == 11) {
            return "known: privileged instruction runs at the engine's CPL 0 (native SIGSEGV) [BAD outcome differs]";
        }
        return "BAD outcome differs";
    }

    /** Runs {@code cmd} through exec_raw (and setpriv to nobody when root), bounded in time. */
    Raw exec(List<String> cmd, Path dir, Map<String, String> env, Duration timeout) throws IOException {
        List<String> full = new ArrayList<>();
        if (root) full.addAll(List.of("/usr/bin/setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"));
        full.add(cfg.execRaw().toString());
        full.addAll(cmd);
        Path out = dir.resolve("stdout.txt"), err = dir.resolve("stderr.txt");
        ProcessBuilder pb = new ProcessBuilder(full).directory(dir.toFile());
        pb.environment().clear();
        pb.environment().putAll(env);
        pb.redirectInput(new File("/dev/null"));
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
            throw new IOException("interrupted", e);
        }
        if (!done) killTree(p);
        long ms = (System.nanoTime() - t0) / 1_000_000;
        String o = readCapped(out), e = readCapped(err);
        Files.deleteIfExists(out);
        Files.deleteIfExists(err);
        return new Raw(done ? p.exitValue() : -1, !done, o, e, ms);
    }

    record Raw(int status, boolean timedOut, String stdout, String stderr, long millis) {}

    static Outcome classifyNative(Raw r) {
        if (r.timedOut()) return new Outcome(Kind.TIMEOUT, 0, "", r.stdout(), r.stderr(), r.millis());
        if (r.status() == 126 && r.stderr().startsWith("exec_raw: execve failed")) {
            String line = r.stderr().lines().findFirst().orElse("");
            int errno = 0;
            java.util.regex.Matcher mm = java.util.regex.Pattern.compile("errno=(\\d+) \\((.*)\\)").matcher(line);
            String msg = line;
            if (mm.find()) {
                errno = Integer.parseInt(mm.group(1));
                msg = mm.group(2);
            }
            return new Outcome(Kind.REFUSED, errno, msg, r.stdout(), r.stderr(), r.millis());
        }
        if (r.status() > 128) return new Outcome(Kind.SIGNAL, r.status() - 128, "", r.stdout(), r.stderr(), r.millis());
        return new Outcome(Kind.EXIT, r.status(), "", r.stdout(), r.stderr(), r.millis());
    }

    static Outcome classifyHerd(Raw r, Path tmp) throws IOException {
        String err = r.stderr();
        List<String> hsErr;
        try (Stream<Path> s = Files.list(tmp)) {
            hsErr = s.map(p -> p.getFileName().toString()).filter(n -> n.contains("hs_err")).toList();
        }
        if (!hsErr.isEmpty() || err.contains("A fatal error has been detected")) {
            return new Outcome(Kind.JVM_CRASH, r.status(), String.join(",", hsErr), r.stdout(), err, r.millis());
        }
        if (err.contains("Exception in thread") || err.contains("\tat ") || err.contains("at dev.herd")) {
            return new Outcome(Kind.JAVA_TRACE, r.status(), "", r.stdout(), err, r.millis());
        }
        if (err.contains("herd: internal error") || r.status() == 70) {
            return new Outcome(Kind.INTERNAL, r.status(), firstLine(err), r.stdout(), err, r.millis());
        }
        if (r.timedOut()) return new Outcome(Kind.TIMEOUT, 0, "", r.stdout(), err, r.millis());
        List<String> lines = err.lines().toList();
        // 126/127 with no "herd:" line at all is the guest's own exit status (ld.so exits 127
        // when it cannot load a library, for instance): handled below as an exit.
        if ((r.status() == 126 || r.status() == 127) && lines.stream().anyMatch(l -> l.startsWith("herd: "))) {
            boolean clean = lines.size() == 1 && lines.getFirst().startsWith("herd: ") && r.stdout().isEmpty();
            if (!clean) return new Outcome(Kind.BAD_REFUSAL, r.status(), lines.size() + " stderr lines", r.stdout(), err, r.millis());
            return new Outcome(Kind.REFUSED, r.status(), lines.getFirst().replaceFirst("^herd: \\./prog: ", ""),
                    r.stdout(), err, r.millis());
        }
        if (r.status() > 128) {
            // A guest killed by a signal: herd prints one report line. A signal death without it
            // is the JVM itself dying.
            if (lines.stream().noneMatch(l -> l.startsWith("herd: "))) {
                return new Outcome(Kind.JVM_CRASH, r.status(), "JVM died by signal " + (r.status() - 128)
                        + " without a herd report line", r.stdout(), err, r.millis());
            }
            return new Outcome(Kind.SIGNAL, r.status() - 128, "", r.stdout(), err, r.millis());
        }
        return new Outcome(Kind.EXIT, r.status(), "", r.stdout(), err, r.millis());
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static String firstLine(String s) {
        return s.lines().filter(l -> l.contains("internal error")).findFirst().orElse(s.lines().findFirst().orElse(""));
    }

    private static String readCapped(Path p) throws IOException {
        byte[] all = Files.readAllBytes(p);
        int n = Math.min(all.length, 64 * 1024);
        return new String(all, 0, n, StandardCharsets.UTF_8);
    }

    private static String abbreviate(String s, int max) {
        return s.length() <= max ? s : s.substring(0, max) + "...";
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

    static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)) return;
        try (Stream<Path> s = Files.walk(p)) {
            for (Path q : s.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(q);
        }
    }

    /**
     * {@code ElfFuzzer --root DIR [--count N] [--seed S] [--start I | --case I] [--jobs P]
     * [--seeds a,b,c] [--mode parallel|serial] [--herd-timeout SEC] [--native-timeout SEC]
     * [--work DIR] [--keep]}. Exit status 0 if no case was bad, 1 otherwise, 2 on a usage error.
     * {@code --case I} runs case I alone, keeps its directory and prints both runs in full.
     */
    public static void main(String[] args) throws Exception {
        Path root = Path.of(".");
        int count = 2000, jobs = 2;
        long seed = 1, start = 0;
        Long single = null;
        String mode = "parallel";
        List<Path> seeds = null;
        Duration herdTimeout = Duration.ofSeconds(20), nativeTimeout = Duration.ofSeconds(10);
        Path work = null;
        boolean keep = false;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            switch (a) {
                case "--root" -> root = Path.of(args[++i]);
                case "--count" -> count = Integer.parseInt(args[++i]);
                case "--seed" -> seed = Long.parseLong(args[++i]);
                case "--start" -> start = Long.parseLong(args[++i]);
                case "--case" -> single = Long.parseLong(args[++i]);
                case "--jobs" -> jobs = Integer.parseInt(args[++i]);
                case "--mode" -> mode = args[++i];
                case "--seeds" -> seeds = Stream.of(args[++i].split(",")).map(Path::of).toList();
                case "--herd-timeout" -> herdTimeout = Duration.ofSeconds(Long.parseLong(args[++i]));
                case "--native-timeout" -> nativeTimeout = Duration.ofSeconds(Long.parseLong(args[++i]));
                case "--work" -> work = Path.of(args[++i]);
                case "--keep" -> keep = true;
                default -> {
                    System.err.println("elf-fuzz: unknown argument " + a);
                    System.exit(2);
                }
            }
        }
        root = root.toAbsolutePath().normalize();
        if (seeds == null) seeds = defaultSeeds(root);
        if (work == null) work = Files.createTempDirectory("herd-elf-fuzz-");
        if (single != null) {
            start = single;
            count = 1;
            keep = true;
        }
        Config cfg = new Config(root, root.resolve("stress-tests/target/guests/exec_raw"), seeds, seed, start, count,
                jobs, herdTimeout, nativeTimeout, work, mode, keep, System.out);
        ElfFuzzer f = new ElfFuzzer(cfg);
        if (single != null) {
            CaseResult r = f.runCase(single);
            System.out.println("case " + single + " of seed " + seed + ": " + r.seedFile() + " mutated: " + r.mutation());
            System.out.println("mutant: " + r.dir().resolve("prog") + " (directory kept)");
            for (var e : List.of(Map.entry("native", r.nat()), Map.entry("herd", r.herd()))) {
                Outcome o = e.getValue();
                System.out.println(e.getKey() + ": " + o.brief() + " in " + o.millis() + " ms");
                System.out.print(indent("stdout", o.stdout()));
                System.out.print(indent("stderr", o.stderr()));
            }
            System.out.println("verdict: " + r.verdict());
            System.exit(r.bad() ? 1 : 0);
        }
        Summary s = f.run();
        if (s.bad() == 0 && !keep) deleteTree(work);
        else System.out.println("elf-fuzz: kept " + work);
        System.exit(s.bad() == 0 ? 0 : 1);
    }

    private static String indent(String what, String s) {
        if (s.isEmpty()) return "  " + what + ": (empty)\n";
        StringBuilder b = new StringBuilder("  " + what + ":\n");
        s.lines().limit(40).forEach(l -> b.append("    | ").append(l).append('\n'));
        return b.toString();
    }
}
