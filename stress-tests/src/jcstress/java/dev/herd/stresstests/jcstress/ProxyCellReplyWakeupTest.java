package dev.herd.stresstests.jcstress;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

import dev.herd.proxy.ProxyCell;
import org.agrona.concurrent.UnsafeBuffer;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.III_Result;

/**
 * A kernel-proxy cell, reply direction: the shadow publishes its result while the requester is
 * about to sleep. Either the shadow sees the requester's announcement (and wakes it) or the
 * requester sees the reply, whose result is then the shadow's (r3): never neither.
 */
@JCStressTest
@Outcome(id = {"1, 0, 1", "0, 1, 1", "1, 1, 1"}, expect = ACCEPTABLE, desc = "the reply arrives, intact")
@Outcome(id = "0, 0, 1", expect = FORBIDDEN, desc = "lost wake-up: the requester sleeps on a reply")
@Outcome(expect = FORBIDDEN, desc = "a reply seen without its result")
@State
public class ProxyCellReplyWakeupTest {
    final ProxyCell cell = new ProxyCell(new UnsafeBuffer(java.nio.ByteBuffer.allocateDirect(ProxyCell.size())), 0);

    public ProxyCellReplyWakeupTest() {
        cell.writeRequest(110, 0, 0, 0, 0, 0, 0);
        cell.publishRequest();
    }

    @Actor
    public void shadow(III_Result r) {
        r.r1 = cell.publishDone(4242) ? 1 : 0;
    }

    @Actor
    public void requester(III_Result r) {
        boolean done = cell.announceRequesterSleep();
        r.r2 = done ? 1 : 0;
        r.r3 = !done || cell.takeResult() == 4242 ? 1 : 0;
    }
}
