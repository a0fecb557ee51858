package dev.herd.stresstests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * aarch64 guests under herd against {@code qemu-aarch64-static}, the oracle where native runs are
 * impossible: the C guests of stress-tests/src/main/c built for aarch64 (static, and one dynamic
 * against the cross libc with {@code --rootfs}/{@code -L /usr/aarch64-linux-gnu}), in both modes.
 *
 * <p>Two rules. A guest that checks itself (prints {@code ok:}/{@code FAIL:} lines and a
 * {@code RESULT:} line; its checks are Linux's behaviour, verified natively on x86_64 by
 * {@link CProgramsTest}) must pass every check under herd, and make the same checks in the same
 * order as under qemu (an errno expectation prints a line only when it fails, so qemu's extra
 * failures need no counterpart); where qemu fails one of them, qemu-user is the one that deviates from Linux
 * (Debian's qemu 7.2 lacks epoll_pwait2, MAP_FIXED_NOREPLACE, SHM_REMAP's EINVAL, ...), and the
 * test prints those deviations. Every other guest must print exactly what it prints under qemu
 * and exit the same way (for a death by signal: the same status and stdout; the report line on
 * stderr is each runtime's own).
 */
class Aarch64ProgramsTest {
    static final Path QEMU = Path.of("/usr/bin/qemu-aarch64-static");
    static final Path CROSS_ROOT = Path.of("/usr/aarch64-linux-gnu");
    /**
     * The reference run's bound: qemu-user is slow where herd is not (huge mappings: see
     * {@link #NATIVE_ORACLE}), and a reference that times out says nothing of herd.
     */
    private static final java.time.Duration ORACLE_TIMEOUT = HerdEnv.TIMEOUT.multipliedBy(3);

    /** Guests whose output depends on something herd and qemu-user legitimately do differently. */
    private static final Set<String> NOT_COMPARED = Set.of(
            "crash",       // the report line of an unhandled fault is each runtime's own
            "enosys",      // herd warns on stderr about unimplemented numbers
            "exec",        // qemu-user without binfmt_misc cannot execve an aarch64 image (ENOEXEC); herd can
            "exec_same",   // the same; self-checked under herd below
            "stdio_closed", // the same
            "exec_threads", // the same
            "proc_other",  // the same (its child is itself); self-checked under herd below
            "spawn_warm",  // the same (its children are itself); self-checked under herd below
            "openat2",     // the same: its second half runs after an execve of itself
            "net_proxy",   // the same (its last stage); ProxyProgramsTest runs it against qemu with no-exec
            "fork_limit",  // Herd's process limit is its own (ForkProgramsTest)
            "vfork_spawn", // its children run host programs under qemu; its own test below, in the arm64 rootfs
            "thr_spawn",   // the same: its children are the host's /bin/sh under qemu (x86_64 guests test it)
            "aio",         // qemu-user hangs in io_getevents (killed by the timeout)
            "sig_frame",   // its own test below: qemu-user's frames deviate from Linux's in known ways
            "cpu_features", // its own test below: the advertised set is each CPU model's own
            "sig_rtqueue"); // its own test below, under the per-user signal-queue lock

    /**
     * Guests whose oracle is the native run of their x86_64 build (the same source, printing only
     * Linux's answers, no arch-specific line) instead of qemu-user: mm_hostile's 512 GiB mappings
     * take qemu-aarch64 7.2 ~30 s on an idle machine of session 20 and 3-6 minutes beside the rest
     * of the suite (it keeps flags per guest page), against ~1 s for herd and 0.1 s natively.
     */
    private static final Set<String> NATIVE_ORACLE = Set.of("mm_hostile");

    /**
     * vfork, posix_spawn and wait for an aarch64 guest (vfork_spawn.c, self-checked): its children
     * run Debian's arm64 programs from the arm64 rootfs (which has no /bin/sh: "no-shell").
     */
    @ParameterizedTest(name = "vfork_spawn [{0}]")
    @org.junit.jupiter.params.provider.EnumSource(Mode.class)
    void vforkAndPosixSpawn(Mode mode) throws IOException {
        HerdEnv.requireHerd();
        Path rootfs = Aarch64DebianProgramsTest.ROOTFS;
        assertTrue(Files.isExecutable(rootfs.resolve("bin/true")), "arm64 rootfs missing: run scripts/setup.sh");
        Path base = Differential.newRunDirectory("a64-vfork_spawn-" + mode);
        GuestRun.Result h = GuestRun.run(GuestRun.herdCommand(mode,
                        List.of(HerdEnv.GUESTS.resolve("aarch64").resolve("vfork_spawn").toString(), "no-shell"), "--rootfs", rootfs.toString()),
                base, null, HerdEnv.guestEnvironment(base), HerdEnv.TIMEOUT);
        GuestRun.assertNoJavaLeak(h);
        assertEquals(0, h.status(), h.stdoutText() + h.stderrText());
        assertTrue(h.stdoutText().endsWith("RESULT: ok\n") && !h.stdoutText().contains("FAIL"), h.stdoutText());
        Differential.deleteTree(base);
    }

    /**
     * posix_spawn's children of an aarch64 guest (spawn_warm.c, self-checked) with every spawn after
     * the first run in the warm fork spare the one before left (HERD_FORK_SPARE=wait makes the
     * spawn wait for it to boot): the spare path is checked to have been taken three times.
     */
    @ParameterizedTest(name = "spawn_warm in warm spares [{0}]")
    @org.junit.jupiter.params.provider.EnumSource(Mode.class)
    void warmSpawns(Mode mode) throws IOException {
        HerdEnv.requireHerd();
        Path base = Differential.newRunDirectory("a64-spawn_warm-" + mode);
        java.util.Map<String, String> env = new java.util.LinkedHashMap<>(HerdEnv.guestEnvironment(base));
        Path trace = base.resolve("trace.txt");
        env.put("HERD_FORK_SPARE", "wait");
        env.put("HERD_STARTUP_TRACE", trace.toString());
        GuestRun.Result h = GuestRun.run(GuestRun.herdCommand(mode,
                        List.of(HerdEnv.GUESTS.resolve("aarch64").resolve("spawn_warm").toString())),
                base, null, env, HerdEnv.TIMEOUT);
        GuestRun.assertNoJavaLeak(h);
        assertEquals(0, h.status(), h.stdoutText() + h.stderrText());
        assertTrue(h.stdoutText().endsWith("RESULT: ok\n") && !h.stdoutText().contains("FAIL"), h.stdoutText());
        assertEquals(3, ForkProgramsTest.warmSpawnsIn(trace), Files.readString(trace));
        Differential.deleteTree(base);
    }

    /** Guests that execve an aarch64 image, which qemu-user without binfmt_misc cannot. */
    static Stream<Arguments> execGuests() {
        return Stream.of("exec_same", "exec_threads", "stdio_closed", "proc_other").flatMap(n -> Stream.of(Mode.values()).map(m -> Arguments.of(n, m)));
    }

    /**
     * What an execve keeps and drops of an aarch64 process (exec_same.c; exec_threads.c with four
     * other threads), and a closed fd 0 across
     * posix_spawn and execve (stdio_closed.c), another process's /proc files (proc_other.c): self-checked, the x86_64 builds are compared with
     * native by CProgramsTest.
     */
    @ParameterizedTest(name = "{0} [{1}]")
    @MethodSource("execGuests")
    void execGuestsSelfChecked(String name, Mode mode) throws IOException {
        HerdEnv.requireHerd();
        Path base = Differential.newRunDirectory("a64-" + name + "-" + mode);
        GuestRun.Result h = GuestRun.run(GuestRun.herdCommand(mode,
                        List.of(HerdEnv.GUESTS.resolve("aarch64").resolve(name).toString())),
                base, null, HerdEnv.guestEnvironment(base), HerdEnv.TIMEOUT);
        GuestRun.assertNoJavaLeak(h);
        assertEquals(0, h.status(), h.stdoutText() + h.stderrText());
        assertTrue(h.stdoutText().endsWith("RESULT: ok\n") && !h.stdoutText().contains("FAIL"), h.stdoutText());
        Differential.deleteTree(base);
    }

    static Stream<String> guests() throws IOException {
        Path dir = HerdEnv.GUESTS.resolve("aarch64");
        List<String> names = new ArrayList<>();
        if (Files.isDirectory(dir)) {
            try (Stream<Path> s = Files.list(dir)) {
                s.map(p -> p.getFileName().toString()).filter(n -> !NOT_COMPARED.contains(n)).sorted().forEach(names::add);
            }
        }
        return names.stream();
    }

    /**
     * One guest under qemu once and under herd in each mode, in the same directory and environment.
     * The oracle runs once for both modes because it is the slow side: mm_hostile took qemu ~30 s
     * on an idle machine and ~3 min beside the rest of the suite, twice when each mode had its own.
     */
    @ParameterizedTest(name = "{0} [parallel, serial]")
    @MethodSource("guests")
    @org.junit.jupiter.api.Timeout(value = 10, unit = java.util.concurrent.TimeUnit.MINUTES)
    @org.junit.jupiter.api.parallel.ResourceLock(value = CProgramsTest.USER_SIGNAL_QUEUE,
            mode = org.junit.jupiter.api.parallel.ResourceAccessMode.READ)
    void sameAsQemu(String name) throws IOException {
        HerdEnv.requireHerd();
        assertTrue(Files.isExecutable(QEMU), "qemu-aarch64-static missing: run scripts/setup.sh");
        boolean dynamic = name.startsWith("dyn_");
        Path program = HerdEnv.GUESTS.resolve("aarch64").resolve(name);
        Path base = Differential.newRunDirectory("a64-" + name);
        Path dir = base.resolve("d");
        List<String> oracle = new ArrayList<>();
        if (NATIVE_ORACLE.contains(name)) {
            oracle.add(HerdEnv.guest(name).toString());
        } else {
            oracle.add(QEMU.toString());
            if (dynamic) oracle.addAll(List.of("-L", CROSS_ROOT.toString()));
            oracle.add(program.toString());
        }
        GuestRun.Result q = GuestRun.run(oracle, emptied(dir), null, HerdEnv.guestEnvironment(base), ORACLE_TIMEOUT);
        String[] options = dynamic ? new String[]{"--rootfs", CROSS_ROOT.toString()} : new String[0];
        List<String> failures = new ArrayList<>();
        for (Mode mode : Mode.values()) {
            GuestRun.Result h = GuestRun.run(GuestRun.herdCommand(mode, List.of(program.toString()), options), emptied(dir),
                    null, HerdEnv.guestEnvironment(base), HerdEnv.TIMEOUT);
            for (int retry = 0; retry < 5 && h.status() != q.status(); retry++) {
                // qemu-user itself is not race-free: under load, 1 run in ~30 of sig_xproc ended by
                // a SIGPIPE the guest handles, and 9 runs in 40 on an idle host had the child's read
                // (SA_RESTART) fail when a SIGSEGV sent by kill arrived (status 1). When the two
                // disagree, the oracle runs again: a result the guest means to have comes again, so
                // a wrong herd still fails.
                q = GuestRun.run(oracle, emptied(dir), null, HerdEnv.guestEnvironment(base), ORACLE_TIMEOUT);
            }
            try {
                GuestRun.assertNoJavaLeak(h);
                compare("aarch64/" + name + " [" + mode + "]", q, h);
            } catch (AssertionError e) {
                failures.add(e.getMessage());
            }
        }
        if (!failures.isEmpty()) fail(String.join("\n\n", failures));
        Differential.deleteTree(base);
    }

    private static Path emptied(Path dir) throws IOException {
        Differential.deleteTree(dir);
        return Files.createDirectories(dir);
    }

    private static void compare(String what, GuestRun.Result q, GuestRun.Result h) {
        if (q.stdoutText().contains("\nRESULT: ") || q.stdoutText().startsWith("RESULT: ")) {
            selfChecked(what, q, h);
        } else if (q.status() > 128) {
            // Killed by a signal: the report line on stderr is each runtime's own.
            assertEquals(q.status(), h.status(), what + ": exit status\n" + h.stderrText());
            assertEquals(q.stdoutText(), h.stdoutText(), what + ": stdout");
        } else {
            GuestRun.assertSameOutcome(what, q, h);
        }
    }

    /**
     * What a handler sees of the arm64 signal frame (aarch64/sig_frame.c): the same as under
     * qemu-aarch64-static ({@code -cpu cortex-a72}: its default {@code max} CPU adds SVE and SME
     * records Herd's engine has no state for), except where qemu-user 7.2 deviates from Linux,
     * which is checked against Linux's own rules instead: Linux adds an esr_context record after
     * the fpsimd one for a fault (a write to a read-only page: data abort from EL0, EC 0x24, IL,
     * WnR, level-3 permission fault = 0x9200004f; undefined instruction: EC 0, IL = 0x2000000;
     * set_thread_esr sanitises only faults at kernel addresses), raises SIGILL with
     * ILL_ILLOPC (1), sets fault_address to 0 for it (arch/arm64/kernel/traps.c
     * arm64_notify_die: thread.fault_address = 0), and repeats the thread's last ESR and address
     * in later asynchronous frames (setup_sigframe reads thread.fault_code/fault_address).
     */
    @ParameterizedTest(name = "sig_frame [{0}]")
    @org.junit.jupiter.params.provider.EnumSource(Mode.class)
    void signalFrameAsLinuxBuildsIt(Mode mode) throws IOException {
        HerdEnv.requireHerd();
        Path program = HerdEnv.GUESTS.resolve("aarch64").resolve("sig_frame");
        Path base = Differential.newRunDirectory("a64-sig_frame-" + mode);
        Path dir = Files.createDirectories(base.resolve("d"));
        GuestRun.Result q = GuestRun.run(List.of(QEMU.toString(), "-cpu", "cortex-a72", program.toString()), dir, null,
                HerdEnv.guestEnvironment(base), HerdEnv.TIMEOUT);
        GuestRun.Result h = GuestRun.run(GuestRun.herdCommand(mode, List.of(program.toString())), dir, null,
                HerdEnv.guestEnvironment(base), HerdEnv.TIMEOUT);
        GuestRun.assertNoJavaLeak(h);
        assertEquals(0, q.status(), "qemu run\n" + q.stdoutText() + q.stderrText());
        assertEquals(0, h.status(), "herd run\n" + h.stdoutText() + h.stderrText());
        java.util.regex.Pattern linuxOnly = java.util.regex.Pattern.compile(
                "^(segv|ill)\\.(record\\d|esr|code|fault_address):.*|^\\w+\\.(record[12]|esr):.*|^usr1_after_faults\\.fault_address:.*");
        List<String> qLines = new ArrayList<>(), hLines = new ArrayList<>();
        for (String l : q.stdoutText().split("\n")) if (!linuxOnly.matcher(l).matches()) qLines.add(l);
        java.util.Map<String, String> linux = new java.util.HashMap<>();
        for (String l : h.stdoutText().split("\n")) {
            if (linuxOnly.matcher(l).matches()) linux.put(l.substring(0, l.indexOf(':')), l.substring(l.indexOf(':') + 1).trim());
            else hLines.add(l);
        }
        assertEquals(String.join("\n", qLines), String.join("\n", hLines), "herd's frames vs qemu's, Linux-only lines aside");
        assertEquals("magic=0x45535201 size=16 offset=528", linux.get("segv.record1"), "esr_context after fpsimd");
        assertEquals("0x9200004f", linux.get("segv.esr"), "write data abort ESR");
        assertEquals("magic=0x00000000 size=0 offset=544", linux.get("segv.record2"), "terminator");
        assertEquals("ro_page+8", linux.get("segv.fault_address"));
        assertEquals("0x2000000", linux.get("ill.esr"), "undefined-instruction ESR");
        assertEquals("1", linux.get("ill.code"), "ILL_ILLOPC");
        assertEquals("0", linux.get("ill.fault_address"));
        // Linux keeps the last fault's ESR and address per thread: a later asynchronous frame
        // repeats them (after the SIGILL: its ESR, address 0).
        assertEquals("magic=0x45535201 size=16 offset=528", linux.get("usr1_after_faults.record1"), "esr_context kept");
        assertEquals("0x2000000", linux.get("usr1_after_faults.esr"));
        assertEquals("0", linux.get("usr1_after_faults.fault_address"));
        assertEquals("0x2000000", linux.get("alt.esr"), "and on the alternate stack");
        Differential.deleteTree(base);
    }

    /**
     * Every feature herd's AT_HWCAP/AT_HWCAP2 advertise executes (aarch64/cpu_features.c runs one
     * instruction per advertised bit under a SIGILL handler), no bit outside the ones it can check
     * is advertised, and LSE atomics are among them. Not compared with qemu: its {@code max} CPU
     * advertises more (SVE, pointer authentication, ...).
     */
    @ParameterizedTest(name = "cpu_features [{0}]")
    @org.junit.jupiter.params.provider.EnumSource(Mode.class)
    void advertisedFeaturesExecute(Mode mode) throws IOException {
        HerdEnv.requireHerd();
        Path program = HerdEnv.GUESTS.resolve("aarch64").resolve("cpu_features");
        Path base = Differential.newRunDirectory("a64-cpu_features-" + mode);
        GuestRun.Result h = GuestRun.run(GuestRun.herdCommand(mode, List.of(program.toString())),
                Files.createDirectories(base.resolve("d")), null, HerdEnv.guestEnvironment(base), HerdEnv.TIMEOUT);
        GuestRun.assertNoJavaLeak(h);
        assertEquals(0, h.status(), h.stdoutText() + h.stderrText());
        assertTrue(h.stdoutText().contains("ok: advertised atomics executes"), h.stdoutText());
        assertTrue(h.stdoutText().endsWith("RESULT: ok\n"), h.stdoutText());
        Differential.deleteTree(base);
    }

    /** sig_rtqueue queues 200 signals and sets RLIMIT_SIGPENDING: see CProgramsTest.sigRtqueue. */
    @Test
    @org.junit.jupiter.api.parallel.ResourceLock(CProgramsTest.USER_SIGNAL_QUEUE)
    void sigRtqueue() throws IOException {
        sameAsQemu("sig_rtqueue");
    }

    /** Same checks in the same order, all passing under herd; qemu's failures are reported. */
    static void selfChecked(String what, GuestRun.Result q, GuestRun.Result h) {
        List<String> hChecks = checks(h.stdoutText());
        // A guest's errno expectations print a line only when they fail: a check qemu failed and
        // herd passed silently is one of qemu's deviations, not a check herd skipped.
        List<String> qChecks = new ArrayList<>();
        for (String line : q.stdoutText().split("\n")) {
            if (line.startsWith("ok: ")) qChecks.add(line.substring(4));
            else if (line.startsWith("FAIL: ")) {
                // The same check may word its measured values differently: "(returned -1)".
                String key = withoutValues(line.substring(6).replaceFirst(" \\(line \\d+, errno .*\\)$", ""));
                hChecks.stream().filter(c -> withoutValues(c).equals(key)).findFirst().ifPresent(qChecks::add);
            }
        }
        Set<String> qemuDeviations = new LinkedHashSet<>();
        for (String line : q.stdoutText().split("\n")) {
            if (line.startsWith("FAIL: ")) qemuDeviations.add(line);
        }
        StringBuilder why = new StringBuilder();
        if (h.status() != 0 || !h.stdoutText().contains("RESULT: ok")) {
            why.append("herd's run did not pass its own checks (status ").append(h.status()).append(")\n");
        }
        if (!qChecks.equals(hChecks)) {
            why.append("the checks made differ (--- qemu, +++ herd):\n")
                    .append(Diff.unified(String.join("\n", qChecks), String.join("\n", hChecks))).append('\n');
        }
        if (!why.isEmpty()) {
            fail(what + "\n  qemu: " + q.describe() + "\n  herd: " + h.describe() + "\n" + why
                    + "herd stdout:\n" + Diff.indent(h.stdoutText()) + "herd stderr:\n" + Diff.indent(h.stderrText()));
        }
        if (!qemuDeviations.isEmpty()) {
            System.out.println(what + ": qemu-aarch64-static deviates from Linux where herd does not:\n  "
                    + String.join("\n  ", qemuDeviations));
        }
        assertEquals(0, h.status());
    }

    private static String withoutValues(String check) {
        return check.replaceAll("\\s*\\([^)]*\\)", "");
    }

    /** The descriptions of the ok:/FAIL: lines, without qemu's failure details. */
    private static List<String> checks(String out) {
        List<String> l = new ArrayList<>();
        for (String line : out.split("\n")) {
            if (line.startsWith("ok: ")) l.add(line.substring(4));
            else if (line.startsWith("FAIL: ")) l.add(line.substring(6).replaceFirst(" \\(line \\d+, errno .*\\)$", ""));
        }
        return l;
    }
}
