package dev.herd.threads.atomics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.herd.unicorn.Unicorn;
import dev.herd.unicorn.x86_64.X86Reg;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Several Java threads, each with its own engine over one shared GuestAddressSpace, hammer one
 * counter: patched sites give exact totals; the original code under Debian's libunicorn is torn.
 * Also measures the cost per trapped op (printed).
 */
class AtomicConcurrencyTest {
    static final long COUNTER = Rig.DATA + 0x1000, LOCK = Rig.DATA + 0x1040;
    static final int SLOT = 256;
    static final String[] ROUTINES = {
        // 0: lock add
        "L0: lock add qword ptr [rdi], 1\n dec ecx\n jnz L0\n syscall",
        // 1: lock xadd
        "L1: mov eax, 1\n lock xadd qword ptr [rdi], rax\n dec ecx\n jnz L1\n syscall",
        // 2: lock cmpxchg retry loop
        "L2: mov rax, qword ptr [rdi]\nR2: lea rdx, [rax+1]\n lock cmpxchg qword ptr [rdi], rdx\n jnz R2\n dec ecx\n jnz L2\n syscall",
        // 3: xchg spinlock around a plain increment
        "L3: mov eax, 1\nS3: xchg eax, dword ptr [rsi]\n test eax, eax\n jz G3\nW3: pause\n cmp dword ptr [rsi], 0\n jne W3\n jmp L3\n"
            + "G3: mov rax, qword ptr [rdi]\n add rax, 1\n mov qword ptr [rdi], rax\n mov dword ptr [rsi], 0\n dec ecx\n jnz L3\n syscall",
        // 4: lock inc dword + mfence
        "L4: lock inc dword ptr [rdi]\n mfence\n dec ecx\n jnz L4\n syscall",
        // 5: baseline loop without atomics (for cost subtraction)
        "L5: add rax, 1\n dec ecx\n jnz L5\n syscall",
        // 6: the original lock add, but on a per-thread word (rdx) so plain Unicorn runs it correctly
        "L6: lock add qword ptr [rdx], 1\n dec ecx\n jnz L6\n syscall",
        // 7: lock cmpxchg16b retry loop incrementing the low half
        "L7: mov rax, qword ptr [rdi]\n mov rdx, qword ptr [rdi+8]\nR7: lea rbx, [rax+1]\n mov rcx, rdx\n lock cmpxchg16b xmmword ptr [rdi]\n jnz R7\n"
            + " dec r8d\n jnz L7\n syscall",
    };

    static byte[] code;

    @BeforeAll
    static void assemble() {
        Assumptions.assumeTrue(Asm.available(), "binutils not installed");
        StringBuilder sb = new StringBuilder();
        for (String r : ROUTINES) sb.append(".balign ").append(SLOT).append(", 0x90\n").append(r).append('\n');
        code = Asm.assemble(sb.toString(), Rig.CODE);
    }

    /** An engine whose syscall hook runs sites (if {@code sites != null}) and stops on a real syscall. */
    static Unicorn engine(Rig rig, boolean patched) {
        Unicorn u = rig.sharedEngine();
        u.hookSyscall(e -> {
            if (patched && rig.sites.execute(e, e.regRead(X86Reg.RIP))) return;
            e.emuStop();
        });
        return u;
    }

    /** Runs routine r on `threads` engines in parallel, n iterations each; returns wall ns. */
    static long race(Rig rig, boolean patched, int r, int threads, int n, long timeoutMicros) {
        CountDownLatch ready = new CountDownLatch(threads), go = new CountDownLatch(1);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        List<Thread> ts = new ArrayList<>();
        long[] wall = new long[threads];
        for (int t = 0; t < threads; t++) {
            int id = t;
            Thread th = new Thread(() -> {
                try (Unicorn u = engine(rig, patched)) {
                    long pc = Rig.CODE + (long) r * SLOT;
                    // warm up: run a few iterations on a private word first, then reset
                    setRegs(u, 2, Rig.DATA + 0x1800 + 64L * id);
                    u.emuStart(pc, pc + SLOT, 0, 0);
                    setRegs(u, n, Rig.DATA + 0x1800 + 64L * id);
                    ready.countDown();
                    go.await();
                    long t0 = System.nanoTime();
                    u.emuStart(pc, pc + SLOT, timeoutMicros, 0);
                    wall[id] = System.nanoTime() - t0;
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                    ready.countDown();
                }
            });
            ts.add(th);
            th.start();
        }
        try {
            ready.await();
            rig.as.memory().writeLong(COUNTER, 0);
            rig.as.memory().writeLong(COUNTER + 8, 0);
            rig.as.memory().writeLong(LOCK, 0);
            go.countDown();
            for (Thread t : ts) t.join();
        } catch (InterruptedException e) {
            throw new AssertionError(e);
        }
        if (failure.get() != null) throw new AssertionError(failure.get());
        long max = 0;
        for (long w : wall) max = Math.max(max, w);
        return max;
    }

