package dev.herd.stresstests.jcstress;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

import dev.herd.proxy.ProxyCell;
import org.agrona.concurrent.UnsafeBuffer;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.II_Result;

/**
 * A kernel-proxy cell, request direction: the requester publishes a request while the shadow
 * (the proxy's thread, modelled by ProxyCell's shadow steps) is about to sleep. Either the
 * requester sees the shadow's announcement (and wakes it) or the shadow sees the request (and does
 * not sleep): never neither, which would leave the request unserved.
 */
@JCStressTest
@Outcome(id = {"1, 0", "0, 1", "1, 1"}, expect = ACCEPTABLE, desc = "the request is served")
@Outcome(id = "0, 0", expect = FORBIDDEN, desc = "lost wake-up: the shadow sleeps on a request")
@State
public class ProxyCellRequestWakeupTest {
    final ProxyCell cell = new ProxyCell(new UnsafeBuffer(java.nio.ByteBuffer.allocateDirect(ProxyCell.size())), 0);

    @Actor
    public void requester(II_Result r) {
        cell.writeRequest(39, 1, 2, 3, 4, 5, 6);
        r.r1 = cell.publishRequest() ? 1 : 0;
    }

    @Actor
    public void shadow(II_Result r) {
        boolean sawRequest = cell.announceShadowSleep();
        r.r2 = sawRequest && cell.requestNumber() == 39 && cell.argument(5) == 6 ? 1 : 0;
    }
}
