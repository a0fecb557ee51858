package dev.herd.unicorn;

import static org.junit.jupiter.api.Assertions.*;

import dev.herd.unicorn.x86_64.X86Reg;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * Translator atomics (DESIGN fact 13, herd_native.c) between two engines on two threads sharing
 * memory: a token passed around with {@code xchg} is never lost or duplicated. libunicorn 2.0.1's
 * own xchg helper is a plain load and store (ARCHITECTURE engine fact 13), so without Herd's
 * replacement the token gets lost; {@code lock add} totals are exact either way.
 */
class TranslatorAtomicsTest {
    static final long CODE = 0x1000, DATA = 0x2000;
    /* loop: xor eax,eax; xchg rax,[rdi]; test rax,rax; jz skip; lock add [rdi+8],rax; xchg rax,[rdi];
       skip: dec rcx; jnz loop; nop */
    static final int[] XCHG_CHAIN = {0x31, 0xc0, 0x48, 0x87, 0x07, 0x48, 0x85, 0xc0, 0x74, 0x08, 0xf0, 0x48,
            0x01, 0x47, 0x08, 0x48, 0x87, 0x07, 0x48, 0xff, 0xc9, 0x75, 0xe9, 0x90};

    @Test
    void xchgPassesATokenBetweenEnginesWithoutLosingIt() throws Exception {
        assumeTranslatorAtomics();
        try (GuestMem code = new GuestMem(CODE, 0x1000); GuestMem data = new GuestMem(DATA, 0x1000)) {
            code.put(CODE, XCHG_CHAIN);
            data.host.set(ValueLayout.JAVA_LONG, 0, 1); // the token
            long n = 500_000;
            CountDownLatch go = new CountDownLatch(1);
            AtomicReference<Throwable> failure = new AtomicReference<>();
            Thread[] ts = new Thread[2];
            for (int t = 0; t < 2; t++) {
                ts[t] = new Thread(() -> {
                    try (Unicorn u = Unicorn.openX86_64()) {
                        u.enableExactStops();
                        assertTrue(u.enableTranslatorAtomics());
                        code.map(u, UcProt.READ | UcProt.EXEC);
                        data.map(u, UcProt.READ | UcProt.WRITE);
                        u.regWrite(X86Reg.RDI, DATA);
                        u.regWrite(X86Reg.RCX, n);
                        go.await();
                        u.emuStart(CODE, CODE + XCHG_CHAIN.length - 1, 0, 0);
                        assertEquals(0, u.translatorAtomicMisses());
                    } catch (Throwable e) {
                        failure.compareAndSet(null, e);
                    }
                });
                ts[t].start();
            }
            go.countDown();
            for (Thread t : ts) t.join();
            if (failure.get() != null) throw new AssertionError(failure.get());
            assertEquals(1, data.host.get(ValueLayout.JAVA_LONG, 0), "the token survived every exchange");
            long taken = data.host.get(ValueLayout.JAVA_LONG, 8);
            assertTrue(taken >= 1 && taken <= 2 * n, "takes counted: " + taken);
        }
    }

    private static void assumeTranslatorAtomics() {
        org.junit.jupiter.api.Assumptions.assumeTrue(
                (NativeHelpers.wrapperTargets() & NativeHelpers.PARALLEL_X86_64) != 0, "translator atomics unavailable");
    }
}
