package dev.herd.threads.atomics;

import dev.herd.unicorn.UcProt;
import dev.herd.unicorn.Unicorn;
import dev.herd.unicorn.x86_64.X86Reg;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Start-up self-test: does the loaded libunicorn execute guest atomics atomically across engines
 * (a build whose translated blocks use parallel TCG)? Debian's 2.0.1 does not (DESIGN fact 2).
 * {@link #unicornAtomicsAreAtomicCached()} keeps the answer per library build.
 */
public final class AtomicSelfTest {
    private AtomicSelfTest() {}

    private static final long CODE = 0x1000, DATA = 0x2000;
    /** Iterations per engine: ~50 ms with Debian's build, where about half the updates get lost. */
    static final int ITERATIONS = 400_000;

    /**
     * Runs two engines in parallel Java threads, each doing {@code lock add qword [shared], 1}
     * {@link #ITERATIONS} times on one host word mapped into both (memMapPtr). True iff no update
     * was lost. With fewer than two host CPUs the engines barely overlap and a torn build could
     * pass, so the answer is then false (patching is always correct, only slower).
     */
    public static boolean unicornAtomicsAreAtomic() {
        if (Runtime.getRuntime().availableProcessors() < 2) return false;
        return lostUpdates(ITERATIONS, false) == 0;
    }

    private static final String FACT = "atomicsAreAtomic";

    /**
     * {@link #unicornAtomicsAreAtomic()}, remembered per library build and Herd build
     * ({@link dev.herd.threads.LibraryFacts}), so only a first run pays for the race. A "not atomic"
     * answer is always kept (atomic instructions never lose an update); an "atomic" answer only if
     * the two engines really raced (their runs overlapped by at least half), since on a loaded
     * machine they might have run one after the other and a torn build would then have passed.
     */
    public static boolean unicornAtomicsAreAtomicCached() {
        long[] known = dev.herd.threads.LibraryFacts.get(FACT);
        if (known != null && known.length == 1 && (known[0] == 0 || known[0] == 1)) return known[0] == 1;
        if (Runtime.getRuntime().availableProcessors() < 2) return false;   // not kept: more CPUs can tell
        Race r = race(ITERATIONS, false);
        boolean atomic = r.lost() == 0;
        if (!atomic || r.overlapped()) dev.herd.threads.LibraryFacts.put(FACT, atomic ? 1 : 0);
        return atomic;
    }

    private static final String TRANSLATOR_FACT = "translatorAtomicsAreAtomic";

    /**
     * The same race with translator atomics enabled on both engines ({@link Unicorn#enableTranslatorAtomics},
     * DESIGN fact 13): true iff the library allows them, every translation passed the layout check,
     * and no update was lost. Remembered like {@link #unicornAtomicsAreAtomicCached()}.
     */
    public static boolean translatorAtomicsAreAtomic() {
        long[] known = dev.herd.threads.LibraryFacts.get(TRANSLATOR_FACT);
        if (known != null && known.length == 1 && (known[0] == 0 || known[0] == 1)) return known[0] == 1;
        if (Runtime.getRuntime().availableProcessors() < 2) return false;
        try (Unicorn probe = Unicorn.openX86_64()) {
            probe.enableExactStops();
            if (!probe.enableTranslatorAtomics()) return false;
        }
        Race r = race(ITERATIONS, true);
        boolean atomic = r.lost() == 0;
        if (!atomic || r.overlapped()) dev.herd.threads.LibraryFacts.put(TRANSLATOR_FACT, atomic ? 1 : 0);
        return atomic;
    }

    /** How a race went: updates lost, and whether the two engines' runs overlapped by half or more. */
    record Race(long lost, boolean overlapped) {}

    /**
     * Runs the two-engine lock-add race and returns how many of the 2*n updates were lost; with
     * {@code translator}, on engines with translator atomics (a translation that missed the flag
     * counts as n lost updates, so the answer cannot be "atomic" by luck).
     */
    static long lostUpdates(int n, boolean translator) {
        return race(n, translator).lost();
    }

    /** Runs the two-engine lock-add race. */
    static Race race(int n, boolean translator) {
        byte[] code = {
            (byte) 0xb9, (byte) n, (byte) (n >>> 8), (byte) (n >>> 16), (byte) (n >>> 24), // mov ecx, n
            (byte) 0xf0, 0x48, (byte) 0x83, 0x05, 0, 0, 0, 0, 0x01,                      // L: lock add qword [rip+d], 1
            (byte) 0xff, (byte) 0xc9,                                                      // dec ecx
            0x75, (byte) 0xf3,                                                             // jnz L
        };
        int disp = (int) (DATA - (CODE + 14));
        for (int i = 0; i < 4; i++) code[9 + i] = (byte) (disp >>> (8 * i));
        long end = CODE + code.length;
        try (Arena arena = Arena.ofShared()) {
            MemorySegment mem = arena.allocate(0x2000, 0x1000);
            MemorySegment.copy(code, 0, mem, ValueLayout.JAVA_BYTE, 0, code.length);
            CountDownLatch ready = new CountDownLatch(2), go = new CountDownLatch(1);
            AtomicReference<Throwable> failure = new AtomicReference<>();
            Thread[] ts = new Thread[2];
            long[] began = new long[2], ended = new long[2];
            java.util.concurrent.atomic.AtomicLong misses = new java.util.concurrent.atomic.AtomicLong();
            for (int t = 0; t < 2; t++) {
                int index = t;
                ts[t] = new Thread(() -> {
                    try (Unicorn u = Unicorn.openX86_64()) {
                        u.enableExactStops();
                        if (translator && !u.enableTranslatorAtomics()) misses.addAndGet(n);
                        u.memMapPtr(CODE, 0x2000, UcProt.ALL, mem.address());
                        u.regWrite(X86Reg.RSP, DATA + 0x800);
                        u.emuStart(CODE, CODE + 5, 0, 0); // warm up: translate before the race
                        u.regWrite(X86Reg.RCX, n);
                        ready.countDown();
                        go.await();
                        began[index] = System.nanoTime();
                        u.emuStart(CODE + 5, end, 0, 0);
                        ended[index] = System.nanoTime();
                        if (u.translatorAtomicMisses() != 0) misses.addAndGet(n);
                    } catch (Throwable e) {
                        failure.compareAndSet(null, e);
                        ready.countDown();
                    }
                }, "herd-atomic-selftest-" + t);
                ts[t].setDaemon(true);
                ts[t].start();
            }
            try {
                ready.await();
                go.countDown();
                for (Thread t : ts) t.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted", e);
            }
            if (failure.get() != null) throw new IllegalStateException("atomic self-test failed to run", failure.get());
            long together = Math.min(ended[0], ended[1]) - Math.max(began[0], began[1]);
            long shorter = Math.min(ended[0] - began[0], ended[1] - began[1]);
            return new Race(2L * n - mem.get(ValueLayout.JAVA_LONG, DATA - CODE) + misses.get(), together * 2 >= shorter);
        }
    }
}
