package dev.herd.stresstests.jcstress;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

import dev.herd.stresstests.jcstress.Registries.Guest;
import dev.herd.threads.ThreadRegistry;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.III_Result;

/**
 * Two threads end at once (TIDs 5 and 21, which share a bucket of a 16-slot hash table) while
 * three others keep running: both are gone afterwards, the others untouched, the count exact.
 *
 * <p>r1: the first's lookup of TID 21 after its removal, r2: the second's lookup of TID 5 (0 =
 * null, 1 = that thread, 2 = another); r3 = 1: afterwards neither is registered, walked or
 * counted, and the three others are.
 */
@JCStressTest
@Outcome(id = {"0, 0, 1", "0, 1, 1", "1, 0, 1", "1, 1, 1"}, expect = ACCEPTABLE, desc = "the other's removal seen or not yet")
@Outcome(expect = FORBIDDEN, desc = "a lost removal, a wrong count, or a running thread lost")
@State
public class ThreadRegistryRemoveTest {
    final ThreadRegistry<Guest> r = new ThreadRegistry<>();
    final int[] tids = Registries.tids(3);
    final Guest[] running = Registries.started(r, tids);
    final Guest five = Registries.started(r, 5)[0];
    final Guest twentyOne = Registries.started(r, 21)[0];

    @Actor
    public void first(III_Result res) {
        r.remove(5, five);
        res.r1 = Registries.seen(r.byTid(21), twentyOne);
    }

    @Actor
    public void second(III_Result res) {
        r.remove(21, twentyOne);
        res.r2 = Registries.seen(r.byTid(5), five);
    }

    @Arbiter
    public void check(III_Result res) {
        boolean ok = r.byTid(5) == null && r.byTid(21) == null && r.count() == 3
                && !r.all().contains(five) && !r.all().contains(twentyOne) && r.all().size() == 3
                && Registries.allRegistered(r, running, tids);
        res.r3 = ok ? 1 : 0;
    }
}
