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
 * relies on ({@code Unicorn.stopAtNextBlock}: a flag and a kick of the engine, taken at its next block start).
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
 * The waiting benchmark thread spins, then yields (Herd's {@code GuestThreads.awaitCoherent} parks
 * between re-kicks instead). Both round trips need two threads on CPU at once: on a loaded 2-core
 * machine they measure the scheduler (milliseconds; DESIGN fact 6 measured 20-80 µs for a stop),
 * so read them only from a quiet machine.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class SafePointBench {
    /** The guest thread's own handshake, no other thread (enterLeave). */
    @State(Scope.Thread)
    public static class Own {
        long published = 1;
        SafePointHandshake handshake;

        @Setup(Level.Trial)
        public void setUp() {
            handshake = new SafePointHandshake(() -> published);
            handshake.synced(published);
        }
    }

    /** A second Java thread playing a guest thread in guest code (handshakeRoundTrip). */
    @State(Scope.Thread)
    public static class SimulatedGuest {
        volatile long published = 1;
        volatile boolean kick, stop;
        SafePointHandshake guest;
        Thread thread;

        @Setup(Level.Trial)
        public void setUp() {
            guest = new SafePointHandshake(() -> published);
            thread = new Thread(() -> {
                while (!stop) {
                    if (!guest.enterGuest()) { guest.synced(published); continue; }
                    while (!kick && !stop) Thread.onSpinWait();     // "in guest code"
                    kick = false;
                    guest.leaveGuest();
                }
            }, "simulated-guest");
            thread.setDaemon(true);
            thread.start();
        }

        @TearDown(Level.Trial)
        public void close() throws InterruptedException {
            stop = true;
            thread.join(5_000);
        }
    }

    /** A real engine spinning in guest code on its own thread (engineStopRoundTrip). */
    @State(Scope.Thread)
    public static class SpinningEngine {
        volatile boolean stop;
        volatile long engineStops;
        volatile Unicorn engine;
        Thread thread;

        @Setup(Level.Trial)
        public void setUp() throws InterruptedException {
            CountDownLatch ready = new CountDownLatch(1);
            thread = new Thread(() -> {
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
            thread.setDaemon(true);
            thread.start();
            ready.await();
        }

        @TearDown(Level.Trial)
        public void close() throws InterruptedException {
            stop = true;
            engine.stopAtNextBlock();
            thread.join(5_000);
        }
    }

    @Benchmark
    public boolean enterLeave(Own s) {
        boolean current = s.handshake.enterGuest();
        s.handshake.leaveGuest();
        return current;
    }

    @Benchmark
    public long handshakeRoundTrip(SimulatedGuest s) {
        long v = ++s.published;     // single writer: the benchmark thread
        for (int spins = 0; s.guest.mustKick(v); spins++) {
            s.kick = true;
            pause(spins);
        }
        return v;
    }

    @Benchmark
    public long engineStopRoundTrip(SpinningEngine s) {
        long before = s.engineStops;
        s.engine.stopAtNextBlock();
        long now;
        for (int spins = 0; (now = s.engineStops) == before; spins++) pause(spins);
        return now;
    }

    /** Spin first (a quiet machine: µs round trips), then yield (a busy one: let the other thread run). */
    private static void pause(int spins) {
        if (spins < 20_000) Thread.onSpinWait();
        else Thread.yield();
    }
}
