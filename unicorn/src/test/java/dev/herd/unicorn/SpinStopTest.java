package dev.herd.unicorn;

import org.junit.jupiter.api.Test;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A guest spinning in a loop of one or two instructions (a spin-wait on a flag) must stop on
 * {@link Unicorn#stopAtNextBlock()} from another thread: the kick reaches the block-start check of
 * a block chained to itself. Also the shape of JMH's SafePointBench.engineStopRoundTrip, which hung
 * inside JMH: one kick in ~44,000 was lost (a race inside cpu_exec, see herd_tb_exec), and nothing
 * but a kick ends a self-chained loop. So the round trips here run for seconds, not a fixed 2000.
 */
class SpinStopTest {
    private static final long CODE = 0x1000;

    /** Runs {@code u} from CODE on its own thread, requests stops until it returns; whether it did. */
    private static boolean stops(Unicorn u) throws Exception {
        u.enableExactStops();
        CountDownLatch done = new CountDownLatch(1);
        Thread.ofPlatform().daemon().start(() -> {
            u.emuStart(CODE, 0, 0, 0);
            done.countDown();
        });
        for (int i = 0; i < 40 && done.getCount() > 0; i++) {
            Thread.sleep(50);
            u.stopAtNextBlock();
        }
        boolean ok = done.await(2, TimeUnit.SECONDS);
        if (!ok) { u.emuStop(); done.await(2, TimeUnit.SECONDS); }
        return ok;
    }

    private static boolean stops(int... code) throws Exception {
        try (GuestMem mem = new GuestMem(0, 0x4000); Unicorn u = Unicorn.openX86_64()) {
            mem.put(CODE, code);
            mem.map(u, UcProt.ALL);
            return stops(u);
        }
    }

    @Test
    void aSelfLoopInLibraryMemoryStops() throws Exception {
        try (Unicorn u = Unicorn.openX86_64()) {
            u.memMap(CODE, 0x1000, UcProt.READ | UcProt.EXEC);
            u.memWrite(CODE, new byte[] {(byte) 0xeb, (byte) 0xfe});
            assertTrue(stops(u));
        }
    }

    volatile long engineStops;
    volatile boolean stop;

    @Test
    void manyStopRoundTripsOfASelfLoop() throws Exception {
        Unicorn[] holder = new Unicorn[1];
        CountDownLatch ready = new CountDownLatch(1);
        Thread t = Thread.ofPlatform().daemon().start(() -> {
            Unicorn u = Unicorn.openX86_64();
            u.memMap(CODE, 0x1000, UcProt.READ | UcProt.EXEC);
            u.memWrite(CODE, new byte[] {(byte) 0xeb, (byte) 0xfe});
            u.enableExactStops();
            holder[0] = u;
            ready.countDown();
            while (!stop) {
                u.emuStart(CODE, 0, 0, 0);
                engineStops++;
            }
        });
        ready.await();
        // Round trips for 3 s (a quiet machine: millions; at least 2000 on a loaded one), each bounded.
        long end = System.nanoTime() + 3_000_000_000L;
        for (int i = 0; i < 2000 || System.nanoTime() < end; i++) {
            long before = engineStops, deadline = System.nanoTime() + 20_000_000_000L;
            holder[0].stopAtNextBlock();
            while (engineStops == before) {
                Thread.onSpinWait();
                assertTrue(System.nanoTime() < deadline, "round trip " + i + " never came back");
            }
        }
        stop = true;
        holder[0].stopAtNextBlock();
        t.join(2000);
    }

    @Test
    void aSelfLoopStops() throws Exception {
        assertTrue(stops(0xeb, 0xfe), "jmp $");
    }

    @Test
    void aTwoInstructionLoopStops() throws Exception {
        assertTrue(stops(0x48, 0xff, 0xc0, 0xeb, 0xfb), "inc rax; jmp");
    }
}
