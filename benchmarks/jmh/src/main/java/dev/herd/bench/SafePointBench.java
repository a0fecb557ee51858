package dev.herd.bench;

import dev.herd.threads.SafePointHandshake;
import dev.herd.unicorn.Unicorn;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * Safe points: the coherence handshake ({@link SafePointHandshake}) and the exact engine stop it
 * relies on ({@code Unicorn.stopAtNextBlock}, a flag read by a native block hook).
 *
 * <ul>
 * <li>{@code enterLeave}: one {@code enterGuest()} + {@code leaveGuest()} on the guest thread's own
 *     side (what every syscall that returns to the guest pays).</li>
 * <li>{@code handshakeRoundTrip}: a changer publishes a new address-space version and kicks until
 *     {@code mustKick} says no; a second Java thread plays the guest thread: it "runs guest code"
 *     (spins on a kick flag), leaves on the kick, syncs (records the version) and re-enters. The
 *     Java-side protocol cost without an engine (two threads, cache-line transfers).</li>
 * <li>{@code engineStopRoundTrip}: a real engine on its own thread spinning in a one-block guest
 *     loop; the benchmark thread calls {@code stopAtNextBlock()} and waits until the engine thread
 *     has left {@code uc_emu_start}, noted the stop and re-entered: kick → exact stop → restart,
 *     the core of every safe point (signal delivery, mapping change) of a thread in guest code.</li>
 * </ul>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class SafePointBench {
    volatile long published = 1;
    volatile boolean kick, stop;
    volatile long engineStops;
    SafePointHandshake own, guest;
    Thread guestThread, engineThread;
    volatile Unicorn engine;

    @Setup(Level.Trial)
    public void setUp() throws InterruptedException {
        own = new SafePointHandshake(() -> published);
        own.synced(published);
        guest = new SafePointHandshake(() -> published);
        guestThread = new Thread(() -> {
            while (!stop) {
                if (!guest.enterGuest()) { guest.synced(published); continue; }
                while (!kick && !stop) Thread.onSpinWait();     // "in guest code"
                kick = false;
                guest.leaveGuest();
            }
        }, "simulated-guest");
        guestThread.setDaemon(true);
        guestThread.start();

        CountDownLatch ready = new CountDownLatch(1);
        engineThread = new Thread(() -> {
            Unicorn u = Code.privateEngine();
            u.enableExactStops();
            engine = u;
            ready.countDown();
            try {
                while (!stop) {
                    u.emuStart(Code.SPIN.address(), 0, 0, 0);   // returns at the stop request
                    engineStops++;
                }
            } finally {
                u.close();
            }
        }, "engine");
        engineThread.setDaemon(true);
        engineThread.start();
        ready.await();
    }

    @TearDown(Level.Trial)
    public void close() throws InterruptedException {
        stop = true;
        engine.stopAtNextBlock();
        guestThread.join(5_000);
        engineThread.join(5_000);
    }

    @Benchmark
    public boolean enterLeave() {
        boolean current = own.enterGuest();
        own.leaveGuest();
        return current;
    }

    @Benchmark
    public long handshakeRoundTrip() {
        long v = ++published;     // single writer: the benchmark thread
        while (guest.mustKick(v)) {
            kick = true;
            Thread.onSpinWait();
        }
        return v;
    }

    @Benchmark
    public long engineStopRoundTrip() {
        long before = engineStops;
        engine.stopAtNextBlock();
        long now;
        while ((now = engineStops) == before) Thread.onSpinWait();
        return now;
    }
}
