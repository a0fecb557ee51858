package dev.herd.unicorn;

import static dev.herd.unicorn.aarch64.Arm64Reg.*;
import static org.junit.jupiter.api.Assertions.*;

import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** AArch64 guest basics: svc via the interrupt hook (DESIGN fact 8), system registers, page size. */
class Aarch64Test {
    static final long CODE = 0x10000;

    @Test
    void svcThroughInterruptHook() {
        try (GuestMem m = new GuestMem(CODE, 0x4000); Unicorn uc = Unicorn.openAarch64()) {
            m.map(uc, UcProt.ALL);
            // mov x8,#39 ; mov x0,#5 ; svc #0 ; add x1,x0,#1   (little-endian words from GNU as)
            long svc = m.put(CODE, 0xe8, 0x04, 0x80, 0xd2, 0xa0, 0x00, 0x80, 0xd2);
            long end = m.put(svc, 0x01, 0x00, 0x00, 0xd4, 0x01, 0x04, 0x00, 0x91);
            AtomicLong seen = new AtomicLong(-1);
            AtomicLong pc = new AtomicLong();
            AtomicLong nr = new AtomicLong();
            uc.hookInterrupt((u, intno) -> {
                seen.set(intno);
                pc.set(u.regRead(PC));
                nr.set(u.regRead(X8));
                u.regWrite(X0, 41);
            });
            uc.emuStart(CODE, end, 0, 0);
            assertEquals(2, seen.get(), "svc is intno 2");
            assertEquals(svc + 4, pc.get(), "PC is already past the svc");
            assertEquals(39, nr.get());
            assertEquals(42, uc.regRead(X1));
            assertEquals(end, uc.regRead(PC));
            assertThrows(UnsupportedOperationException.class, () -> uc.hookSyscall(u -> {}));
        }
    }

    @Test
    void systemRegistersAndPageSize() {
        try (Unicorn uc = Unicorn.openAarch64()) {
            uc.regWrite(TPIDR_EL0, 0x7fff_0000_1000L);
            assertEquals(0x7fff_0000_1000L, uc.regRead(TPIDR_EL0));
            uc.regWriteBatch(new int[] {X0, X30, SP}, new long[] {1, 30, 0x8000});
            long[] out = new long[3];
            uc.regReadBatch(new int[] {X0, LR, SP}, out);
            assertArrayEquals(new long[] {1, 30, 0x8000}, out);
            System.out.println("aarch64 page size: " + uc.pageSize());
            assertEquals(1024, uc.pageSize(), "2.0.1 aarch64 uses 1 KiB target pages (DESIGN fact 7)");
        }
    }
}
