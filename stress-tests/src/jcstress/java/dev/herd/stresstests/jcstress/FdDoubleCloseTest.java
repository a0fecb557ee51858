package dev.herd.stresstests.jcstress;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

import dev.herd.host.ErrnoException;
import dev.herd.runtime.fs.FdTable;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.III_Result;

/**
 * Two threads close the same guest fd: exactly one closes it (and so closes its host fd once), the
 * other gets EBADF; then the next install reuses it (r3 = the fd the next install gets).
 */
@JCStressTest
@Outcome(id = {"1, 0, 1", "0, 1, 1"}, expect = ACCEPTABLE, desc = "exactly one close succeeded")
@Outcome(expect = FORBIDDEN, desc = "closed twice (a host fd closed twice) or not at all")
@State
public class FdDoubleCloseTest {
    final FdTable t = Fds.withBogus(3);

    private int tryClose() {
        try {
            t.close(1);
            return 1;
        } catch (ErrnoException e) {
            return 0;
        }
    }

    @Actor
    public void first(III_Result r) {
        r.r1 = tryClose();
    }

    @Actor
    public void second(III_Result r) {
        r.r2 = tryClose();
    }

    @Arbiter
    public void check(III_Result r) {
        r.r3 = t.size() == 2 ? t.install(Fds.bogus(9), false) : -1;
    }
}
