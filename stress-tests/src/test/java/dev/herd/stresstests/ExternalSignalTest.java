package dev.herd.stresstests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A signal sent to {@code bin/herd} from outside (kill, a terminal's Ctrl-C) reaches the guest: a
 * guest handler runs (the JVM does not shut down instead), an unhandled one ends the guest with
 * 128+N, and after an execve it reaches the program now running in the child Herd.
 */
class ExternalSignalTest {
    private Path base;

    @BeforeEach
    void setUp() throws IOException {
        HerdEnv.requireHerd();
        base = Differential.newRunDirectory("external-signal");
    }

    @AfterEach
    void tearDown() throws IOException {
        Differential.deleteTree(base);
    }

    /** Runs herd on argv, sends {@code signal} once the guest printed "ready"; returns {status, output}. */
    private Object[] runAndSignal(Mode mode, String signal, String... argv) throws Exception {
        return runAndSignal(GuestRun.herdCommand(mode, List.of(argv)), signal);
    }

    /** As a shell starts a background job: {@code command} with SIGINT, SIGQUIT and SIGHUP ignored. */
    private static List<String> ignoringIntQuitHup(List<String> command) {
        List<String> c = new ArrayList<>(List.of("/bin/sh", "-c", "trap '' INT QUIT HUP; exec \"$@\"", "sh"));
        c.addAll(command);
        return c;
    }

    private Object[] runAndSignal(List<String> command, String signal) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(command);
        pb.directory(base.toFile());
        pb.environment().clear();
        pb.environment().putAll(HerdEnv.guestEnvironment(base));
        pb.redirectErrorStream(true);
        Process p = pb.start();
        List<String> lines = new ArrayList<>();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            String line = r.readLine();
            assertEquals("ready", line, "the guest starts");
            lines.add(line);
            Process kill = new ProcessBuilder("kill", "-" + signal, Long.toString(p.pid())).inheritIO().start();
            assertTrue(kill.waitFor(30, TimeUnit.SECONDS) && kill.exitValue() == 0, "kill -" + signal);
            for (String l; (l = r.readLine()) != null; ) lines.add(l);
        }
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "herd ends");
        return new Object[]{p.exitValue(), String.join("\n", lines)};
    }

    private static String guest(String name) {
        return HerdEnv.guest(name).toString();
    }

    @ParameterizedTest
    @EnumSource(Mode.class)
    void handledTermRunsTheGuestHandler(Mode mode) throws Exception {
        Object[] r = runAndSignal(mode, "TERM", guest("sig_external"), "handle");
        assertEquals(7, r[0], (String) r[1]);
        assertEquals("ready\ngot signal 15", r[1]);
    }

    @ParameterizedTest
    @EnumSource(Mode.class)
    void handledIntRunsTheGuestHandler(Mode mode) throws Exception {
        Object[] r = runAndSignal(mode, "INT", guest("sig_external"), "handle");
        assertEquals(7, r[0], (String) r[1]);
        assertEquals("ready\ngot signal 2", r[1]);
    }

    /** SIGUSR2 is HotSpot's suspend signal unless moved (bin/herd moves it: HostSignalCarrier). */
    @ParameterizedTest
    @EnumSource(Mode.class)
    void handledUsr2RunsTheGuestHandler(Mode mode) throws Exception {
        Object[] r = runAndSignal(mode, "USR2", guest("sig_external"), "handle");
        assertEquals(7, r[0], (String) r[1]);
        assertEquals("ready\ngot signal 12", r[1]);
    }

    @ParameterizedTest
    @EnumSource(Mode.class)
    void handledRealTimeSignalRunsTheGuestHandler(Mode mode) throws Exception {
        Object[] r = runAndSignal(mode, "37", guest("sig_external"), "handle"); // SIGRTMIN+3 (glibc's SIGRTMIN is 34)
        assertEquals(7, r[0], (String) r[1]);
        assertEquals("ready\ngot signal 37", r[1]);
    }

    @ParameterizedTest
    @EnumSource(Mode.class)
    void unhandledUsr2EndsTheGuestWith140(Mode mode) throws Exception {
        Object[] r = runAndSignal(mode, "USR2", guest("sig_external"));
        assertEquals(140, r[0], (String) r[1]);
        assertEquals("ready", r[1]);
    }

    @ParameterizedTest
    @EnumSource(Mode.class)
    void aHandlerGetsIntEvenWhenHerdStartedWithIntIgnored(Mode mode) throws Exception {
        // The JVM never handles a shutdown signal that was ignored at its start; Herd must.
        Object[] r = runAndSignal(ignoringIntQuitHup(GuestRun.herdCommand(mode, List.of(guest("sig_external"), "handle"))), "INT");
        assertEquals(7, r[0], (String) r[1]);
        assertEquals("ready\ngot signal 2", r[1]);
    }

    @ParameterizedTest
    @EnumSource(Mode.class)
    void signalsIgnoredAtStartAreIgnoredByTheGuestAsNatively(Mode mode) throws Exception {
        GuestRun.Result nat = GuestRun.run(ignoringIntQuitHup(List.of(guest("sig_external"), "report")), base, null,
                HerdEnv.guestEnvironment(base), HerdEnv.TIMEOUT);
        assertEquals("ignored at start: 1 2 3\n", nat.stdoutText(), "native (fixture check)");
        GuestRun.Result herd = GuestRun.run(ignoringIntQuitHup(GuestRun.herdCommand(mode, List.of(guest("sig_external"), "report"))),
                base, null, HerdEnv.guestEnvironment(base), HerdEnv.TIMEOUT);
        GuestRun.assertSameOutcome("report [" + mode + "]", nat, herd);
    }

    @ParameterizedTest
    @EnumSource(Mode.class)
    void unhandledTermEndsTheGuestWith143(Mode mode) throws Exception {
        Object[] r = runAndSignal(mode, "TERM", guest("sig_external"));
        assertEquals(143, r[0], (String) r[1]);
        assertEquals("ready", r[1]);
    }

    @ParameterizedTest
    @EnumSource(Mode.class)
    void afterExecveTheSignalReachesTheNewImage(Mode mode) throws Exception {
        Object[] r = runAndSignal(mode, "TERM", "/usr/bin/env", guest("sig_external"), "handle");
        assertEquals(7, r[0], (String) r[1]);
        assertEquals("ready\ngot signal 15", r[1]);
    }
}
