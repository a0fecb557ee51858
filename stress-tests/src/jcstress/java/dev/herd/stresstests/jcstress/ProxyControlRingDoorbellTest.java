package dev.herd.stresstests.jcstress;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

import java.nio.ByteBuffer;

import org.agrona.concurrent.UnsafeBuffer;
import org.agrona.concurrent.ringbuffer.ManyToOneRingBuffer;
import org.agrona.concurrent.ringbuffer.RingBufferDescriptor;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.II_Result;

/**
 * The kernel proxy's control ring (Agrona's ManyToOneRingBuffer, read in C by herd_proxy.c's
 * control loop) and its doorbell: a Herd thread writes an attach message, fences and reads the
 * reader's sleeping flag (ProxyHost.ringDoorbell); the reader announces that it sleeps, then
 * looks at the ring again. Either the writer sees the announcement (and rings) or the reader
 * finds the message: never neither.
 */
@JCStressTest
@Outcome(id = {"1, 0", "0, 1", "1, 1"}, expect = ACCEPTABLE, desc = "the message is read")
@Outcome(id = "0, 0", expect = FORBIDDEN, desc = "lost wake-up: the reader sleeps on a message")
@State
public class ProxyControlRingDoorbellTest {
    final UnsafeBuffer sleeping = new UnsafeBuffer(ByteBuffer.allocateDirect(64));
    final ManyToOneRingBuffer ring = new ManyToOneRingBuffer(
            new UnsafeBuffer(ByteBuffer.allocateDirect(4096 + RingBufferDescriptor.TRAILER_LENGTH)));
    final UnsafeBuffer msg = new UnsafeBuffer(new byte[4]);

    @Actor
    public void writer(II_Result r) {
        msg.putInt(0, 7);
        ring.write(1, msg, 0, 4);
        java.lang.invoke.VarHandle.fullFence();
        r.r1 = sleeping.getIntVolatile(0) != 0 ? 1 : 0;
    }

    @Actor
    public void reader(II_Result r) {
        sleeping.putIntVolatile(0, 1);
        java.lang.invoke.VarHandle.fullFence();
        int[] got = new int[1];
        ring.read((type, buffer, index, length) -> got[0] = buffer.getInt(index));
        r.r2 = got[0] == 7 ? 1 : 0;
    }
}
