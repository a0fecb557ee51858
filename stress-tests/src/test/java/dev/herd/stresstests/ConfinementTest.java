package dev.herd.stresstests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A hostile guest against {@code --rootfs}: the guest {@code confine} (stress-tests/src/main/c)
 * tries every way out it knows — host paths, {@code ..}, its own symlinks, {@code /proc/self/*},
 * link/rename/symlink/bind targets, AF_UNIX paths, a symlink swapped during lookups, execve of host
 * programs and {@code #!} scripts, an execve environment aimed at the JVM (LD_PRELOAD,
 * JAVA_TOOL_OPTIONS, -Xlog file=) — against a directory OUT next to the root. Programs whose
 * PT_INTERP leads out of the root (a {@code /..} path, an absolute symlink inside the root) are run
 * directly and through execve. The guest's verdicts are checked, and so is the host side: OUT is
 * unchanged, nothing from it appears in the output, no program from it ran.
 */
class ConfinementTest {
    private Path base, root, out;
    private ServerSocketChannel listener;

    @BeforeEach
    void setUp() throws IOException {
        HerdEnv.requireHerd();
        base = Differential.newRunDirectory("confine");
        root = Files.createDirectories(base.resolve("root"));
        out = Files.createDirectories(base.resolve("out"));
        copy(HerdEnv.GUESTS.resolve("confine"), root.resolve("confine"));
        copy(HerdEnv.GUESTS.resolve("libconfine_preload.so"), root.resolve("libconfine_preload.so"));
        // Programs that print ESCAPED if they ever run.
        copy(HerdEnv.GUESTS.resolve("confine_evil"), out.resolve("evil"));
        copy(HerdEnv.GUESTS.resolve("confine_evil"), out.resolve("ld.so"));
        Files.writeString(out.resolve("secret"), "SECRET-OUTSIDE\n");
        // A dynamic program whose PT_INTERP climbs out of the root, and one with the usual PT_INTERP
        // that the root turns into an absolute symlink to OUT/ld.so (a host path).
        byte[] dyn = Files.readAllBytes(HerdEnv.GUESTS.resolve("dyn_libm"));
        write(root.resolve("ldprobe"), withInterpreter(dyn, "/../out/ld.so"));
        write(root.resolve("ldprobe2"), dyn);
        Files.createDirectories(root.resolve("lib64"));
        Files.createSymbolicLink(root.resolve("lib64/ld-linux-x86-64.so.2"), out.resolve("ld.so"));
        UnixDomainSocketAddress sock = UnixDomainSocketAddress.of(out.resolve("sock"));
        listener = ServerSocketChannel.open(StandardProtocolFamily.UNIX).bind(sock);
    }

    @AfterEach
    void tearDown() throws IOException {
        if (listener != null) listener.close();
        Differential.deleteTree(base);
    }

    @ParameterizedTest
    @EnumSource(Mode.class)
    void guestFindsNoWayOut(Mode mode) throws IOException {
        GuestRun.Result r = herd(mode, root.resolve("confine").toString(), out.toString());
        String all = r.stdoutText() + r.stderrText();
        String what = r.describe() + "\n" + Diff.indent(all);
        assertEquals(0, r.status(), "status: " + what);
        assertFalse(all.contains("ESCAPED"), "escaped: " + what);
        assertTrue(r.stdoutText().contains("escaped: 0\n"), "every probe ran: " + what);
        assertTrue(r.stdoutText().contains("symlink swap race: blocked"), "the race ran: " + what);
        // The execve environment reaches the new image exactly, and nothing of it the host JVM.
        String flags = "-XX:Flags=" + out + "/secret -Xlog:os=info:file=" + out + "/pwned-xlog";
        String expectedEnv = "env: LD_PRELOAD=./libconfine_preload.so\n"
                + "env: JAVA_TOOL_OPTIONS=" + flags + "\n"
                + "env: JDK_JAVA_OPTIONS=-Xlog:os=info:file=" + out + "/pwned-xlog2\n"
                + "env: _JAVA_OPTIONS=-XX:+PrintFlagsFinal\n"
                + "env: HERD_PROBE=1\n"
                + "env count: 5\n";
        assertTrue(r.stdoutText().endsWith(expectedEnv), "the new image's environment: " + what);
        assertFalse(all.contains("SECRET-OUTSIDE") || all.contains("Picked up") || all.contains("PrintFlagsFinal ")
                || all.contains("bool "), "host JVM options taken from the guest: " + what);
        assertOutsideUnchanged(what);
    }

    @ParameterizedTest
    @EnumSource(Mode.class)
    void interpreterIsResolvedInsideTheRoot(Mode mode) throws IOException {
        for (String p : List.of("ldprobe", "ldprobe2")) {
            GuestRun.Result r = herd(mode, root.resolve(p).toString());
            String what = r.describe() + "\n" + Diff.indent(r.stdoutText() + r.stderrText());
            assertEquals(126, r.status(), "status: " + what);
            assertEquals("", r.stdoutText(), what);
            assertEquals(1, r.stderrText().lines().count(), "one line: " + what);
            assertTrue(r.stderrText().contains("ELF interpreter") && r.stderrText().contains("No such file"), what);
        }
        // Through the guest's execve: the kernel's error (ENOENT), and the guest goes on.
        GuestRun.Result r = herd(mode, root.resolve("confine").toString(), out.toString(), "exec", "/ldprobe2");
        String what = r.describe() + "\n" + Diff.indent(r.stdoutText() + r.stderrText());
        assertEquals("execve of a program with an outside PT_INTERP: blocked No such file or directory\n",
                r.stdoutText(), what);
        assertEquals(1, r.status(), what);
        assertOutsideUnchanged(what);
    }

    private GuestRun.Result herd(Mode mode, String... argv) throws IOException {
        GuestRun.Result r = GuestRun.run(GuestRun.herdCommand(mode, List.of(argv), "--rootfs", root.toString()),
                root, null, HerdEnv.guestEnvironment(root), HerdEnv.TIMEOUT);
        GuestRun.assertNoJavaLeak(r);
        assertFalse(r.timedOut(), "timed out: " + r.describe());
        return r;
    }

    private void assertOutsideUnchanged(String what) throws IOException {
        try (Stream<Path> s = Files.list(out)) {
            assertEquals(List.of("evil", "ld.so", "secret", "sock"),
                    s.map(p -> p.getFileName().toString()).sorted().toList(), "files in OUT: " + what);
        }
        assertEquals("SECRET-OUTSIDE\n", Files.readString(out.resolve("secret")), what);
    }

    /** The ELF with its PT_INTERP string replaced in place (no longer than the original). */
    static byte[] withInterpreter(byte[] elf, String interp) {
        byte[] old = "/lib64/ld-linux-x86-64.so.2\0".getBytes(StandardCharsets.US_ASCII);
        byte[] now = interp.getBytes(StandardCharsets.US_ASCII);
        if (now.length >= old.length) throw new IllegalArgumentException("interpreter path too long: " + interp);
        int at = indexOf(elf, old);
        if (at < 0) throw new IllegalStateException("no standard PT_INTERP string in the ELF");
        byte[] copy = elf.clone();
        java.util.Arrays.fill(copy, at, at + old.length, (byte) 0);
        System.arraycopy(now, 0, copy, at, now.length);
        return copy;
    }

    private static int indexOf(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) if (hay[i + j] != needle[j]) continue outer;
            return i;
        }
        return -1;
    }

    private static void copy(Path from, Path to) throws IOException {
        Files.copy(from, to, StandardCopyOption.REPLACE_EXISTING);
        Files.setPosixFilePermissions(to, PosixFilePermissions.fromString("rwxr-xr-x"));
    }

    private static void write(Path to, byte[] bytes) throws IOException {
        Files.write(to, bytes);
        Files.setPosixFilePermissions(to, PosixFilePermissions.fromString("rwxr-xr-x"));
    }
}
