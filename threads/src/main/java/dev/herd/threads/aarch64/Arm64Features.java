package dev.herd.threads.aarch64;

import dev.herd.threads.LibraryFacts;
import dev.herd.unicorn.UcProt;
import dev.herd.unicorn.Unicorn;
import dev.herd.unicorn.aarch64.Arm64Cpu;
import dev.herd.unicorn.aarch64.Arm64Reg;

/**
 * AT_HWCAP and AT_HWCAP2 of the engine's CPU, derived from its ID registers as Linux derives them
 * (arch/arm64/kernel/cpufeature.c, {@code arm64_elf_hwcaps}): the registers are read with
 * {@code mrs} in a scratch engine of the same model, so the guest is told exactly what the CPU
 * says it implements. Masked out, on purpose: SVE (Herd's signal frames carry no SVE context, and
 * the kernel advertises SVE only with that support), BTI (its PROT_BTI mappings are not modelled)
 * and the event stream (no generic timer events). HWCAP_CPUID is set, as by the kernel, because
 * {@code mrs} of ID registers works (the engine runs at EL1).
 */
public record Arm64Features(long isar0, long isar1, long pfr0, long mmfr2) {
    /** asm/hwcap.h bit numbers. */
    static final int FP = 0, ASIMD = 1, AES = 3, PMULL = 4, SHA1 = 5, SHA2 = 6, CRC32 = 7, ATOMICS = 8, FPHP = 9,
            ASIMDHP = 10, CPUID = 11, ASIMDRDM = 12, JSCVT = 13, FCMA = 14, LRCPC = 15, DCPOP = 16, SHA3 = 17,
            SM3 = 18, SM4 = 19, ASIMDDP = 20, SHA512 = 21, ASIMDFHM = 23, DIT = 24, USCAT = 25, ILRCPC = 26,
            FLAGM = 27, SB = 29;
    static final int HWCAP2_DCPODP = 0, HWCAP2_FLAGM2 = 7, HWCAP2_FRINT = 8, HWCAP2_I8MM = 13, HWCAP2_BF16 = 14,
            HWCAP2_RNG = 16;

    private static final long CODE = 0x10000;
    /** mrs x0, ID_AA64ISAR0_EL1; mrs x1, ID_AA64ISAR1_EL1; mrs x2, ID_AA64PFR0_EL1; mrs x3, ID_AA64MMFR2_EL1 */
    private static final int[] PROBE = {0xd5380600, 0xd5380621, 0xd5380402, 0xd5380743};
    private static final String FACT = "aarch64.idRegisters";

    public static Arm64Features probeCached() {
        long[] known = LibraryFacts.get(FACT);
        if (known != null && known.length == 4) return new Arm64Features(known[0], known[1], known[2], known[3]);
        Arm64Features f = probe();
        LibraryFacts.put(FACT, f.isar0, f.isar1, f.pfr0, f.mmfr2);
        return f;
    }

    /** Reads the ID registers of the {@code max} model in a scratch engine. */
    public static Arm64Features probe() {
        try (Unicorn e = Unicorn.openAarch64()) {
            e.setCpuModel(Arm64Cpu.MAX);
            e.memMap(CODE, 0x1000, UcProt.ALL);
            byte[] code = new byte[PROBE.length * 4];
            for (int i = 0; i < PROBE.length; i++) {
                for (int b = 0; b < 4; b++) code[4 * i + b] = (byte) (PROBE[i] >>> (8 * b));
            }
            e.memWrite(CODE, code);
            e.emuStart(CODE, CODE + code.length, 0, 0);
            long[] r = new long[4];
            e.regReadBatch(new int[]{Arm64Reg.X0, Arm64Reg.X1, Arm64Reg.X2, Arm64Reg.X3}, r);
            return new Arm64Features(r[0], r[1], r[2], r[3]);
        }
    }

    /** An unsigned 4-bit ID register field. */
    static int field(long reg, int shift) { return (int) (reg >>> shift) & 0xf; }

    /** A signed 4-bit field (FP, AdvSIMD: 0xf means not implemented). */
    static int signedField(long reg, int shift) { return (field(reg, shift) ^ 8) - 8; }

    public long hwcap() {
        long h = 1L << CPUID;
        if (signedField(pfr0, 16) >= 0) h |= 1L << FP;
        if (signedField(pfr0, 16) >= 1) h |= 1L << FPHP;
        if (signedField(pfr0, 20) >= 0) h |= 1L << ASIMD;
        if (signedField(pfr0, 20) >= 1) h |= 1L << ASIMDHP;
        if (field(pfr0, 48) >= 1) h |= 1L << DIT;
        if (field(isar0, 4) >= 1) h |= 1L << AES;
        if (field(isar0, 4) >= 2) h |= 1L << PMULL;
        if (field(isar0, 8) >= 1) h |= 1L << SHA1;
        if (field(isar0, 12) >= 1) h |= 1L << SHA2;
        if (field(isar0, 12) >= 2) h |= 1L << SHA512;
        if (field(isar0, 16) >= 1) h |= 1L << CRC32;
        if (field(isar0, 20) >= 2) h |= 1L << ATOMICS;
        if (field(isar0, 28) >= 1) h |= 1L << ASIMDRDM;
        if (field(isar0, 32) >= 1) h |= 1L << SHA3;
        if (field(isar0, 36) >= 1) h |= 1L << SM3;
        if (field(isar0, 40) >= 1) h |= 1L << SM4;
        if (field(isar0, 44) >= 1) h |= 1L << ASIMDDP;
        if (field(isar0, 48) >= 1) h |= 1L << ASIMDFHM;
        if (field(isar0, 52) >= 1) h |= 1L << FLAGM;
        if (field(isar1, 0) >= 1) h |= 1L << DCPOP;
        if (field(isar1, 12) >= 1) h |= 1L << JSCVT;
        if (field(isar1, 16) >= 1) h |= 1L << FCMA;
        if (field(isar1, 20) >= 1) h |= 1L << LRCPC;
        if (field(isar1, 20) >= 2) h |= 1L << ILRCPC;
        if (field(isar1, 36) >= 1) h |= 1L << SB;
        if (field(mmfr2, 32) >= 1) h |= 1L << USCAT;
        return h;
    }

    public long hwcap2() {
        long h = 0;
        if (field(isar1, 0) >= 2) h |= 1L << HWCAP2_DCPODP;
        if (field(isar0, 52) >= 2) h |= 1L << HWCAP2_FLAGM2;
        if (field(isar0, 60) >= 1) h |= 1L << HWCAP2_RNG;
        if (field(isar1, 32) >= 1) h |= 1L << HWCAP2_FRINT;
        if (field(isar1, 44) >= 1) h |= 1L << HWCAP2_BF16;
        if (field(isar1, 52) >= 1) h |= 1L << HWCAP2_I8MM;
        return h;
    }
}
