package dev.herd.threads.atomics;

import dev.herd.memory.GuestAddressSpace;
import dev.herd.memory.MapFlags;
import dev.herd.memory.Prot;
import dev.herd.unicorn.Unicorn;
import dev.herd.unicorn.UcProt;
import dev.herd.unicorn.x86_64.X86Reg;

/**
 * Test rig: a real GuestAddressSpace with a code area, a data area (RW), a read-only page and an
 * unmapped page after it; engines that map it with memMapPtr (patched) or privately (reference).
 */
final class Rig implements AutoCloseable {
    static final long CODE = 0x100000, CODE_SIZE = 0x10000;
    static final long DATA = 0x200000, DATA_SIZE = 0x3000;
    static final long RO = DATA + DATA_SIZE, RO_SIZE = 0x1000;
    static final long UNMAPPED = RO + RO_SIZE;

    static final int[] GPRS = {X86Reg.RAX, X86Reg.RBX, X86Reg.RCX, X86Reg.RDX, X86Reg.RSI, X86Reg.RDI, X86Reg.RBP, X86Reg.RSP,
            X86Reg.R8, X86Reg.R9, X86Reg.R10, X86Reg.R11, X86Reg.R12, X86Reg.R13, X86Reg.R14, X86Reg.R15};
    static final String[] GPR_NAMES = {"rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15"};

    final GuestAddressSpace as;
    final AtomicSitesX86_64 sites;

    Rig(byte[] code) {
        as = GuestAddressSpace.create(1L << 32);
        int fl = MapFlags.PRIVATE | MapFlags.ANONYMOUS | MapFlags.FIXED;
        as.mmap(CODE, CODE_SIZE, Prot.READ | Prot.EXEC, fl, -1, 0);
        as.mmap(DATA, DATA_SIZE, Prot.READ | Prot.WRITE, fl, -1, 0);
        as.mmap(RO, RO_SIZE, Prot.READ, fl, -1, 0);
        as.writeIgnoringProtection(CODE, code, 0, code.length);
        sites = new AtomicSitesX86_64(as);
    }

    void scan() { sites.scan(CODE, CODE + CODE_SIZE); }

    /** An engine over the shared memory whose syscall hook runs the sites (real syscalls are an error). */
    Unicorn patchedEngine() {
        Unicorn u = Unicorn.openX86_64();
        long hb = as.hostBase();
        u.memMapPtr(CODE, CODE_SIZE, UcProt.READ | UcProt.EXEC, hb + CODE);
        u.memMapPtr(DATA, DATA_SIZE, UcProt.READ | UcProt.WRITE, hb + DATA);
        u.memMapPtr(RO, RO_SIZE, UcProt.READ, hb + RO);
        u.hookSyscall(e -> {
            long pc = e.regRead(X86Reg.RIP);
            if (!sites.execute(e, pc)) throw new AssertionError(String.format("real syscall at %#x", pc));
        });
        return u;
    }

    /** An engine over the shared memory with no hook (original, unpatched code runs torn). */
    Unicorn sharedEngine() {
        Unicorn u = Unicorn.openX86_64();
        long hb = as.hostBase();
        u.memMapPtr(CODE, CODE_SIZE, UcProt.READ | UcProt.EXEC, hb + CODE);
        u.memMapPtr(DATA, DATA_SIZE, UcProt.READ | UcProt.WRITE, hb + DATA);
        u.memMapPtr(RO, RO_SIZE, UcProt.READ, hb + RO);
        return u;
    }

    /** A private engine with its own copy of the (original) code and the given data. */
    static Unicorn referenceEngine(byte[] code) {
        Unicorn u = Unicorn.openX86_64();
        u.memMap(CODE, CODE_SIZE, UcProt.READ | UcProt.EXEC);
        u.memMap(DATA, DATA_SIZE, UcProt.READ | UcProt.WRITE);
        u.memMap(RO, RO_SIZE, UcProt.READ);
        u.memWrite(CODE, code);
        return u;
    }

    @Override
    public void close() { as.close(); }
}
