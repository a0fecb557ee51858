package dev.herd.stresstests;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A guest that sets its wall clock moves only its own (clock_set.c): every realtime read and
 * absolute realtime deadline follows it, and the host's clock stays where it was. Not a
 * differential test: natively, as root, the guest would set the machine's clock.
 */
class GuestClockTest {
    @TempDir Path base;

    @ParameterizedTest(name = "setting the clock moves the guest's only [{0}]")
    @EnumSource(Mode.class)
    void settingTheClockMovesTheGuestsOnly(Mode mode) throws IOException {
        long before = System.currentTimeMillis();
        GuestRun.Result r = GuestRun.run(GuestRun.herdCommand(mode, List.of(HerdEnv.guest("clock_set").toString())),
                base, null, HerdEnv.guestEnvironment(base), HerdEnv.TIMEOUT);
        long after = System.currentTimeMillis();
        GuestRun.assertNoJavaLeak(r);
        String what = r.describe() + "\nstdout:\n" + Diff.indent(r.stdoutText()) + "\nstderr:\n" + Diff.indent(r.stderrText());
        assertEquals(0, r.status(), what);
        assertTrue(r.stdoutText().endsWith("RESULT: ok\n"), what);
        assertTrue(after - before >= 0 && after - before < HerdEnv.TIMEOUT.toMillis() + 10_000,
                "the host clock moved: " + (after - before) + " ms");
    }
}
