package dev.herd.stresstests;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * With translator atomics (the default in parallel mode) a locked read-modify-write
 * on a read-only page is SIGSEGV with one report line, as natively: libunicorn's atomic helpers
 * skip its permission check, and herd_native.c's guard sends such accesses to Herd's own atomic
 * path. Unguarded, the JVM died of SIGSEGV (ELF fuzz seed 1 case 3763). The environment variable
 * is set anyway, so the test keeps testing the guard if the default changes.
 */
class AtomicGuardTest {

    /** Each case in parallel mode with translator atomics (1) and with site patching (0), and in serial mode. */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"written-then-read-only 1", "const 1", "cmpxchg8b 1", "cmpxchg16b 1",
            "written-then-read-only 0", "const 0", "cmpxchg16b 0", "written-then-read-only serial"})
    void lockedRmwOnReadOnlyPageIsSigsegv(String variant) throws IOException {
        HerdEnv.requireHerd();
        String[] v = variant.split(" ");
        Path base = Differential.newRunDirectory("atomic-guard-" + v[0] + "-" + v[1]);
        List<String> argv = List.of(HerdEnv.guest("ro_atomic").toString(), v[0]);
        GuestRun.Result nat = GuestRun.run(argv, base, null, HerdEnv.guestEnvironment(base), HerdEnv.TIMEOUT);
        assertEquals(139, nat.status(), "native (fixture check): " + nat.describe());
        Map<String, String> env = new java.util.HashMap<>(HerdEnv.guestEnvironment(base));
        Mode mode = Mode.PARALLEL;
        if (v[1].equals("serial")) mode = Mode.SERIAL;
        else env.put("HERD_TRANSLATOR_ATOMICS", v[1]);
        GuestRun.Result herd = GuestRun.run(GuestRun.herdCommand(mode, argv), base, null, env, HerdEnv.TIMEOUT);
        GuestRun.assertNoJavaLeak(herd);
        String what = herd.describe() + "\nstderr:\n" + Diff.indent(herd.stderrText());
        assertEquals(139, herd.status(), what);
        assertArrayEquals(nat.stdout(), herd.stdout(), what);
        List<String> lines = herd.stderrText().lines().toList();
        assertEquals(1, lines.size(), what);
        assertTrue(lines.getFirst().contains("SIGSEGV"), what);
    }
}
