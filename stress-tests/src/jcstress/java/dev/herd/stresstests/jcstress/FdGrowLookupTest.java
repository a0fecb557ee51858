package dev.herd.stresstests.jcstress;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE_INTERESTING;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

import dev.herd.runtime.fs.FdTable;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.III_Result;

/**
 * An install that grows the slot array (64 → 128, copy and republish) vs lock-free lookups: an fd
 * open throughout stays visible with its host fd, and the new fd is either not yet open or open
 * with the installed host fd.
 *
 * <p>r1: the installed fd (64); r2: 1 = lookup of fd 63 correct; r3: lookup of fd 64 after that
 * (0 = not open yet, 1 = the installed host fd, 2 = anything else).
 */
@JCStressTest
@Outcome(id = "64, 1, 0", expect = ACCEPTABLE_INTERESTING, desc = "lookup before the install")
@Outcome(id = "64, 1, 1", expect = ACCEPTABLE, desc = "lookup after the install")
@Outcome(expect = FORBIDDEN, desc = "an open fd lost or a wrong host fd while the table grew")
@State
public class FdGrowLookupTest {
    final FdTable t = Fds.withBogus(64);

    @Actor
    public void installer(III_Result r) {
        r.r1 = t.install(Fds.bogus(64), false);
    }

    @Actor
    public void reader(III_Result r) {
        r.r2 = t.hostOrMinus1(63) == Fds.bogus(63) ? 1 : 0;
        int h = t.hostOrMinus1(64);
        r.r3 = h == -1 ? 0 : h == Fds.bogus(64) ? 1 : 2;
    }
}
