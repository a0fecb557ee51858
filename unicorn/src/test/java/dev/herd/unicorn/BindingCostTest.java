package dev.herd.unicorn;

import static dev.herd.unicorn.x86_64.X86Reg.*;
import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;

/**
 * Prints (does not assert) the binding's hot-path costs: syscall-hook upcall, single and batched
 * register access, and uc_emu_start entry. Numbers are best-of-5 on a warmed JIT; noisy machines
 * vary, which is why nothing is asserted.
 */
class BindingCostTest {
    static final long CODE = 0x10000;
    static final int[] IDS7 = {RAX, RDI, RSI, RDX, R10, R8, R9};

    long counter;

    @Test
    void printCosts() {
        try (GuestMem m = new GuestMem(CODE, 0x1000); Unicorn uc = Unicorn.openX86_64()) {
            m.map(uc, UcProt.ALL);
            // loop: syscall ; dec rcx ; jnz loop        baseline: nop ; nop ; dec rcx ; jnz
            long sysLoop = CODE;
            long sysEnd = m.put(sysLoop, 0x0f, 0x05, 0x48, 0xff, 0xc9, 0x75, 0xf9);
            long nopLoop = CODE + 0x100;
            long nopEnd = m.put(nopLoop, 0x90, 0x90, 0x48, 0xff, 0xc9, 0x75, 0xf9);
            int n = 2_000_000;
            HookHandle h = uc.hookSyscall(u -> counter++);
            double base = best(() -> run(uc, nopLoop, nopEnd, n), n);
            double empty = best(() -> run(uc, sysLoop, sysEnd, n), n);
            uc.hookDel(h);
            long[] regs = new long[7];
            uc.hookSyscall(u -> {
                u.regReadBatch(IDS7, regs);
                u.regWrite(RAX, regs[0] + 1);
            });
            double real = best(() -> run(uc, sysLoop, sysEnd, n), n);
            System.out.printf("syscall hook upcall: %.1f ns over the nop loop (%.1f ns/iter loop); "
                    + "with 7-reg batch read + RAX write: %.1f ns%n", empty - base, base, real - base);

            int k = 5_000_000;
            long[] out = new long[7];
            double batch = best(() -> {
                for (int i = 0; i < k; i++) {
                    uc.regReadBatch(IDS7, out);
                }
            }, k);
            double single = best(() -> {
                long s = 0;
                for (int i = 0; i < k; i++) {
                    s += uc.regRead(RAX);
                }
                counter += s;
            }, k);
            double write = best(() -> {
                for (int i = 0; i < k; i++) {
                    uc.regWrite(RAX, i);
                }
            }, k);
            long[] vals = {1, 2, 3, 4, 5, 6, 7};
            double wbatch = best(() -> {
                for (int i = 0; i < k; i++) {
                    uc.regWriteBatch(IDS7, vals);
                }
            }, k);
            System.out.printf("regReadBatch(7): %.1f ns, regRead: %.1f ns, regWrite: %.1f ns, regWriteBatch(7): %.1f ns%n",
                    batch, single, write, wbatch);

            long oneEnd = m.put(CODE + 0x200, 0x48, 0xff, 0xc3); // inc rbx
            int e = 200_000;
            double entry = best(() -> {
                for (int i = 0; i < e; i++) {
                    uc.emuStart(CODE + 0x200, oneEnd, 0, 0);
                }
            }, e);
            System.out.printf("emuStart of one instruction: %.0f ns%n", entry);
            assertTrue(counter != 0);
        }
    }

    private static void run(Unicorn uc, long begin, long end, int n) {
        uc.regWrite(RCX, n);
        uc.emuStart(begin, end, 0, 0);
    }

    private static double best(Runnable r, int ops) {
        double best = Double.MAX_VALUE;
        for (int rep = 0; rep < 5; rep++) {
            long t0 = System.nanoTime();
            r.run();
            best = Math.min(best, (System.nanoTime() - t0) / (double) ops);
        }
        return best;
    }
}
