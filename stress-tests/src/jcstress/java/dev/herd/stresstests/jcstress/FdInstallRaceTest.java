package dev.herd.stresstests.jcstress;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

import dev.herd.runtime.fs.FdTable;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.III_Result;

/**
 * Two concurrent installs into an empty table get the two lowest fds, never the same one, and
 * each guest fd maps to the host fd its installer gave (r3 = 1: the table is consistent after).
 */
@JCStressTest
@Outcome(id = {"0, 1, 1", "1, 0, 1"}, expect = ACCEPTABLE, desc = "distinct lowest fds")
@Outcome(expect = FORBIDDEN, desc = "an fd handed out twice, a gap, or a lost install")
@State
public class FdInstallRaceTest {
    final FdTable t = new FdTable();

    @Actor
    public void first(III_Result r) {
        r.r1 = t.install(Fds.bogus(1), false);
    }

    @Actor
    public void second(III_Result r) {
        r.r2 = t.install(Fds.bogus(2), true);
    }

    @Arbiter
    public void check(III_Result r) {
        boolean ok = r.r1 != r.r2 && t.size() == 2
                && t.get(r.r1) == Fds.bogus(1) && t.getFdFlags(r.r1) == 0
                && t.get(r.r2) == Fds.bogus(2) && t.getFdFlags(r.r2) == FdTable.FD_CLOEXEC;
        r.r3 = ok ? 1 : 0;
    }
}