    static void setRegs(Unicorn u, int n, long privateWord) {
        u.regWrite(X86Reg.RCX, n);
        u.regWrite(X86Reg.R8, n);
        u.regWrite(X86Reg.RDI, COUNTER);
        u.regWrite(X86Reg.RSI, LOCK);
        u.regWrite(X86Reg.RDX, privateWord);
        u.regWrite(X86Reg.RSP, Rig.DATA + 0x800);
    }

    @Test
    void patchedSitesGiveExactTotals() {
        try (Rig rig = new Rig(code)) {
            rig.scan();
            assertTrue(rig.sites.siteCount() >= 7, rig.sites.sites().toString());
            int n = 20_000;
            for (int threads : new int[] {2, 4}) {
                for (int r : new int[] {0, 1, 2, 3, 4, 7}) {
                    race(rig, true, r, threads, n, 0);
                    long got = r == 4 ? rig.as.memory().readInt(COUNTER) : rig.as.memory().readLong(COUNTER);
                    assertEquals((long) threads * n, got, "routine " + r + " threads " + threads);
                    if (r == 7) assertEquals(0, rig.as.memory().readLong(COUNTER + 8));
                }
            }
        }
    }

    @Test
    void originalCodeIsTornOnThisLibunicorn() {
        try (Rig rig = new Rig(code)) {
            int n = 200_000;
            StringBuilder report = new StringBuilder("unpatched, 2 threads, " + n + " each:");
            long lostTotal = 0;
            for (int r : new int[] {0, 1, 2}) {
                race(rig, false, r, 2, n, 20_000_000);
                long lost = 2L * n - rig.as.memory().readLong(COUNTER);
                lostTotal += lost;
                report.append(" routine ").append(r).append(" lost ").append(lost);
            }
            System.out.println(report);
            if (Runtime.getRuntime().availableProcessors() >= 2) {
                assertTrue(lostTotal > 0, "expected torn updates with Debian's libunicorn: " + report);
            }
        }
    }

    @Test
    void selfTestSaysThisLibunicornIsNotAtomic() {
        long t0 = System.nanoTime();
        long lost = AtomicSelfTest.lostUpdates(AtomicSelfTest.ITERATIONS, false);
        boolean atomic = AtomicSelfTest.unicornAtomicsAreAtomic();
        System.out.printf("self-test: lost %d of %d updates; atomic=%b; %.0f ms for both runs%n", lost,
                2 * AtomicSelfTest.ITERATIONS, atomic, (System.nanoTime() - t0) / 1e6);
        assertFalse(atomic);
    }

    /** DESIGN fact 13: with the translator's parallel flag, Debian's 2.0.1 does lock add exactly. */
    @Test
    void selfTestSaysTranslatorAtomicsAreAtomic() {
        long t0 = System.nanoTime();
        long lost = AtomicSelfTest.lostUpdates(AtomicSelfTest.ITERATIONS, true);
        boolean atomic = AtomicSelfTest.translatorAtomicsAreAtomic();
        System.out.printf("translator atomics self-test: lost %d of %d updates; atomic=%b; %.0f ms for both runs%n", lost,
                2 * AtomicSelfTest.ITERATIONS, atomic, (System.nanoTime() - t0) / 1e6);
        assertEquals(0, lost);
        if (Runtime.getRuntime().availableProcessors() >= 2) assertTrue(atomic);
    }

    @Test
    void costPerTrappedOp() {
        try (Rig rig = new Rig(code); Rig plain = new Rig(code)) {
            rig.scan();
            int n = 1_000_000;
            for (int rep = 0; rep < 3; rep++) {
                long base = race(rig, true, 5, 1, n, 0);
                long orig = race(plain, false, 6, 1, n, 0); // original lock add, private word, untrapped
                long one = race(rig, true, 0, 1, n, 0);
                long two = race(rig, true, 0, 2, n, 0);
                long twoOrig = race(plain, false, 0, 2, n, 0);
                long xadd = race(rig, true, 1, 1, n, 0);
                long cmpx = race(rig, true, 2, 1, n, 0);
                long fence = race(rig, true, 4, 1, n, 0);
                System.out.printf("per iteration (ns): empty loop %.1f | lock add: original %.1f, trapped 1 thread %.1f, "
                                + "trapped 2 threads %.1f (wall/iter/thread), original 2 threads torn %.1f | xadd %.1f | cmpxchg loop %.1f | "
                                + "lock inc + mfence %.1f%n",
                        base / (double) n, orig / (double) n, one / (double) n, two / (double) n, twoOrig / (double) n,
                        xadd / (double) n, cmpx / (double) n, fence / (double) n);
            }
        }
    }
}
