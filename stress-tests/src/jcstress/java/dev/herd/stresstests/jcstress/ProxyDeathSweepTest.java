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
 * The proxy dies as a request is published (ProxyHost.call against ProxyHost.proxyDied): the
 * requester publishes, then reads the dead flag; Herd's watcher sets the flag, then completes any
 * published request with EIO. Either the requester sees the flag (and withdraws) or the watcher
 * completes the request: never neither, which would leave a guest thread waiting forever.
 */
@JCStressTest
@Outcome(id = {"1, 0", "0, 1", "1, 1"}, expect = ACCEPTABLE, desc = "the call ends with EIO")
@Outcome(id = "0, 0", expect = FORBIDDEN, desc = "the request is left waiting for a dead proxy")
@State
public class ProxyDeathSweepTest {
    final ProxyCell cell = new ProxyCell(new UnsafeBuffer(java.nio.ByteBuffer.allocateDirect(ProxyCell.size())), 0);
    volatile boolean dead;

    @Actor
    public void requester(II_Result r) {
        cell.writeRequest(0, 0, 0, 0, 0, 0, 0);
        cell.publishRequest();
        r.r1 = dead ? 1 : 0;
    }

    @Actor
    public void watcher(II_Result r) {
        dead = true;
        r.r2 = cell.completeIfRequested(-5) ? 1 : 0;
    }
}
