package dev.herd.threads.x86_64;

import dev.herd.unicorn.Unicorn;
import dev.herd.unicorn.x86_64.X86Reg;

/**
 * The CPU identification x86_64 guests see: libunicorn's own CPUID, with the leaf-1 EDX bits for
 * the x87 FPU, TSC and MMX added.
 *
 * <p>Debian's libunicorn 2.0.1 reports leaf 1 EDX = 0x07088100 for every x86 CPU model (CX8, CMOV,
 * CLFLUSH, FXSR, SSE, SSE2): no FPU, TSC or MMX bit, although its TCG executes x87, {@code rdtsc}
 * and MMX instructions without consulting those bits. glibc's loader computes the x86-64 baseline
 * ISA level from CMOV, CX8, FPU, FXSR, MMX, SSE and SSE2, so with the library's answer every
 * dynamic program stops with "libc.so.6: CPU ISA level is lower than required". Herd answers leaf 1
 * itself with those three bits added; every other leaf, and the rest of leaf 1, is the library's.
 * Features the translator checks before it decodes an instruction (SSE3, POPCNT, MOVBE, PCLMULQDQ:
 * #UD in this build) are not added: the feature words the translator reads are not reachable
 * through Unicorn's API. The {@code cpu_isa} guest runs every feature CPUID reports against a
 * software reference, natively and under Herd.
 */
public final class CpuidX86_64 {
    /** Leaf 1 EDX: FPU, TSC, MMX. */
    static final long LEAF1_EDX_ADDED = 1 | 1 << 4 | 1 << 23;

    private static final long CODE = ScratchEngineX86_64.CODE;
    private static final byte[] CPUID = {0x0f, (byte) 0xa2};

    private final long[] leaf1;

    private CpuidX86_64(long[] leaf1) {
        this.leaf1 = leaf1;
    }

    /**
     * {@link #probe()}, remembered per library build ({@link dev.herd.threads.LibraryFacts}): the
     * emulated CPU's answer is a property of the library, so only a first run probes.
     */
    public static CpuidX86_64 probeCached() {
        long[] known = dev.herd.threads.LibraryFacts.get(FACT);
        if (known != null && known.length == 4) return new CpuidX86_64(known);
        CpuidX86_64 c = probe();
        dev.herd.threads.LibraryFacts.put(FACT, c.leaf1);
        return c;
    }

    private static final String FACT = "x86_64.cpuidLeaf1";

    /** Reads the library's leaf 1 in a scratch engine and adds Herd's bits. */
    public static CpuidX86_64 probe() {
        try (Unicorn e = ScratchEngineX86_64.open(CPUID)) {
            e.regWrite(X86Reg.RAX, 1);
            e.regWrite(X86Reg.RCX, 0);
            e.emuStart(CODE, CODE + CPUID.length, 0, 1);
            long[] leaf1 = {e.regRead(X86Reg.EAX), e.regRead(X86Reg.EBX), e.regRead(X86Reg.ECX),
                    e.regRead(X86Reg.EDX) | LEAF1_EDX_ADDED};
            return new CpuidX86_64(leaf1);
        }
    }

    /** Makes the engine answer CPUID this way (install before it runs guest code). */
    public void install(Unicorn engine) {
        engine.hookCpuid(this::answer);
    }

    private boolean answer(Unicorn e) {
        if (e.regRead(X86Reg.EAX) != 1) return false;
        e.regWrite(X86Reg.RAX, leaf1[0]);
        e.regWrite(X86Reg.RBX, leaf1[1]);
        e.regWrite(X86Reg.RCX, leaf1[2]);
        e.regWrite(X86Reg.RDX, leaf1[3]);
        return true;
    }

    /** AT_HWCAP on x86_64: CPUID leaf 1 EDX as the guest's CPUID reports it. */
    public long hwcap() {
        return leaf1[3];
    }
}
