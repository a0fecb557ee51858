package dev.herd.stresstests.jcstress;

import static dev.herd.stresstests.jcstress.Spaces.A;
import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE_INTERESTING;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

import dev.herd.memory.GuestAddressSpace;
import dev.herd.memory.Prot;
import dev.herd.threads.SafePointHandshake;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.III_Result;

/**
 * {@link SafePointHandshakeTest} with the real version source: the handshake reads
 * {@link GuestAddressSpace#version()} and the changer is a real mprotect, so this also checks that
 * the address space publishes a change with a volatile write that takes part in the handshake.
 */
@JCStressTest
@Outcome(id = "1, 1, 1", expect = ACCEPTABLE, desc = "guest entered with the old view; changer kicks it")
@Outcome(id = "0, 0, 0", expect = ACCEPTABLE, desc = "guest saw the new version and synced; no kick needed")
@Outcome(id = "0, 1, 0", expect = ACCEPTABLE_INTERESTING, desc = "spurious kick: changer saw the guest announced but not yet synced")
@Outcome(id = {"1, 0, 0", "1, 0, 1"}, expect = FORBIDDEN, desc = "guest runs with the old view and is never kicked")
@Outcome(expect = FORBIDDEN, desc = "inconsistent handshake state")
@State
public class SafePointHandshakeAddressSpaceTest {
    final GuestAddressSpace as = Spaces.withMapping(1, Prot.READ | Prot.WRITE);
    final SafePointHandshake h = new SafePointHandshake(as::version);
    volatile long changed;

    public SafePointHandshakeAddressSpaceTest() {
        h.synced(as.version());
    }

    @Actor
    public void guest(III_Result r) {
        boolean current = h.enterGuest();
        if (!current) h.synced(as.version());
        r.r1 = current ? 1 : 0;
    }

    @Actor
    public void changer(III_Result r) {
        as.mprotect(A, Spaces.PAGE, Prot.READ);
        long v = as.version(); // the version of this change: nobody else mutates
        changed = v;
        r.r2 = h.mustKick(v) ? 1 : 0;
    }

    @Arbiter
    public void after(III_Result r) {
        r.r3 = h.mustKick(changed) ? 1 : 0;
        as.close();
    }
}
