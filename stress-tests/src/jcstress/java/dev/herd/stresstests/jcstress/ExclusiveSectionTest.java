package dev.herd.stresstests.jcstress;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE_INTERESTING;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

import dev.herd.threads.ExclusiveSection;
import dev.herd.threads.SafePointHandshake;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.II_Result;

/**
 * The exclusive section against a guest thread entering guest code (a Dekker pair): the guest
 * announces guest code in its handshake and then asks whether another thread holds the section;
 * the stepper takes the section and then reads the guest's in-guest flag. Forbidden: the guest
 * enters guest code and the stepper, believing it outside, runs its instruction alone.
 *
 * <p>r1: 1 = the guest entered (it saw the section free); r2: 1 = the stepper saw it in guest code
 * (and would kick it until it leaves).
 */
@JCStressTest
@Outcome(id = "1, 1", expect = ACCEPTABLE, desc = "guest entered first; the stepper sees it and kicks it out")
@Outcome(id = "0, 1", expect = ACCEPTABLE_INTERESTING, desc = "both saw each other: the guest backs out, the stepper waits for that")
@Outcome(id = "0, 0", expect = ACCEPTABLE, desc = "the stepper first: the guest saw the owner and stays outside")
@Outcome(id = "1, 0", expect = FORBIDDEN, desc = "the guest runs guest code during the exclusive step")
@State
public class ExclusiveSectionTest {
    final ExclusiveSection section = new ExclusiveSection();
    final SafePointHandshake guest = new SafePointHandshake(() -> 0);
    final Object guestThread = new Object(), stepper = new Object();

    public ExclusiveSectionTest() {
        guest.synced(0);
    }

    @Actor
    public void guest(II_Result r) {
        guest.enterGuest();
        if (section.heldByOther(guestThread)) {
            guest.leaveGuest();
            r.r1 = 0;
        } else {
            r.r1 = 1;
        }
    }

    @Actor
    public void stepper(II_Result r) {
        section.acquire(stepper);
        r.r2 = guest.inGuest() ? 1 : 0;
    }
}
