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
import org.openjdk.jcstress.infra.results.IIIII_Result;

/**
 * Lookups during registration: two new threads register (TIDs 7 and 8) while each looks up the
 * other's TID and the TIDs of eleven running threads. With eleven threads in the registry the
 * second registration grows the TID map, so the table resizes under the lookups.
 *
 * <p>r1: actor 1's lookup of TID 8, r2: actor 2's lookup of TID 7 (0 = null, 1 = that thread,
 * 2 = another thread); r3, r4 = 1: every lookup of a running thread by actor 1, actor 2 found it;
 * r5 = 1: afterwards both new threads and the eleven are registered and counted. Forbidden: a
 * wrong thread, a running thread not found, both lookups missing the other's registration
 * (lookups and registrations are linearizable: one of the two registrations completed first).
 */
@JCStressTest
@Outcome(id = {"0, 1, 1, 1, 1", "1, 0, 1, 1, 1", "1, 1, 1, 1, 1"}, expect = ACCEPTABLE, desc = "null or the thread being registered")
@Outcome(id = "0, 0, 1, 1, 1", expect = FORBIDDEN, desc = "both lookups missed a registration that completed before them")
@Outcome(expect = FORBIDDEN, desc = "a wrong thread, a running thread not found, or a lost registration")
@State
public class ThreadRegistryLookupTest {
    final ThreadRegistry<Guest> r = new ThreadRegistry<>();
    final int[] tids = Registries.tids(11);
    final Guest[] running = Registries.started(r, tids);
    final Guest seven = new Guest("t7");
    final Guest eight = new Guest("t8");

    private int runningFound() {
        for (int i = 0; i < tids.length; i++) {
            if (r.byTid(tids[i]) != running[i]) return 0;
        }
        return 1;
    }

    @Actor
    public void first(IIIII_Result res) {
        r.add(seven);
        r.started(7, seven);
        res.r1 = Registries.seen(r.byTid(8), eight);
        res.r3 = runningFound();
    }

    @Actor
    public void second(IIIII_Result res) {
        r.add(eight);
        r.started(8, eight);
        res.r2 = Registries.seen(r.byTid(7), seven);
        res.r4 = runningFound();
    }

    @Arbiter
    public void check(IIIII_Result res) {
        boolean ok = r.byTid(7) == seven && r.byTid(8) == eight && r.count() == 13
                && Registries.allRegistered(r, running, tids) && r.all().contains(seven) && r.all().contains(eight);
        res.r5 = ok ? 1 : 0;
    }
}
