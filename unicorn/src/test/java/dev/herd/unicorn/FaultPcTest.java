package dev.herd.unicorn;

import dev.herd.unicorn.x86_64.X86Reg;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The exact PC of a faulting load or store from inside the invalid-memory hook, without a memory
 * hook ({@link Unicorn#syncFaultPc}). libunicorn 2.0.1 leaves the PC of the last block boundary
 * in the CPU state (pinned below as a measured fact); the faulting instruction here comes after
 * others in a block reached by a chained jump.
 */
class FaultPcTest {
    private static final long CODE = 0x1000, DATA = 0x4000, UNMAPPED = 0x9000;

    /** mov ecx, 3 ; loop: dec ecx ; jnz loop ; inc rax ; inc rdx ; ACCESS ; hlt. Returns the ACCESS address. */
    private static long load(GuestMem mem, int... access) {
        long at = mem.put(CODE, 0xb9, 3, 0, 0, 0, 0xff, 0xc9, 0x75, 0xfc, 0x48, 0xff, 0xc0, 0x48, 0xff, 0xc2);
        mem.put(mem.put(at, access), 0xf4);
        return at;
    }

    private static long[] faultPc(int[] access, long rbx, boolean sync) {
        try (GuestMem mem = new GuestMem(0, 0x8000); Unicorn u = Unicorn.openX86_64()) {
            long insn = load(mem, access);
            mem.map(u, UcProt.ALL);
            u.enableExactStops();
            u.regWrite(X86Reg.RBX, rbx);
            long[] seen = new long[3];
            u.hookMemInvalid(UcHook.UC_HOOK_MEM_INVALID, (uc, type, address, size, value) -> {
                seen[0] = address;
                seen[1] = sync && u.syncFaultPc(address) ? 1 : 0;
                seen[2] = u.regRead(X86Reg.RIP);
                return false;
            });
            assertThrows(UnicornException.class, () -> u.emuStart(CODE, CODE + 0x100, 0, 0));
            return new long[] {insn, seen[0], seen[1], seen[2]};
        }
    }

    @Test
    void theLibraryLeavesTheBlockBoundaryPcInTheHook() {
        long[] r = faultPc(new int[] {0x89, 0x03}, UNMAPPED, false); // mov [rbx], eax
        assertEquals(UNMAPPED, r[1]);
        assertNotEquals(r[0], r[3], "2.0.1 does not keep the PC of the access in the CPU state");
    }

    @Test
    void aStoreFaultHasTheStoresPc() {
        long[] r = faultPc(new int[] {0x89, 0x03}, UNMAPPED + 8, true); // mov [rbx], eax
        assertEquals(UNMAPPED + 8, r[1]);
        assertEquals(1, r[2], "synced from the store helper's note");
        assertEquals(r[0], r[3], "RIP at the store");
    }

    @Test
    void aLoadFaultHasTheLoadsPc() {
        long[] r = faultPc(new int[] {0x48, 0x8b, 0x03}, UNMAPPED, true); // mov rax, [rbx]
        assertEquals(1, r[2]);
        assertEquals(r[0], r[3], "RIP at the load");
    }

    @Test
    void aLoadCrossingIntoAnUnmappedPageHasTheLoadsPc() {
        long[] r = faultPc(new int[] {0x48, 0x8b, 0x03}, 0x8000 - 4, true); // 8 bytes from 4 before the mapping's end
        assertTrue(r[1] >= 0x8000 - 4 && r[1] <= 0x8000, "fault address " + Long.toHexString(r[1]));
        assertEquals(1, r[2]);
        assertEquals(r[0], r[3], "RIP at the load");
    }

    @Test
    void debiansLibraryHasTheNotes() {
        assertEquals(NativeHelpers.FAULT_PC_X86_64 | NativeHelpers.FAULT_PC_AARCH64,
                NativeHelpers.wrapperTargets() & (NativeHelpers.FAULT_PC_X86_64 | NativeHelpers.FAULT_PC_AARCH64));
        try (Unicorn u = Unicorn.openX86_64()) {
            assertTrue(!u.exactFaultPcs(), "not before exact stops");
            u.enableExactStops();
            assertTrue(u.exactFaultPcs());
        }
    }
}
