package dev.herd.unicorn;

import static dev.herd.unicorn.x86_64.X86Reg.*;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static org.junit.jupiter.api.Assertions.*;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;

/**
 * DESIGN fact 12, pinned: libunicorn opens x86 engines with CR4 = 0 (and CR0 = PE|ET, all segment
 * selectors 0), and with CR4.OSFXSR clear {@code fxsave}/{@code fxrstor} skip the XMM registers,
 * which is what made glibc's lazy-binding trampoline lose floating-point arguments. With
 * OSFXSR|OSXMMEXCPT written, as Herd's x86_64 engines are, fxrstor restores them.
 */
class ControlRegistersTest {
    static final long CODE = 0x10000, DATA = 0x20000;
    static final long CR4_OSFXSR = 1 << 9, CR4_OSXMMEXCPT = 1 << 10;

    /** movaps xmm0,[DATA]; fxsave [DATA+0x100]; xorps xmm0,xmm0; fxrstor [DATA+0x100] */
    static final int[] ROUND_TRIP = {
            0x0f, 0x28, 0x04, 0x25, 0x00, 0x00, 0x02, 0x00,
            0x0f, 0xae, 0x04, 0x25, 0x00, 0x01, 0x02, 0x00,
            0x0f, 0x57, 0xc0,
            0x0f, 0xae, 0x0c, 0x25, 0x00, 0x01, 0x02, 0x00};

    @Test
    void freshEngineStartsWithCr4ZeroAndNullSelectors() {
        try (Unicorn uc = Unicorn.openX86_64()) {
            assertEquals(0, uc.regRead(CR4));
            assertEquals(0x11, uc.regRead(CR0), "PE|ET, no MP/NE");
            assertEquals(0, uc.regRead(CS));
            assertEquals(0, uc.regRead(SS));
            assertEquals(0, uc.regRead(MXCSR));
            assertEquals(0, uc.regRead(FPCW));
        }
    }

    @Test
    void fxrstorSkipsXmmWithCr4ZeroAndRestoresWithOsfxsr() {
        assertEquals(0, xmm0AfterRoundTrip(0)[0], "CR4 = 0: fxrstor left the zeroed xmm0");
        byte[] restored = xmm0AfterRoundTrip(CR4_OSFXSR | CR4_OSXMMEXCPT);
        for (int i = 0; i < 16; i++) assertEquals(i + 1, restored[i], "byte " + i);
    }

    @Test
    void selectorsAndControlBitsCanBeWritten() {
        try (Unicorn uc = Unicorn.openX86_64()) {
            uc.regWrite(CR0, 0x33);
            uc.regWrite(CR4, CR4_OSFXSR | CR4_OSXMMEXCPT);
            uc.regWrite(CS, 0x33);
            uc.regWrite(SS, 0x2b);
            assertEquals(0x33, uc.regRead(CR0));
            assertEquals(0x600, uc.regRead(CR4));
            assertEquals(0x33, uc.regRead(CS));
            assertEquals(0x2b, uc.regRead(SS));
        }
    }

    private static byte[] xmm0AfterRoundTrip(long cr4) {
        try (GuestMem code = new GuestMem(CODE, 0x1000); GuestMem data = new GuestMem(DATA, 0x1000);
                Unicorn uc = Unicorn.openX86_64(); Arena arena = Arena.ofConfined()) {
            code.map(uc, UcProt.ALL);
            data.map(uc, UcProt.READ | UcProt.WRITE);
            for (int i = 0; i < 16; i++) data.host.set(JAVA_BYTE, i, (byte) (i + 1));
            long end = code.put(CODE, ROUND_TRIP);
            if (cr4 != 0) uc.regWrite(CR4, cr4);
            uc.emuStart(CODE, end, 0, 0);
            MemorySegment x = arena.allocate(16, 16);
            uc.regRead(XMM0, x);
            return x.toArray(JAVA_BYTE);
        }
    }
}
