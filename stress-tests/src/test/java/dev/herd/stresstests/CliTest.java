package dev.herd.stresstests;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * {@code bin/herd run} given something it cannot run: one line on stderr, the shell's statuses
 * (127 not found, 126 cannot execute), never a Java stack trace.
 */
class CliTest {
    private Path base;

    @BeforeEach
    void setUp() throws IOException {
        HerdEnv.requireHerd();
        base = Differential.newRunDirectory("cli");
    }

    @AfterEach
    void tearDown() throws IOException {
        Differential.deleteTree(base);
    }

    private GuestRun.Result herd(String... args) throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(HerdEnv.HERD.toString());
        cmd.addAll(Arrays.asList(args));
        GuestRun.Result r = GuestRun.run(cmd, base, null, HerdEnv.guestEnvironment(base), HerdEnv.TIMEOUT);
        GuestRun.assertNoJavaLeak(r);
        return r;
    }

    private static void assertOneLine(GuestRun.Result r, int status) {
        String what = r.describe() + "\nstderr:\n" + Diff.indent(r.stderrText());
        assertEquals(status, r.status(), "exit status: " + what);
        assertEquals(1, r.stderrText().lines().count(), "exactly one line on stderr: " + what);
        assertEquals("", r.stdoutText(), "nothing on stdout: " + what);
    }

    private Path executable(String name, byte[] content) throws IOException {
        Path p = base.resolve(name);
        Files.write(p, content);
        Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
        return p;
    }

    @Test
    void missingProgramIs127() throws IOException {
        assertOneLine(herd("run", base.resolve("no-such-program").toString()), 127);
    }

    @Test
    void textFileIs126() throws IOException {
        Path p = executable("notes.txt", "just some text\nnot a program\n".getBytes());
        assertOneLine(herd("run", p.toString()), 126);
    }

    @Test
    void emptyFileIs126() throws IOException {
        assertOneLine(herd("run", executable("empty", new byte[0]).toString()), 126);
    }

    @Test
    void directoryIs126() throws IOException {
        assertOneLine(herd("run", base.toString()), 126);
    }

    /** A FIFO is not a regular file: execve says EACCES at once (a read would wait for a writer). */
    @Test
    void fifoIs126AtOnce() throws IOException, InterruptedException {
        Path fifo = base.resolve("fifo");
        Process mk = new ProcessBuilder("mkfifo", "-m", "755", fifo.toString()).inheritIO().start();
        assertEquals(0, mk.waitFor());
        GuestRun.Result r = herd("run", fifo.toString());
        assertTrue(!r.timedOut(), r.describe());
        assertOneLine(r, 126);
    }

    /**
     * Guest memory is one memfd that a file-size limit caps: a limit leaving at least 1 GiB runs
     * (on a smaller space), a smaller one is one clear line, never an internal error.
     */
    @Test
    void fileSizeLimitShrinksTheSpaceOrIsOneLine() throws IOException {
        String hello = HerdEnv.guest("hello").toString();
        GuestRun.Result ok = GuestRun.run(List.of("bash", "-c", "ulimit -f 4000000 && exec \"$0\" run \"$1\" 7",
                HerdEnv.HERD.toString(), hello), base, null, HerdEnv.guestEnvironment(base), HerdEnv.TIMEOUT);
        GuestRun.assertNoJavaLeak(ok);
        assertEquals(7, ok.status(), ok.describe() + "\n" + ok.stderrText());
        assertEquals("hello, world\n", ok.stdoutText(), ok.describe());
        GuestRun.Result small = GuestRun.run(List.of("bash", "-c", "ulimit -f 100000 && exec \"$0\" run \"$1\"",
                HerdEnv.HERD.toString(), hello), base, null, HerdEnv.guestEnvironment(base), HerdEnv.TIMEOUT);
        GuestRun.assertNoJavaLeak(small);
        assertOneLine(small, 126);
        assertTrue(small.stderrText().contains("ulimit -f"), small.stderrText());
    }

    /**
     * fds the shell opened for bin/herd beyond 0-2 (`3<file`, a jobserver's pipes) are the guest's
     * at the same numbers, as across an execve. Compared with the same program run natively.
     */
    @Test
    void fdsInheritedFromTheShellAreTheGuests() throws IOException {
        Files.writeString(base.resolve("three.txt"), "fd three\n");
        String script = "exec 3<three.txt 5>five.txt; exec \"$@\"";
        List<String> program = List.of("/bin/sh", "-c", "cat <&3; echo five >&5; ls /proc/self/fd | tr '\\n' ' '");
        List<String> nativeCmd = new java.util.ArrayList<>(List.of("bash", "-c", script, "sh"));
        nativeCmd.addAll(program);
        List<String> herdCmd = new java.util.ArrayList<>(List.of("bash", "-c", script, "sh", HerdEnv.HERD.toString(), "run"));
        herdCmd.addAll(program);
        GuestRun.Result nat = GuestRun.run(nativeCmd, base, null, HerdEnv.guestEnvironment(base), HerdEnv.TIMEOUT);
        GuestRun.Result herd = GuestRun.run(herdCmd, base, null, HerdEnv.guestEnvironment(base), HerdEnv.TIMEOUT);
        GuestRun.assertNoJavaLeak(herd);
        assertTrue(nat.stdoutText().startsWith("fd three\n"), "native (fixture check): " + nat.describe());
        assertEquals(nat.stdoutText(), herd.stdoutText(), herd.describe() + "\n" + herd.stderrText());
        assertEquals(nat.status(), herd.status(), herd.describe());
        assertEquals("five\n", Files.readString(base.resolve("five.txt")));
    }

    /**
     * bin/herd started with fd 0 closed: the guest's fd 0 is closed too (fstat EBADF, the next open
     * takes it), though the JVM may have opened a file of its own there. Compared with native.
     */
    @Test
    void aClosedStdinIsClosedInTheGuest() throws IOException {
        String guest = HerdEnv.GUESTS.resolve("stdio_closed").toString();
        GuestRun.Result nat = GuestRun.run(List.of("bash", "-c", "exec 0<&-; exec \"$@\"", "sh", guest, "child"),
                base, null, HerdEnv.guestEnvironment(base), HerdEnv.TIMEOUT);
        GuestRun.Result herd = GuestRun.run(List.of("bash", "-c", "exec 0<&-; exec \"$@\"", "sh", HerdEnv.HERD.toString(), "run",
                guest, "child"), base, null, HerdEnv.guestEnvironment(base), HerdEnv.TIMEOUT);
        GuestRun.assertNoJavaLeak(herd);
        assertEquals(3, nat.status(), "native (fixture check): " + nat.describe());
        assertEquals(nat.status(), herd.status(), herd.describe() + "\n" + herd.stderrText());
    }

    /**
     * bin/herd names the build's unpacked native helper to the JVM; a name that is no file (a
     * cleaned build directory, a stale option) falls back to the jar's copy instead of failing.
     */
    @Test
    void aMissingNativeHelperFileFallsBackToTheJarsCopy() throws IOException {
        java.util.Map<String, String> env = new java.util.HashMap<>(HerdEnv.guestEnvironment(base));
        env.put("HERD_JAVA_OPTS", "-Dherd.native.library=" + base.resolve("no-such-libherd-native.so"));
        GuestRun.Result r = GuestRun.run(List.of(HerdEnv.HERD.toString(), "run", "/bin/echo", "helper"), base, null, env,
                HerdEnv.TIMEOUT);
        GuestRun.assertNoJavaLeak(r);
        assertEquals(0, r.status(), r.describe() + "\n" + r.stderrText());
        assertEquals("helper\n", r.stdoutText(), r.describe());
    }

    @Test
    void elfTruncatedInTheProgramHeadersIs126() throws IOException {
        byte[] hello = Files.readAllBytes(HerdEnv.guest("hello"));
        assertOneLine(herd("run", executable("trunc-headers", Arrays.copyOf(hello, 100)).toString()), 126);
    }

    @Test
    void elfTruncatedInTheSegmentsIs126() throws IOException {
        byte[] hello = Files.readAllBytes(HerdEnv.guest("hello"));
        assertOneLine(herd("run", executable("trunc-segments", Arrays.copyOf(hello, 3000)).toString()), 126);
    }

    /**
     * A PT_INTERP with bytes the host's file-name encoding cannot express (here 0xff 0xfe under
     * LANG=C): Linux fails the exec with ENOENT; herd refuses with one line and 126, not an
     * internal error (found by the ELF fuzzer, scripts/fuzz.sh --seed 1 --case 1624).
     */
    @Test
    void interpreterPathWithUnmappableBytesIs126() throws IOException {
        byte[] hello = Files.readAllBytes(HerdEnv.guest("hello"));
        java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(hello).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        int phoff = (int) b.getLong(32), note = -1;
        for (int i = 0; i < b.getShort(56); i++) if (b.getInt(phoff + i * 56) == 4 && note < 0) note = phoff + i * 56;
        assertTrue(note > 0, "hello has a PT_NOTE");
        byte[] path = {'/', 'l', 'i', 'b', '/', (byte) 0xff, (byte) 0xfe, 0};
        byte[] bytes = Arrays.copyOf(hello, hello.length + path.length);
        System.arraycopy(path, 0, bytes, hello.length, path.length);
        b = java.nio.ByteBuffer.wrap(bytes).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        b.putInt(note, 3).putLong(note + 8, hello.length).putLong(note + 32, path.length).putLong(note + 40, path.length);
        assertOneLine(herd("run", executable("bad-interp", bytes).toString()), 126);
    }

    /** The guest architecture comes from the ELF: the same command runs an aarch64 program. */
    @Test
    void aarch64ElfRuns() throws IOException {
        GuestRun.Result r = herd("run", HerdEnv.guest("hello-aarch64").toString(), "7", "arm");
        assertEquals(7, r.status(), r.describe());
        assertEquals("hello, world\nword 1: arm\n", r.stdoutText());
        assertEquals("hello on stderr\n", r.stderrText());
    }

    /** A machine Herd has no bundle for (RISC-V here) is one clear line and status 126. */
    @Test
    void foreignMachineIs126() throws IOException {
        byte[] bytes = java.nio.file.Files.readAllBytes(HerdEnv.guest("hello"));
        java.nio.ByteBuffer.wrap(bytes).order(java.nio.ByteOrder.LITTLE_ENDIAN).putShort(18, (short) 243);
        assertOneLine(herd("run", executable("riscv", bytes).toString()), 126);
    }

    @Test
    void runWithoutProgramFailsCleanly() throws IOException {
        GuestRun.Result r = herd("run");
        assertNotEquals(0, r.status(), r.describe());
        assertTrue(!r.stderrText().isBlank(), "a usage message on stderr: " + r.describe());
    }

    @Test
    void unknownModeFailsCleanly() throws IOException {
        GuestRun.Result r = herd("run", "--mode", "bogus", HerdEnv.guest("hello").toString());
        assertNotEquals(0, r.status(), r.describe());
        assertTrue(!r.stderrText().isBlank(), "an error message on stderr: " + r.describe());
    }

    @Test
    void classpathListsTheRuntimeJar() throws IOException {
        GuestRun.Result r = herd("classpath");
        assertEquals(0, r.status(), r.describe());
        assertTrue(r.stdoutText().contains("herd-runtime-"), r.stdoutText());
    }

    /** --strace traces to stderr; the guest's own output and status are unchanged. */
    @ParameterizedTest(name = "--strace [{0}]")
    @EnumSource(Mode.class)
    void straceKeepsGuestBehaviour(Mode mode) throws IOException {
        List<String> argv = List.of(HerdEnv.guest("hello").toString(), "4", "traced");
        GuestRun.Result nat = GuestRun.run(argv, base, null, HerdEnv.guestEnvironment(base), HerdEnv.TIMEOUT);
        GuestRun.Result r = GuestRun.run(GuestRun.herdCommand(mode, argv, "--strace"), base, null,
                HerdEnv.guestEnvironment(base), HerdEnv.TIMEOUT);
        GuestRun.assertNoJavaLeak(r);
        String what = r.describe() + "\nstderr:\n" + Diff.indent(r.stderrText());
        assertEquals(nat.status(), r.status(), what);
        assertArrayEquals(nat.stdout(), r.stdout(), what);
        assertTrue(r.stderrText().contains("hello on stderr"), "the guest's own stderr is kept: " + what);
        assertTrue(r.stderrText().contains("exit_group"), "the trace shows exit_group: " + what);
    }

    /**
     * An unknown syscall returns -ENOSYS (stdout equals the native run) and herd warns once per
     * distinct syscall: two numbers called four times give exactly two warning lines.
     */
    @ParameterizedTest(name = "unknown syscall warns once [{0}]")
    @EnumSource(Mode.class)
    void unknownSyscallWarnsOncePerNumber(Mode mode) throws IOException {
        List<String> argv = List.of(HerdEnv.guest("enosys").toString());
        GuestRun.Result nat = GuestRun.run(argv, base, null, HerdEnv.guestEnvironment(base), HerdEnv.TIMEOUT);
        GuestRun.Result r = GuestRun.run(GuestRun.herdCommand(mode, argv), base, null,
                HerdEnv.guestEnvironment(base), HerdEnv.TIMEOUT);
        GuestRun.assertNoJavaLeak(r);
        String what = r.describe() + "\nstderr:\n" + Diff.indent(r.stderrText());
        assertEquals(0, nat.status());
        assertEquals(nat.status(), r.status(), what);
        assertArrayEquals(nat.stdout(), r.stdout(), what);
        assertEquals(List.of(
                "herd: warning: unimplemented syscall syscall_100000 (100000), returning -ENOSYS",
                "herd: warning: unimplemented syscall syscall_99999 (99999), returning -ENOSYS"),
                r.stderrText().lines().toList(), what);
    }

    /**
     * A working directory whose name is not ASCII (as CPython's test suite makes, "@test_NNN_tmpæ"):
     * the guest, and a fork's and an execve's child, see it byte for byte. Herd once took the JVM's
     * decoded view of the cwd, and under an ASCII locale every path became ENOENT (status 70).
     */
    @Test
    void aNonAsciiWorkingDirectory() throws IOException {
        String script = "d=$(printf 'tmp\\303\\246-\\351'); mkdir -p \"$d\" && cd \"$d\" && /bin/pwd && "
                + "'" + HerdEnv.HERD + "' run /bin/sh -c '/bin/pwd; x=$(/bin/pwd); echo \"$x\"; cd ..; cd \"$OLDPWD\"; /bin/pwd'";
        GuestRun.Result r = GuestRun.run(List.of("/bin/bash", "-c", script), base, null, HerdEnv.guestEnvironment(base), HerdEnv.TIMEOUT);
        GuestRun.assertNoJavaLeak(r);
        assertEquals(0, r.status(), r.describe() + r.stderrText());
        List<String> lines = r.stdoutText().lines().toList();
        assertEquals(4, lines.size(), r.stdoutText());
        for (String l : lines) assertEquals(lines.getFirst(), l, r.stdoutText());
    }
}
