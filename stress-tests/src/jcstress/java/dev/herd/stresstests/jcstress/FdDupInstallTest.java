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
 * dup (host F_DUPFD outside the lock, then install) vs install: distinct lowest fds 1 and 2, the
 * dup's guest fd holds a real host duplicate (not the installed fd's), FD_CLOEXEC clear (r3 = 1).
 * Guest fd 0 is {@link Fds#REAL}; the arbiter closes the dup (the only fd the state owns).
 */
@JCStressTest
@Outcome(id = {"1, 2, 1", "2, 1, 1"}, expect = ACCEPTABLE, desc = "distinct lowest fds")
@Outcome(expect = FORBIDDEN, desc = "an fd handed out twice or a wrong host fd")
@State
public class FdDupInstallTest {
    final FdTable t = new FdTable();

    public FdDupInstallTest() {
        t.installAt(0, Fds.REAL, false);
    }

    @Actor
    public void dupper(III_Result r) {
        r.r1 = t.dup(0);
    }

    @Actor
    public void installer(III_Result r) {
        r.r2 = t.install(Fds.bogus(7), false);
    }

    @Arbiter
    public void check(III_Result r) {
        int dupHost = t.hostOrMinus1(r.r1);
        boolean ok = t.size() == 3 && t.get(r.r2) == Fds.bogus(7) && dupHost >= 0 && dupHost < (1 << 20)
                && dupHost != t.get(0) && t.getFdFlags(r.r1) == 0;
        r.r3 = ok ? 1 : 0;
        t.close(r.r1);
    }
}
