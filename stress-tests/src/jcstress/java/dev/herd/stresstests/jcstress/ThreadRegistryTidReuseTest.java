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
 * TID reuse: an old thread registered under TID 7 ends ({@code remove(7, old)}) while a new thread
 * reusing TID 7 starts ({@code add}, {@code started(7, new)}). The old thread's removal must not
 * unregister the new one, whatever the interleaving.
 *
 * <p>r1: the old thread's lookup of TID 7 after its removal (0 = null, 1 = the new thread, 2 = the
 * old one, 3 = another); r2: the new thread's lookup of TID 7 after it started (same codes);
 * r3 = 1: afterwards TID 7 maps to the new thread, which is the only thread counted.
 */
@JCStressTest
@Outcome(id = {"0, 1, 1", "1, 1, 1"}, expect = ACCEPTABLE, desc = "the new thread stays registered")
@Outcome(expect = FORBIDDEN, desc = "the old thread's removal unregistered the new one, or the old one is still registered")
@State
public class ThreadRegistryTidReuseTest {
    final ThreadRegistry<Guest> r = new ThreadRegistry<>();
    final Guest old = Registries.started(r, 7)[0];
    final Guest reuse = new Guest("t7 again");

    private int lookup() {
        Guest t = r.byTid(7);
        return t == null ? 0 : t == reuse ? 1 : t == old ? 2 : 3;
    }

    @Actor
    public void oldEnds(III_Result res) {
        r.remove(7, old);
        res.r1 = lookup();
    }

    @Actor
    public void newStarts(III_Result res) {
        r.add(reuse);
        r.started(7, reuse);
        res.r2 = lookup();
    }

    @Arbiter
    public void check(III_Result res) {
        boolean ok = r.byTid(7) == reuse && r.count() == 1 && r.all().contains(reuse) && !r.all().contains(old);
        res.r3 = ok ? 1 : 0;
    }
}
