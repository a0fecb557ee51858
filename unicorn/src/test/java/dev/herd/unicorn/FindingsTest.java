package dev.herd.unicorn;

import static dev.herd.unicorn.x86_64.X86Reg.*;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.*;

import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * Measured behaviour of libunicorn 2.0.1 that Herd's design relies on, pinned as tests so a
 * different libunicorn (HERD_LIBUNICORN) that behaves otherwise is noticed at once.
 */
class FindingsTest {
    static final long CODE = 0x10000;
    static final long DATA = 0x900000;
    static final int[] SYSCALL = {0x0f, 0x05};
    static final int[] INC_RBX = {0x48, 0xff, 0xc3};
    static final int[] MOV_RAX_MEM_RBX = {0x48, 0x8b, 0x03};

    /** uc_mem_map_ptr from inside a syscall hook: the code right after the syscall can use the page. */
    @Test
    void memMapPtrInsideSyscallHookWorks() {
        try (GuestMem code = new GuestMem(CODE, 0x4000); GuestMem data = new GuestMem(DATA, 0x1000);
                Unicorn uc = Unicorn.openX86_64()) {
            code.map(uc, UcProt.ALL);
            data.host.set(JAVA_LONG, 0x10, 0x1122334455L);
            long a = code.put(CODE, SYSCALL);
            long end = code.put(a, MOV_RAX_MEM_RBX);
            uc.regWrite(RBX, DATA + 0x10);
            uc.hookSyscall(u -> data.map(u, UcProt.READ | UcProt.WRITE));
            uc.emuStart(CODE, end, 0, 0);
            assertEquals(0x1122334455L, uc.regRead(RAX));
        }
    }

    /** uc_mem_unmap from inside a syscall hook: the next access faults as unmapped. */
    @Test
    void memUnmapInsideSyscallHookWorks() {
        try (GuestMem code = new GuestMem(CODE, 0x4000); GuestMem data = new GuestMem(DATA, 0x1000);
                Unicorn uc = Unicorn.openX86_64()) {
            code.map(uc, UcProt.ALL);
            data.map(uc, UcProt.READ);
            // read once (fills the engine's TLB), syscall (unmaps), read again
            long a = code.put(CODE, MOV_RAX_MEM_RBX);
            a = code.put(a, SYSCALL);
            long second = a;
            long end = code.put(a, MOV_RAX_MEM_RBX);
            uc.regWrite(RBX, DATA);
            uc.hookSyscall(u -> u.memUnmap(DATA, 0x1000));
            UnicornException e = assertThrows(UnicornException.class, () -> uc.emuStart(CODE, end, 0, 0));
            assertEquals(UcErr.UC_ERR_READ_UNMAPPED, e.code());
            assertEquals(second, uc.regRead(RIP), "faulted on the read after the syscall");
        }
    }

    /** uc_mem_protect from inside a syscall hook: the next access sees the new permissions. */
    @Test
    void memProtectInsideSyscallHookWorks() {
        try (GuestMem code = new GuestMem(CODE, 0x4000); GuestMem data = new GuestMem(DATA, 0x1000);
                Unicorn uc = Unicorn.openX86_64()) {
            code.map(uc, UcProt.ALL);
            data.map(uc, UcProt.READ);
            long a = code.put(CODE, MOV_RAX_MEM_RBX);
            a = code.put(a, SYSCALL);
            long second = a;
            long end = code.put(a, MOV_RAX_MEM_RBX);
            uc.regWrite(RBX, DATA);
            uc.hookSyscall(u -> u.memProtect(DATA, 0x1000, UcProt.NONE));
            UnicornException e = assertThrows(UnicornException.class, () -> uc.emuStart(CODE, end, 0, 0));
            assertEquals(UcErr.UC_ERR_READ_PROT, e.code());
            assertEquals(second, uc.regRead(RIP));
        }
    }

    /**
     * uc_emu_stop inside the syscall hook stops before any further guest instruction: RIP is the
     * address after the syscall and none of the following instructions ran.
     */
    @Test
    void emuStopInsideSyscallHookStopsRightAfterSyscall() {
        try (GuestMem code = new GuestMem(CODE, 0x4000); Unicorn uc = Unicorn.openX86_64()) {
            code.map(uc, UcProt.ALL);
            long after = code.put(CODE, SYSCALL);
            long end = code.put(after, INC_RBX);
            end = code.put(end, INC_RBX);
            end = code.put(end, INC_RBX);
            AtomicInteger calls = new AtomicInteger();
            uc.hookSyscall(u -> {
                calls.incrementAndGet();
                u.emuStop();
            });
            uc.emuStart(CODE, end, 0, 0);
            assertEquals(1, calls.get());
            assertEquals(0, uc.regRead(RBX), "no instruction after the syscall ran");
            assertEquals(after, uc.regRead(RIP));
            // Resuming from RIP runs the rest exactly once.
            uc.emuStart(uc.regRead(RIP), end, 0, 0);
            assertEquals(3, uc.regRead(RBX));
        }
    }
}
