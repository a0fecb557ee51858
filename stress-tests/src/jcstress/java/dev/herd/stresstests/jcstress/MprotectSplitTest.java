package dev.herd.stresstests.jcstress;

import static dev.herd.stresstests.jcstress.Spaces.A;
import static dev.herd.stresstests.jcstress.Spaces.PAGE;
import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE_INTERESTING;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

import dev.herd.memory.GuestAddressSpace;
import dev.herd.memory.Prot;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.II_Result;

/**
 * mprotect splitting a mapping vs lock-free {@code find}: each lookup sees the whole old table or
 * the whole new one (never a torn split, never a hole in a continuously mapped range), and a later
 * lookup never sees an older table than an earlier one.
 *
 * <p>[A, A+3P) RW; the writer makes [A+P, A+2P) read-only. The reader looks up A+P (1 = old RW
 * [A, A+3P), 2 = new R [A+P, A+2P)), then A (1 = old, 2 = new RW [A, A+P)); 0 = anything else.
 */
@JCStressTest
@Outcome(id = "1, 1", expect = ACCEPTABLE, desc = "both lookups before the mprotect")
@Outcome(id = "1, 2", expect = ACCEPTABLE_INTERESTING, desc = "the mprotect was published between the lookups")
@Outcome(id = "2, 2", expect = ACCEPTABLE, desc = "both lookups after the mprotect")
@Outcome(id = "2, 1", expect = FORBIDDEN, desc = "a later lookup saw an older table")
@Outcome(expect = FORBIDDEN, desc = "a torn or missing mapping")
@State
public class MprotectSplitTest {
    final GuestAddressSpace as = Spaces.withMapping(3, Prot.READ | Prot.WRITE);

    @Actor
    public void writer() {
        as.mprotect(A + PAGE, PAGE, Prot.READ);
    }

    @Actor
    public void reader(II_Result r) {
        var mid = as.find(A + PAGE);
        var low = as.find(A);
        r.r1 = Spaces.is(mid, A, A + 3 * PAGE, Prot.READ | Prot.WRITE) ? 1 : Spaces.is(mid, A + PAGE, A + 2 * PAGE, Prot.READ) ? 2 : 0;
        r.r2 = Spaces.is(low, A, A + 3 * PAGE, Prot.READ | Prot.WRITE) ? 1 : Spaces.is(low, A, A + PAGE, Prot.READ | Prot.WRITE) ? 2 : 0;
    }

    @Arbiter
    public void close() {
        as.close();
    }
}
