package dev.herd.memory;

import dev.herd.unicorn.MemRegion;
import dev.herd.unicorn.Unicorn;
import dev.herd.unicorn.x86_64.X86Reg;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class EngineMemoryViewTest {
    static final long P = 4096;
    static final int ANON = MapFlags.PRIVATE | MapFlags.ANONYMOUS;

    /**
     * Layout from the unicorn module's removeCache test: code: jmp code+0x10; code+0x10: mov rax,
     * imm32; jmp code+0x30; code+0x30: nop; runs stop at code+0x31. Only the middle block is
     * rewritten, and it does not contain the stop address (uc_emu_start drops the block holding
     * `until`, which would hide staleness).
     */
    static void program(GuestAddressSpace as, long code, int imm) {
        as.writeIgnoringProtection(code, new byte[] {(byte) 0xeb, 0x0e}, 0, 2);
        as.writeIgnoringProtection(code + 0x17, new byte[] {(byte) 0xeb, 0x17}, 0, 2);
        as.writeIgnoringProtection(code + 0x30, new byte[] {(byte) 0x90}, 0, 1);
        patch(as, code, imm);
    }

    static void patch(GuestAddressSpace as, long code, int imm) {
        byte[] mov = {0x48, (byte) 0xc7, (byte) 0xc0, (byte) imm, (byte) (imm >> 8), (byte) (imm >> 16), (byte) (imm >> 24)};
        as.writeIgnoringProtection(code + 0x10, mov, 0, mov.length);
    }

    static long run(Unicorn uc, long code) {
        uc.emuStart(code, code + 0x31, 0, 0);
        return uc.regRead(X86Reg.RAX);
    }

    @Test
    void syncRunsCodeAndDropsStaleTranslations() {
        try (GuestAddressSpace as = GuestAddressSpace.create(1L << 36)) {
            Unicorn uc = Unicorn.openX86_64();
            try {
                EngineMemoryView view = new EngineMemoryView(as, uc);
                long code = as.mmap(0x400000, P, Prot.READ | Prot.EXEC, ANON | MapFlags.FIXED, -1, 0);
                program(as, code, 0x11);
                long data = as.mmap(0, 2 * P, Prot.READ | Prot.WRITE, ANON, -1, 0);
                assertEquals(as.version(), view.sync());
                assertFalse(view.isStale());
                assertEquals(0x11, run(uc, code));

                // munmap + map new code at the same address: the new code must run
                as.munmap(code, P);
                assertEquals(code, as.mmap(code, P, Prot.READ | Prot.EXEC, ANON | MapFlags.FIXED, -1, 0));
                program(as, code, 0x22);
                view.sync();
                as.releaseDeferred();
                assertEquals(0x22, run(uc, code));

                // patching executable code in place (privileged write) is seen too
                patch(as, code, 0x33);
                view.sync();
                assertEquals(0x33, run(uc, code));

                // data regions are mapped on first touch, not at sync
                assertTrue(uc.memRegions().stream().noneMatch(r -> r.begin() == data), "data is lazy");
                assertTrue(view.mapOnDemand(data + 8));
                assertFalse(view.mapOnDemand(data + 8), "already mapped: a real fault");
                assertFalse(view.mapOnDemand(0x100000), "nothing mapped there: a real fault");

                // guest data written by the engine is visible through GuestMemory and vice versa
                as.memory().writeLong(data, 0x1234);
                assertArrayEquals(as.memory().read(data, 8), uc.memRead(data, 8));

                // engine regions follow the plan after a split
                as.mprotect(data + P, P, Prot.READ);
                view.sync();
                assertRegions(as, uc);
                assertTrue(view.mapOnDemand(data));
                assertTrue(view.mapOnDemand(data + P));
                assertRegions(as, uc);
                as.munmap(data, 2 * P);
                view.sync();
                as.releaseDeferred();
                assertRegions(as, uc);
            } finally {
                uc.close();
            }
        }
    }

    @Test
    void truncatedLogFlushesEverything() {
        try (GuestAddressSpace as = GuestAddressSpace.create(1L << 36)) {
            Unicorn uc = Unicorn.openX86_64();
            try {
                EngineMemoryView view = new EngineMemoryView(as, uc);
                long code = as.mmap(0x400000, P, Prot.READ | Prot.EXEC, ANON | MapFlags.FIXED, -1, 0);
                program(as, code, 1);
                view.sync();
                run(uc, code);
                for (int i = 0; i < 5000; i++) as.writeIgnoringProtection(code + 0x100, new byte[] {(byte) i}, 0, 1);
                patch(as, code, 2);
                view.sync();
                assertEquals(2, run(uc, code));
            } finally {
                uc.close();
            }
        }
    }

    /**
     * Issue 9: a stale engine (another thread's change is published, the kick not yet taken) touches
     * a page whose newest region was merged with a region the engine still holds. The stale region
     * is replaced by the newest one instead of the access becoming a spurious fault.
     */
    @Test
    void mapOnDemandReplacesStaleOverlappingRegions() {
        try (GuestAddressSpace as = GuestAddressSpace.create(1L << 36)) {
            Unicorn uc = Unicorn.openX86_64();
            try {
                EngineMemoryView view = new EngineMemoryView(as, uc);
                long data = as.mmap(0, 3 * P, Prot.READ | Prot.WRITE, ANON, -1, 0);
                as.mprotect(data + P, P, Prot.NONE);             // [data RW][none][data+2P RW]
                view.sync();
                assertTrue(view.mapOnDemand(data + 8));          // the engine holds [data, data+P)
                as.mprotect(data + P, P, Prot.READ | Prot.WRITE); // one region [data, data+3P) now
                assertTrue(view.isStale());
                assertTrue(view.mapOnDemand(data + 2 * P + 8), "stale neighbour: map the newest region");
                assertEquals(List.of(new MemRegion(data, data + 3 * P - 1, Prot.READ | Prot.WRITE)), uc.memRegions());
                assertEquals(List.of(new RegionPlan.Region(data, data + 3 * P, Prot.READ | Prot.WRITE)), view.regions());
                view.sync();
                assertRegions(as, uc);

                // the same with executable code: the stale region's translations go with it
                long code = as.mmap(0x400000, 2 * P, Prot.READ | Prot.EXEC, ANON | MapFlags.FIXED, -1, 0);
                as.mprotect(code + P, P, Prot.READ);
                program(as, code, 0x44);
                view.sync();
                assertEquals(0x44, run(uc, code));
                as.mprotect(code + P, P, Prot.READ | Prot.EXEC);  // [code, code+2P) RX now
                patch(as, code, 0x55);                            // and the code changed
                assertTrue(view.mapOnDemand(code + P + 8));
                assertEquals(0x55, run(uc, code));
                view.sync();
                assertRegions(as, uc);
                assertEquals(0x55, run(uc, code));
            } finally {
                uc.close();
            }
        }
    }

    /** The engine holds the plan's executable regions plus the data regions touched since. */
    static void assertRegions(GuestAddressSpace as, Unicorn uc) {
        List<MemRegion> got = uc.memRegions();
        List<RegionPlan.Region> want = as.regionPlan().regions().stream()
                .filter(r -> (r.perms() & Prot.EXEC) != 0 || got.stream().anyMatch(g -> g.begin() == r.start()))
                .toList();
        assertEquals(want.size(), got.size(), got.toString());
        for (int i = 0; i < want.size(); i++) {
            assertEquals(want.get(i).start(), got.get(i).begin());
            assertEquals(want.get(i).end() - 1, got.get(i).end());
            assertEquals(want.get(i).perms(), got.get(i).perms());
        }
    }
}
