package dev.herd.unicorn;

import static org.junit.jupiter.api.Assertions.*;

import dev.herd.unicorn.aarch64.Arm64Reg;
import dev.herd.unicorn.x86_64.X86Reg;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * The store fast path (DESIGN fact 11, herd_native.c): Debian's libunicorn 2.0.1 lets Herd
 * interpose its TLB fill for both targets; with it, stores still land, a region made read-only
 * still refuses them, a memory-write hook added after fast fills still sees every store, and a
 * nested run of another engine inside a hook leaves the outer engine's state alone.
 */
class FastStoresTest {
    static final long CODE = 0x1000, DATA = 0x10000, DATA_SIZE = 0x10000;
    /* x86_64: loop: mov [rdi], rax; inc rax; dec rcx; jnz loop; nop */
    static final int[] X86_LOOP = {0x48, 0x89, 0x07, 0x48, 0xff, 0xc0, 0x48, 0xff, 0xc9, 0x75, 0xf5, 0x90};
    /* aarch64: loop: str x0, [x1]; add x0, x0, #1; subs x2, x2, #1; b.ne loop; nop */
    static final int[] A64_LOOP = {0x20, 0x00, 0x00, 0xf9, 0x00, 0x04, 0x00, 0x91, 0x42, 0x04, 0x00, 0xf1,
            0xa1, 0xff, 0xff, 0x54, 0x1f, 0x20, 0x03, 0xd5};

    private record Engine(Unicorn uc, GuestMem code, GuestMem data, long end, int[] regs) implements AutoCloseable {
        static Engine x86() {
            Unicorn uc = Unicorn.openX86_64();
            return setUp(uc, X86_LOOP, new int[] {X86Reg.RAX, X86Reg.RDI, X86Reg.RCX});
        }

        static Engine aarch64() {
            Unicorn uc = Unicorn.openAarch64();
            return setUp(uc, A64_LOOP, new int[] {Arm64Reg.X0, Arm64Reg.X1, Arm64Reg.X2});
        }

        private static Engine setUp(Unicorn uc, int[] loop, int[] regs) {
            GuestMem code = new GuestMem(CODE, 0x1000).map(uc, UcProt.READ | UcProt.EXEC);
            code.put(CODE, loop);
            long end = CODE + loop.length - (loop == X86_LOOP ? 1 : 4); // stop at the trailing nop
            GuestMem data = new GuestMem(DATA, DATA_SIZE).map(uc, UcProt.READ | UcProt.WRITE);
            assertTrue(uc.enableFastStores(), "Debian's libunicorn 2.0.1 allows the fast path for " + uc.arch());
            uc.setFastStoreRanges(new long[] {DATA, DATA + DATA_SIZE}, 1);
            return new Engine(uc, code, data, end, regs);
        }

        /** Runs the loop: count stores of 0, 1, ... at addr; returns the last value stored. */
        long stores(long addr, long count) {
            uc.regWrite(regs[0], 0);
            uc.regWrite(regs[1], addr);
            uc.regWrite(regs[2], count);
            uc.emuStart(CODE, end, 0, 0);
            return data.host.get(ValueLayout.JAVA_LONG_UNALIGNED, addr - DATA);
        }

        @Override
        public void close() {
            uc.close();
            code.close();
            data.close();
        }
    }

    @Test
    void debiansLibraryIsInterposedForBothTargets() {
        assertEquals(3, NativeHelpers.wrapperTargets() & 3,
                "tlb_set_page_with_attrs_{x86_64,aarch64} called through the PLT and tlb_set_dirty_* exported");
    }

    @Test
    void storesLandAndAReadOnlyRegionStillRefusesThem() {
        for (Engine e : new Engine[] {Engine.x86(), Engine.aarch64()}) {
            try (e) {
                assertEquals(99_999, e.stores(DATA + 0x100, 100_000), e.uc.arch() + ": the stores landed");
                e.uc.memProtect(DATA, DATA_SIZE, UcProt.READ);
                // Even while the ranges (wrongly) still claim the region: Unicorn's own check stays.
                UnicornException refused = assertThrows(UnicornException.class, () -> e.stores(DATA + 0x100, 1));
                assertEquals(UcErr.UC_ERR_WRITE_PROT, refused.code(), e.uc.arch().toString());
                e.uc.setFastStoreRanges(new long[0], 0);
                refused = assertThrows(UnicornException.class, () -> e.stores(DATA + 0x100, 1));
                assertEquals(UcErr.UC_ERR_WRITE_PROT, refused.code(), e.uc.arch().toString());
                assertEquals(99_999, e.data.host.get(ValueLayout.JAVA_LONG_UNALIGNED, 0x100), "nothing was stored");
                e.uc.memProtect(DATA, DATA_SIZE, UcProt.READ | UcProt.WRITE);
                e.uc.setFastStoreRanges(new long[] {DATA, DATA + DATA_SIZE}, 1);
                assertEquals(9, e.stores(DATA + 0x100, 10), "writable again");
            }
        }
    }

    @Test
    void aWriteHookAddedAfterFastFillsSeesEveryStore() {
        for (Engine e : new Engine[] {Engine.x86(), Engine.aarch64()}) {
            try (e) {
                e.stores(DATA + 0x200, 10_000); // fills the page's TLB entry fast
                AtomicLong seen = new AtomicLong();
                HookHandle h = e.uc.hookMem(UcHook.UC_HOOK_MEM_WRITE, DATA, DATA + 0xfff,
                        (u, type, addr, size, value) -> seen.incrementAndGet());
                e.stores(DATA + 0x200, 1_000);
                assertEquals(1_000, seen.get(), e.uc.arch() + ": every store reached the hook");
                e.uc.hookDel(h);
                e.stores(DATA + 0x200, 1_000);
                assertEquals(1_000, seen.get(), "none after the hook was deleted");
            }
        }
    }

    @Test
    void aNestedRunOfAnotherEngineLeavesTheOuterOneAlone() {
        try (Engine outer = Engine.x86(); Engine inner = Engine.x86()) {
            inner.uc.setFastStoreRanges(new long[0], 0); // the inner engine allows nothing fast
            AtomicLong innerLast = new AtomicLong();
            // On the outer engine's first block at the loop, run the inner engine to completion.
            HookHandle h = outer.uc.hookBlock(CODE, CODE, (u, addr, size) -> {
                if (innerLast.get() == 0) innerLast.set(inner.stores(DATA + 0x300, 500));
            });
            assertEquals(49_999, outer.stores(DATA + 0x300, 50_000));
            outer.uc.hookDel(h);
            assertEquals(499, innerLast.get());
            inner.uc.memProtect(DATA, DATA_SIZE, UcProt.READ);
            assertThrows(UnicornException.class, () -> inner.stores(DATA + 0x300, 1));
        }
    }
}
