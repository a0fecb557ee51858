package dev.herd.stresstests.jcstress;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

import dev.herd.runtime.fs.FdTable;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.II_Result;

/**
 * dup2 onto an open fd vs a lookup of that fd: like Linux, the replacement is atomic, so the
 * lookup sees the old host fd or the new one, never a closed fd (r1: 1 old, 2 new, 0 closed,
 * 3 other). r2 = 1: afterwards fd 1 is a host duplicate distinct from fd 0's. Guest fd 0 is
 * {@link Fds#REAL}, fd 1 a bogus host fd; the arbiter closes fd 1 (the duplicate dup2 made).
 */
@JCStressTest
@Outcome(id = {"1, 1", "2, 1"}, expect = ACCEPTABLE, desc = "old or new file")
@Outcome(expect = FORBIDDEN, desc = "fd 1 seen closed during dup2, or a wrong result")
@State
public class FdDup2LookupTest {
    final FdTable t = new FdTable();
    final int oldHost = Fds.bogus(1);

    public FdDup2LookupTest() {
        t.installAt(0, Fds.REAL, false);
        t.installAt(1, oldHost, false);
    }

    @Actor
    public void dup2() {
        t.dup2(0, 1);
    }

    @Actor
    public void reader(II_Result r) {
        int h = t.hostOrMinus1(1);
        r.r1 = h == -1 ? 0 : h == oldHost ? 1 : h >= 0 && h != t.hostOrMinus1(0) ? 2 : 3;
    }

    @Arbiter
    public void check(II_Result r) {
        int h = t.hostOrMinus1(1);
        r.r2 = h >= 0 && h != oldHost && h != Fds.REAL ? 1 : 0;
        t.close(1);
    }
}
