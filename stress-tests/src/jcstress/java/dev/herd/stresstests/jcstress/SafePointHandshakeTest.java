package dev.herd.stresstests.jcstress;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE_INTERESTING;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

import dev.herd.threads.SafePointHandshake;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.III_Result;

/**
 * The coherence handshake (Dekker): a guest thread re-entering guest code with a view of version
 * 0 vs a changer publishing version 1 then asking whether to kick it. Forbidden: the guest runs
 * guest code with the old view and the changer does not kick it.
 *
 * <p>r1: 1 = the guest found its view current and entered guest code without syncing (else it
 * synced); r2: the changer's mustKick; r3: mustKick(1) once both are done (must be 1 exactly when
 * the guest is in guest code with the old view).
 */
@JCStressTest
@Outcome(id = "1, 1, 1", expect = ACCEPTABLE, desc = "guest entered with the old view; changer kicks it")
@Outcome(id = "0, 0, 0", expect = ACCEPTABLE, desc = "guest saw version 1 and synced; no kick needed")
@Outcome(id = "0, 1, 0", expect = ACCEPTABLE_INTERESTING, desc = "spurious kick: changer saw the guest announced but not yet synced")
@Outcome(id = {"1, 0, 0", "1, 0, 1"}, expect = FORBIDDEN, desc = "guest runs with the old view and is never kicked")
@Outcome(expect = FORBIDDEN, desc = "inconsistent handshake state")
@State
public class SafePointHandshakeTest {
    volatile long version;
    final SafePointHandshake h = new SafePointHandshake(() -> version);

    public SafePointHandshakeTest() {
        h.synced(0); // the guest thread is in a syscall (outside guest code) with a view of version 0
    }

    @Actor
    public void guest(III_Result r) {
        boolean current = h.enterGuest();
        if (!current) h.synced(version);
        r.r1 = current ? 1 : 0;
    }

    @Actor
    public void changer(III_Result r) {
        version = 1;
        r.r2 = h.mustKick(1) ? 1 : 0;
    }

    @Arbiter
    public void after(III_Result r) {
        r.r3 = h.mustKick(1) ? 1 : 0;
    }
}
