package dev.herd.unicorn;

import static dev.herd.unicorn.x86_64.X86Reg.*;
import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * 10,000 open / map / hook / run / close cycles must not grow RSS, virtual size (each engine
 * reserves ~1 GiB for its code cache) or the fd count: close() must release the engine and
 * every upcall stub.
 */
class LeakTest {
    static final long CODE = 0x10000;

    @Test
    void tenThousandEngineCyclesDoNotLeak() throws IOException {
        try (GuestMem m = new GuestMem(CODE, 0x1000)) {
            // syscall ; inc rbx
            long end = m.put(CODE, 0x0f, 0x05, 0x48, 0xff, 0xc3);
            AtomicLong hooks = new AtomicLong();
            int warmup = 1_000;
            int cycles = 10_000;
            long[] base = null;
            long t0 = 0;
            for (int i = 0; i < warmup + cycles; i++) {
                if (i == warmup) {
                    System.gc();
                    base = snapshot();
                    t0 = System.nanoTime();
                }
                try (Unicorn uc = Unicorn.openX86_64()) {
                    m.map(uc, UcProt.ALL);
                    uc.hookSyscall(u -> {
                        hooks.incrementAndGet();
                        u.regWrite(RAX, 1);
                    });
                    uc.regReadBatch(new int[] {RAX, RBX}, new long[2]);
                    uc.emuStart(CODE, end, 0, 0);
                    assertEquals(1, uc.regRead(RBX));
                }
            }
            long perCycleUs = (System.nanoTime() - t0) / cycles / 1000;
            System.gc();
            long[] after = snapshot();
            long rssGrowthKiB = after[0] - base[0];
            long vmGrowthKiB = after[1] - base[1];
            long fdGrowth = after[2] - base[2];
            System.out.printf("leak test: %d cycles, %d us/cycle; RSS %d -> %d KiB (%+d), VmSize %d -> %d KiB (%+d), fds %d -> %d%n",
                    cycles, perCycleUs, base[0], after[0], rssGrowthKiB, base[1], after[1], vmGrowthKiB, base[2], after[2]);
            assertEquals(warmup + cycles, hooks.get());
            assertTrue(rssGrowthKiB < 64 * 1024, "RSS grew " + rssGrowthKiB + " KiB");
            // One leaked engine would be ~1 GiB of VmSize; allow heap/metaspace/arena jitter.
            assertTrue(vmGrowthKiB < 512 * 1024, "VmSize grew " + vmGrowthKiB + " KiB");
            assertTrue(fdGrowth < 16, "fd count grew by " + fdGrowth);
        }
    }

    /** {VmRSS KiB, VmSize KiB, open fds}. */
    static long[] snapshot() throws IOException {
        long rss = 0;
        long vm = 0;
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) {
                rss = Long.parseLong(line.replaceAll("\\D", ""));
            } else if (line.startsWith("VmSize:")) {
                vm = Long.parseLong(line.replaceAll("\\D", ""));
            }
        }
        long fds;
        try (Stream<Path> s = Files.list(Path.of("/proc/self/fd"))) {
            fds = s.count();
        }
        return new long[] {rss, vm, fds};
    }
}
