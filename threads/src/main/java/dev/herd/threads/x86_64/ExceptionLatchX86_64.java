package dev.herd.threads.x86_64;

import dev.herd.unicorn.UcContext;
import dev.herd.unicorn.Unicorn;
import dev.herd.unicorn.UnicornException;
import dev.herd.unicorn.x86_64.X86Reg;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

/**
 * Clears the "exception in flight" that libunicorn's x86 CPU never clears by itself.
 *
 * <p>QEMU's {@code check_exception()} remembers the last contributory exception (#DE, #TS, #NP,
 * #SS, #GP) in {@code CPUX86State.old_exception} and resets it to -1 once the exception has been
 * delivered through the IDT. Unicorn hands exceptions to the interrupt hook instead of the IDT, so
 * the reset never happens: the second #DE of a thread arrives as #DF (vector 8), and the third is a
 * "triple fault" that makes {@code uc_emu_start} return quietly with the PC still on the
 * instruction, which re-runs it forever. Measured on Debian's 2.0.1: three divisions by zero with a
 * SIGFPE handler hang.
 *
 * <p>Unicorn has no API for the field, and its offset inside the saved context is private to the
 * library build. So it is located by probing the running library once: a scratch engine divides by
 * zero; the 32-bit field that took the reported vector is a candidate; a candidate is accepted only
 * if writing -1 into it (through {@code uc_context_save}/{@code uc_context_restore}) makes two more
 * divisions by zero both arrive as #DE (vector 0). If no offset passes, {@link #clear} does nothing
 * and Herd keeps its mapping of vector 8 at a division back to SIGFPE.
 */
public final class ExceptionLatchX86_64 {
    private static final long CODE = ScratchEngineX86_64.CODE;
    /** {@code div rcx}: with rcx = 0, a divide error at CODE. */
    private static final byte[] DIV_RCX = {0x48, (byte) 0xf7, (byte) 0xf1};
    private static final int NONE = -1;

    private final long offset;

    private ExceptionLatchX86_64(long offset) {
        this.offset = offset;
    }

    /**
     * {@link #probe()}, remembered per library build ({@link dev.herd.threads.LibraryFacts}): the
     * offset is a property of the library's binary, so only a first run probes.
     */
    public static ExceptionLatchX86_64 probeCached() {
        long[] known = dev.herd.threads.LibraryFacts.get(FACT);
        if (known != null && known.length == 1 && (known[0] == NONE || (known[0] >= 0 && known[0] % 4 == 0))) {
            return new ExceptionLatchX86_64(known[0]);
        }
        ExceptionLatchX86_64 latch = probe();
        dev.herd.threads.LibraryFacts.put(FACT, latch.offset);
        return latch;
    }

    private static final String FACT = "x86_64.exceptionLatchOffset";

    /**
     * Probes the loaded libunicorn for the field's offset (a few scratch engines, about a millisecond
     * each).
     *
     * @return a latch that clears the field, or one that does nothing if the probe found none
     */
    public static ExceptionLatchX86_64 probe() {
        List<Long> candidates = new ArrayList<>();
        try (Unicorn e = scratchEngine()) {
            int[] vector = {NONE};
            e.hookInterrupt((uc, intno) -> {
                vector[0] = intno;
                uc.emuStop();
            });
            long[] before;
            try (UcContext c = e.contextSave()) {
                before = ints(c.bytes());
            }
            divideByZero(e, vector);
            int first = vector[0];
            if (first != 0 && first != 8) return new ExceptionLatchX86_64(NONE);
            try (UcContext c = e.contextSave()) {
                long[] after = ints(c.bytes());
                for (int i = 0; i < after.length; i++) {
                    if (after[i] == first && before[i] != first) candidates.add(i * 4L);
                }
            }
        } catch (UnicornException ex) {
            return new ExceptionLatchX86_64(NONE);
        }
        for (long candidate : candidates) {
            if (verify(candidate)) return new ExceptionLatchX86_64(candidate);
        }
        return new ExceptionLatchX86_64(NONE);
    }

    /** Whether resetting the field at offset makes every divide error arrive as #DE. */
    private static boolean verify(long offset) {
        try (Unicorn e = scratchEngine()) {
            int[] vector = {NONE};
            e.hookInterrupt((uc, intno) -> {
                vector[0] = intno;
                uc.emuStop();
            });
            ExceptionLatchX86_64 latch = new ExceptionLatchX86_64(offset);
            for (int i = 0; i < 3; i++) {
                divideByZero(e, vector);
                if (vector[0] != 0) return false;
                latch.clear(e);
            }
            return true;
        } catch (UnicornException | IndexOutOfBoundsException ex) {
            return false;
        }
    }

    private static Unicorn scratchEngine() {
        return ScratchEngineX86_64.open(DIV_RCX);
    }

    private static void divideByZero(Unicorn e, int[] vector) {
        vector[0] = NONE;
        e.regWrite(X86Reg.RAX, 10);
        e.regWrite(X86Reg.RDX, 0);
        e.regWrite(X86Reg.RCX, 0);
        // One instruction at most, one second at most: a lost exception returns instead of looping.
        e.emuStart(CODE, CODE + DIV_RCX.length, 1_000_000, 1);
    }

    private static long[] ints(MemorySegment bytes) {
        long[] out = new long[(int) (bytes.byteSize() / 4)];
        for (int i = 0; i < out.length; i++) out[i] = bytes.get(ValueLayout.JAVA_INT_UNALIGNED, i * 4L);
        return out;
    }

    /** @return whether the probe located the field (if not, {@link #clear} is a no-op) */
    public boolean located() {
        return offset != NONE;
    }

    /**
     * Forgets the exception in flight; call after the engine stopped on a CPU exception, before it
     * runs again. Costs a context save and restore (a few µs), so only exceptions pay it.
     *
     * @param engine an engine stopped on an exception
     */
    public void clear(Unicorn engine) {
        if (offset == NONE) return;
        try (UcContext c = engine.contextSave()) {
            MemorySegment bytes = c.bytes();
            if (bytes.get(ValueLayout.JAVA_INT_UNALIGNED, offset) == NONE) return;
            bytes.set(ValueLayout.JAVA_INT_UNALIGNED, offset, NONE);
            engine.contextRestore(c);
        }
    }
}
