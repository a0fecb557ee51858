package dev.herd.stresstests;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A guest that stores through NULL dies by SIGSEGV: natively Java sees status 139 (128 + 11) and
 * an empty stderr; herd must exit 139 too, keep stdout, and print exactly one report line.
 */
class CrashTest {

    @ParameterizedTest(name = "NULL store [{0}]")
    @EnumSource(Mode.class)
    void nullStoreDiesBySigsegv(Mode mode) throws IOException {
        HerdEnv.requireHerd();
        Path base = Differential.newRunDirectory("crash-" + mode);
        List<String> argv = List.of(HerdEnv.guest("crash").toString());

        GuestRun.Result nat = GuestRun.run(argv, base, null, HerdEnv.guestEnvironment(base), HerdEnv.TIMEOUT);
        assertEquals(139, nat.status(), "native crash status (fixture check): " + nat.describe());
        assertEquals("about to crash\n", nat.stdoutText());
        assertEquals("", nat.stderrText());

        GuestRun.Result herd = GuestRun.run(GuestRun.herdCommand(mode, argv), base, null,
                HerdEnv.guestEnvironment(base), HerdEnv.TIMEOUT);
        GuestRun.assertNoJavaLeak(herd);
        String what = herd.describe() + "\nstderr:\n" + Diff.indent(herd.stderrText());
        assertEquals(139, herd.status(), "herd exit status for a guest killed by SIGSEGV: " + what);
        assertArrayEquals(nat.stdout(), herd.stdout(), "stdout before the crash: " + what);
        List<String> lines = herd.stderrText().lines().toList();
        assertEquals(1, lines.size(), "herd must report the crash in exactly one stderr line: " + what);
        assertTrue(lines.getFirst().contains("SIGSEGV"), "the report line must name SIGSEGV: " + what);
        Differential.deleteTree(base);
    }
}
