package dev.herd.signals.aarch64;

import dev.herd.unicorn.Unicorn;
import dev.herd.unicorn.aarch64.Arm64Reg;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

import static dev.herd.signals.aarch64.SigframeLayout.*;

/**
 * The {@code struct fpsimd_context} record: FPSR, FPCR and the 32 128-bit V registers, as
 * {@code preserve_fpsimd_context} writes it and {@code restore_fpsimd_context} reads it. Each V
 * register is stored little-endian, byte i holding bits [8i+7:8i] (asm/sigcontext.h), which is
 * the byte order Unicorn's 16-byte register read produces.
 */
final class FpsimdContext {
    private FpsimdContext() {}

    /** The whole record, header included, from the engine's registers. */
    static byte[] save(Unicorn engine) {
        byte[] rec = new byte[FPSIMD_SIZE];
        ByteBuffer b = ByteBuffer.wrap(rec).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(CTX_MAGIC, FPSIMD_MAGIC);
        b.putInt(CTX_SIZE, FPSIMD_SIZE);
        long[] ctl = new long[2];
        engine.regReadBatch(new int[] {Arm64Reg.FPSR, Arm64Reg.FPCR}, ctl);
        b.putInt(FPSIMD_FPSR, (int) ctl[0]);
        b.putInt(FPSIMD_FPCR, (int) ctl[1]);
        MemorySegment s = MemorySegment.ofArray(rec);
        for (int i = 0; i < 32; i++) engine.regRead(Arm64Reg.Q0 + i, s.asSlice(FPSIMD_VREGS + 16L * i, 16));
        return rec;
    }

    /**
     * Loads FPSR, FPCR and V0-V31 from a record the caller has validated. The kernel copies FPSR
     * and FPCR unchecked; bits the CPU does not implement read back as zero, as on hardware.
     */
    static void restore(Unicorn engine, byte[] rec) {
        ByteBuffer b = ByteBuffer.wrap(rec).order(ByteOrder.LITTLE_ENDIAN);
        engine.regWriteBatch(new int[] {Arm64Reg.FPSR, Arm64Reg.FPCR},
                new long[] {b.getInt(FPSIMD_FPSR) & 0xffffffffL, b.getInt(FPSIMD_FPCR) & 0xffffffffL});
        MemorySegment s = MemorySegment.ofArray(rec);
        for (int i = 0; i < 32; i++) engine.regWrite(Arm64Reg.Q0 + i, s.asSlice(FPSIMD_VREGS + 16L * i, 16));
    }
}
