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
import org.openjdk.jcstress.infra.results.IIII_Result;

/**
 * A thread is added and started while another walks {@code all()} and reads {@code count()} (as
 * awaitCoherent and exit_group do). The registry holds eleven threads, so the add grows the set
 * and its table resizes under the iteration. The walk must yield each of the eleven exactly once
 * and the new thread at most once; the count is 11 or 12, never a thread counted twice.
 *
 * <p>r1: how many times the walk yielded one of the eleven (must be 11); r2: how many times it
 * yielded the new thread (0 or 1); r3: count() after the walk (11 or 12); r4 = 1: afterwards the
 * twelve are each yielded once, counted and registered.
 */
@JCStressTest
@Outcome(id = {"11, 0, 11, 1", "11, 0, 12, 1", "11, 1, 11, 1", "11, 1, 12, 1"}, expect = ACCEPTABLE,
        desc = "each running thread once, the new one at most once, count before or after the add")
@Outcome(expect = FORBIDDEN, desc = "a thread yielded twice or missed, or counted twice")
@State
public class ThreadRegistryAddIterateTest {
    final ThreadRegistry<Guest> r = new ThreadRegistry<>();
    final int[] tids = Registries.tids(11);
    final Guest[] running = Registries.started(r, tids);
    final Guest added = new Guest("t7");

    /** How often the walk yields a running thread, and the added one. */
    private int[] walk() {
        int runningSeen = 0, addedSeen = 0;
        for (Guest t : r.all()) {
            if (t == added) addedSeen++;
            else for (Guest u : running) if (t == u) runningSeen++;
        }
        return new int[] {runningSeen, addedSeen};
    }

    @Actor
    public void adder() {
        r.add(added);
        r.started(7, added);
    }

    @Actor
    public void walker(IIII_Result res) {
        int[] seen = walk();
        res.r1 = seen[0];
        res.r2 = seen[1];
        res.r3 = r.count();
    }

    @Arbiter
    public void check(IIII_Result res) {
        int[] seen = walk();
        boolean ok = seen[0] == 11 && seen[1] == 1 && r.count() == 12 && r.byTid(7) == added
                && Registries.allRegistered(r, running, tids);
        res.r4 = ok ? 1 : 0;
    }
}
