package dev.herd.signals.aarch64;

import dev.herd.host.Errno;
import dev.herd.host.ErrnoException;
import dev.herd.signals.SigInfo;
import dev.herd.signals.SignalAction;
import dev.herd.signals.ThreadSignalState;
import dev.herd.unicorn.aarch64.Arm64Reg;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Random;

import static dev.herd.signals.aarch64.GuestFixture.*;
import static dev.herd.signals.aarch64.SigframeLayout.*;
import static dev.herd.signals.aarch64.SignalFrameAarch64.*;
import static org.junit.jupiter.api.Assertions.*;

class SignalFrameAarch64Test {
    static final long HANDLER = CODE + 0x100, RESTORER = CODE + 0x200, INTERRUPTED = CODE + 0x300;
    static final SignalAction ACTION = new SignalAction(HANDLER, SA_SIGINFO | SA_RESTORER, RESTORER, 0);
    static final SignalFrameAarch64 FRAMES = SignalFrameAarch64.INSTANCE;
    static final int SIGUSR1 = 10, SIGSEGV = 11, SIGALRM = 14, SIGRTMIN = 34;
    static final int SC = OFF_UC + UC_MCONTEXT, REC = SC + SC_RESERVED;

    static ByteBuffer bytes(GuestFixture g, long at, int len) {
        return ByteBuffer.wrap(g.memory.read(at, len)).order(ByteOrder.LITTLE_ENDIAN);
    }

    static void fill(GuestFixture g, long at, int len, int value) {
        byte[] b = new byte[len];
        Arrays.fill(b, (byte) value);
        g.memory.write(at, b);
    }

    static ThreadSignalState altStack(int flags) {
        ThreadSignalState s = new ThreadSignalState();
        s.setAltStack(ALT, flags, ALT_SIZE, SigAltStack.MINSIGSTKSZ);
        return s;
    }

    // ------------------------------------------------------------ delivery and round trip

    @Test
    void roundTripRestoresEveryRegister() {
        Random rnd = new Random(42);
        for (int round = 0; round < 16; round++) {
            try (GuestFixture g = new GuestFixture()) {
                long sp = STACK + STACK_SIZE - 0x800 - 16L * rnd.nextInt(8);
                g.randomize(rnd, sp, INTERRUPTED);
                State before = g.read();
                long mask = rnd.nextLong();
                SigInfo info = new SigInfo(SIGRTMIN + 1, 0, SigInfo.SI_QUEUE, 1234, 1000, 0, 0xfeedfacecafeL, 0, 0);
                ThreadSignalState alt = new ThreadSignalState();

                FRAMES.setupFrame(g.engine, g.memory, ACTION, info, mask, alt);
                State in = g.read();
                long frame = in.sp();
                long record = sp - 16;

                // handler entry registers (setup_return)
                assertEquals(record - FRAME_SIZE, frame);
                assertEquals(HANDLER, in.pc());
                assertEquals(SIGRTMIN + 1, in.x(0));
                assertEquals(frame + OFF_INFO, in.x(1));
                assertEquals(frame + OFF_UC, in.x(2));
                assertEquals(record, in.x(29), "x29 = the frame record");
                assertEquals(RESTORER, in.x(30), "lr = sa_restorer");
                assertEquals(before.pstate(), in.pstate(), "NZCV kept, EL0t");
                for (int i = 3; i < 29; i++) assertEquals(before.x(i), in.x(i), "x" + i + " untouched");
                assertEquals("", before.with(0, in.x(0)).with(1, in.x(1)).with(2, in.x(2)).with(29, in.x(29))
                        .with(30, in.x(30)).with(I_SP, frame).with(I_PC, HANDLER).diff(in), "FP/SIMD inherited");

                // the frame record
                ByteBuffer fr = bytes(g, record, 16);
                assertEquals(before.x(29), fr.getLong(0));
                assertEquals(before.x(30), fr.getLong(8));

                // ucontext
                ByteBuffer f = bytes(g, frame, FRAME_SIZE);
                assertEquals(0, f.getLong(OFF_UC + UC_FLAGS));
                assertEquals(0, f.getLong(OFF_UC + UC_LINK));
                assertEquals(0, f.getLong(OFF_UC + UC_STACK + SS_SP));
                assertEquals(ThreadSignalState.SS_DISABLE, f.getInt(OFF_UC + UC_STACK + SS_FLAGS));
                assertEquals(0, f.getLong(OFF_UC + UC_STACK + SS_SIZE));
                assertEquals(mask, f.getLong(OFF_UC + UC_SIGMASK));
                assertEquals(0, f.getLong(SC + SC_FAULT_ADDRESS));
                for (int i = 0; i < 31; i++) assertEquals(before.x(i), f.getLong(SC + SC_REGS + 8 * i), "regs[" + i + "]");
                assertEquals(sp, f.getLong(SC + SC_SP));
                assertEquals(INTERRUPTED, f.getLong(SC + SC_PC));
                assertEquals(before.pstate(), f.getLong(SC + SC_PSTATE));

                // records: fpsimd, then the terminator (no fault: no esr_context)
                assertEquals(FPSIMD_MAGIC, f.getInt(REC + CTX_MAGIC));
                assertEquals(FPSIMD_SIZE, f.getInt(REC + CTX_SIZE));
                assertEquals(before.gprs()[I_FPSR], f.getInt(REC + FPSIMD_FPSR) & 0xffffffffL);
                assertEquals(before.gprs()[I_FPCR], f.getInt(REC + FPSIMD_FPCR) & 0xffffffffL);
                for (int i = 0; i < 32; i++) {
                    int at = REC + FPSIMD_VREGS + 16 * i;
                    assertArrayEquals(before.v()[i], Arrays.copyOfRange(f.array(), at, at + 16), "v" + i);
                }
                assertEquals(0, f.getLong(REC + FPSIMD_SIZE), "null record");

                // siginfo (SI_QUEUE: pid, uid, value)
                assertEquals(SIGRTMIN + 1, f.getInt(OFF_INFO + SI_SIGNO));
                assertEquals(SigInfo.SI_QUEUE, f.getInt(OFF_INFO + SI_CODE));
                assertEquals(1234, f.getInt(OFF_INFO + SI_PID));
                assertEquals(1000, f.getInt(OFF_INFO + SI_UID));
                assertEquals(0xfeedfacecafeL, f.getLong(OFF_INFO + SI_VALUE));

                // clobber everything, return from the handler (sp back at the frame), sigreturn
                g.randomize(rnd, frame, RESTORER + 4);
                long got = FRAMES.restoreFrame(g.engine, g.memory, alt);
                assertEquals(mask, got);
                assertEquals("", before.diff(g.read()), "round " + round);
            }
        }
    }

    @Test
    void frameAndRecordAreSixteenAlignedForAnySp() {
        try (GuestFixture g = new GuestFixture()) {
            for (int misalign = 0; misalign < 32; misalign++) {
                long sp = STACK + 0x8000 - misalign; // SP need not be aligned where a signal hits
                g.engine.regWrite(Arm64Reg.SP, sp);
                FRAMES.setupFrame(g.engine, g.memory, ACTION, SigInfo.kernel(SIGUSR1), 0, new ThreadSignalState());
                long record = (sp - 16) & -16L;
                assertEquals(record, g.engine.regRead(Arm64Reg.X29));
                assertEquals(record - FRAME_SIZE, g.engine.regRead(Arm64Reg.SP));
                assertEquals(0, g.engine.regRead(Arm64Reg.SP) % 16);
                assertTrue(record + 16 <= sp, "nothing at or above the interrupted SP is written");
            }
        }
    }

    @Test
    void faultFrameCarriesFaultAddressAndEsr() {
        try (GuestFixture g = new GuestFixture()) {
            g.engine.regWrite(Arm64Reg.SP, STACK + 0x8000);
            g.engine.regWrite(Arm64Reg.PC, INTERRUPTED);
            long esr = Arm64Traps.dataAbort(true, true);
            FRAMES.setupFaultFrame(g.engine, g.memory, ACTION, SigInfo.fault(SIGSEGV, SigInfo.SEGV_ACCERR, RO + 8),
                    0, new ThreadSignalState(), 14 /* ignored */, esr, RO + 8);
            long frame = g.engine.regRead(Arm64Reg.SP);
            ByteBuffer f = bytes(g, frame, FRAME_SIZE);
            assertEquals(RO + 8, f.getLong(SC + SC_FAULT_ADDRESS));
            int esrAt = REC + FPSIMD_SIZE;
            assertEquals(ESR_MAGIC, f.getInt(esrAt + CTX_MAGIC), "esr_context right after fpsimd_context");
            assertEquals(ESR_CONTEXT_SIZE, f.getInt(esrAt + CTX_SIZE));
            assertEquals(0x9200004fL, f.getLong(esrAt + ESR_ESR));
            assertEquals(0, f.getLong(esrAt + ESR_CONTEXT_SIZE), "then the null record");
            assertEquals(RO + 8, f.getLong(OFF_INFO + SI_ADDR));
            // and sigreturn skips it
            FRAMES.restoreFrame(g.engine, g.memory, new ThreadSignalState());
            assertEquals(INTERRUPTED, g.engine.regRead(Arm64Reg.PC));

            // a zero ESR (no fault recorded) writes no record, as setup_sigframe_layout does
            g.engine.regWrite(Arm64Reg.SP, STACK + 0x8000);
            FRAMES.setupFaultFrame(g.engine, g.memory, ACTION, SigInfo.kernel(SIGUSR1), 0, new ThreadSignalState(),
                    0, 0, 0x1234);
            frame = g.engine.regRead(Arm64Reg.SP);
            assertEquals(0, g.memory.readLong(frame + REC + FPSIMD_SIZE));
            assertEquals(0x1234, g.memory.readLong(frame + SC + SC_FAULT_ADDRESS));
        }
    }

    @Test
    void onlyTheBytesTheKernelWritesAreWritten() {
        try (GuestFixture g = new GuestFixture()) {
            long sp = STACK + 0x8000;
            fill(g, sp - 0x2000, 0x2000, 0xaa);
            g.engine.regWrite(Arm64Reg.SP, sp);
            SignalAction plain = new SignalAction(HANDLER, SA_RESTORER, RESTORER, 0);
            g.engine.regWrite(Arm64Reg.X1, 0x1111);
            g.engine.regWrite(Arm64Reg.X2, 0x2222);
            FRAMES.setupFrame(g.engine, g.memory, plain, SigInfo.kernel(SIGUSR1), 0, new ThreadSignalState());
            long frame = g.engine.regRead(Arm64Reg.SP);
            assertEquals(0x1111, g.engine.regRead(Arm64Reg.X1), "x1 untouched without SA_SIGINFO");
            assertEquals(0x2222, g.engine.regRead(Arm64Reg.X2));
            byte[] f = g.memory.read(frame, FRAME_SIZE);
            int[][] untouched = {
                    {OFF_INFO, SI_SIZE},                                           // siginfo without SA_SIGINFO
                    {OFF_UC + UC_STACK + SS_FLAGS + 4, 4},                         // stack_t padding
                    {OFF_UC + UC_UNUSED, UC_MCONTEXT - UC_UNUSED},                 // __unused and padding
                    {SC + SC_PSTATE + 8, SC_RESERVED - SC_PSTATE - 8},             // padding before __reserved
                    {REC + FPSIMD_SIZE + CTX_HEADER_SIZE, RESERVED_SIZE - FPSIMD_SIZE - CTX_HEADER_SIZE},
            };
            for (int[] u : untouched) {
                for (int i = u[0]; i < u[0] + u[1]; i++) assertEquals((byte) 0xaa, f[i], "byte " + i);
            }
            // the gap between the frame and the frame record is none: they are adjacent
            assertEquals(frame + FRAME_SIZE, g.engine.regRead(Arm64Reg.X29));
        }
    }

    @Test
    void siginfoLayouts() {
        try (GuestFixture g = new GuestFixture()) {
            record Case(SigInfo info, long f16, long f24) {}
            Case[] cases = {
                    new Case(SigInfo.user(SIGUSR1, SigInfo.SI_USER, 77, 1001), 77 | (1001L << 32), 0),
                    new Case(new SigInfo(SIGALRM, 0, SigInfo.SI_TIMER, 5, 6, 0, 0x1122334455L, 3, 9),
                            3 | (9L << 32), 0x1122334455L),
                    new Case(SigInfo.fault(SIGSEGV, SigInfo.SEGV_MAPERR, 0x7fff1234L), 0x7fff1234L, 0),
            };
            for (Case c : cases) {
                g.engine.regWrite(Arm64Reg.SP, STACK + 0x8000);
                FRAMES.setupFrame(g.engine, g.memory, ACTION, c.info(), 0, new ThreadSignalState());
                ByteBuffer si = bytes(g, g.engine.regRead(Arm64Reg.X1), SI_SIZE);
                assertEquals(c.info().signo(), si.getInt(SI_SIGNO));
                assertEquals(c.info().code(), si.getInt(SI_CODE));
                assertEquals(c.f16(), si.getLong(16), c.toString());
                assertEquals(c.f24(), si.getLong(24), c.toString());
                for (int o = 32; o < SI_SIZE; o += 8) assertEquals(0, si.getLong(o));
            }
        }
    }

    @Test
    void withoutSaRestorerLrIsTheTrampoline() {
        try (GuestFixture g = new GuestFixture()) {
            SignalAction noRestorer = new SignalAction(HANDLER, SA_SIGINFO, 0xdead, 0);
            g.randomize(new Random(1), STACK + 0x8000, INTERRUPTED);
            State before = g.read();
            ErrnoException e = assertThrows(ErrnoException.class, () ->
                    FRAMES.setupFrame(g.engine, g.memory, noRestorer, SigInfo.kernel(SIGUSR1), 0,
                            new ThreadSignalState()));
            assertEquals(Errno.EFAULT, e.errno(), "INSTANCE has no trampoline");
            assertEquals("", before.diff(g.read()), "nothing changed");

            SignalFrameAarch64 withTrampoline = new SignalFrameAarch64(TRAMPOLINE);
            withTrampoline.setupFrame(g.engine, g.memory, noRestorer, SigInfo.kernel(SIGUSR1), 0,
                    new ThreadSignalState());
            assertEquals(TRAMPOLINE, g.engine.regRead(Arm64Reg.X30));
            assertArrayEquals(SigreturnTrampoline.code(), g.memory.read(TRAMPOLINE, SigreturnTrampoline.SIZE));
            // SA_RESTORER still wins over the trampoline
            withTrampoline.setupFrame(g.engine, g.memory, ACTION, SigInfo.kernel(SIGUSR1), 0, new ThreadSignalState());
            assertEquals(RESTORER, g.engine.regRead(Arm64Reg.X30));
        }
    }

    @Test
    void unwritableStackIsEfaultAndChangesNoRegister() {
        try (GuestFixture g = new GuestFixture()) {
            for (long sp : new long[] {RO + 0x3000, 0x5000_0000L /* unmapped */, STACK + 0x100 /* frame below */,
                    0x800 /* wraps */}) {
                g.randomize(new Random(sp), sp, INTERRUPTED);
                State before = g.read();
                ErrnoException e = assertThrows(ErrnoException.class, () ->
                        FRAMES.setupFrame(g.engine, g.memory, ACTION, SigInfo.kernel(SIGUSR1), 0,
                                new ThreadSignalState()));
                assertEquals(Errno.EFAULT, e.errno());
                assertEquals("", before.diff(g.read()));
            }
        }
    }

    @Test
    void handlerEntryClearsBtypeAndTcoAndKeepsTheEnginesPrivilegedBits() {
        try (GuestFixture g = new GuestFixture()) {
            // An engine left at EL1h with DAIF masked (Unicorn's reset state): the frame still shows EL0t.
            long el1 = 0x3c5 | PSR_N | PSR_C;
            g.engine.regWrite(Arm64Reg.PSTATE, el1);
            g.engine.regWrite(Arm64Reg.SP, STACK + 0x8000);
            FRAMES.setupFrame(g.engine, g.memory, ACTION, SigInfo.kernel(SIGUSR1), 0, new ThreadSignalState());
            long frame = g.engine.regRead(Arm64Reg.SP);
            assertEquals(PSR_N | PSR_C, g.memory.readLong(frame + SC + SC_PSTATE), "the EL0t image");
            assertEquals(el1, g.engine.regRead(Arm64Reg.PSTATE), "the engine's level is the runtime's");
            g.engine.regWrite(Arm64Reg.PSTATE, 0x3c5 | PSR_Z);
            FRAMES.restoreFrame(g.engine, g.memory, new ThreadSignalState());
            assertEquals(el1, g.engine.regRead(Arm64Reg.PSTATE), "NZCV from the frame, the rest kept");

            // EL0t with BTYPE/TCO set (if the engine's CPU keeps them): the handler starts with both clear
            g.engine.regWrite(Arm64Reg.PSTATE, PSR_Z | PSR_BTYPE_MASK | PSR_TCO);
            g.engine.regWrite(Arm64Reg.SP, STACK + 0x8000);
            FRAMES.setupFrame(g.engine, g.memory, ACTION, SigInfo.kernel(SIGUSR1), 0, new ThreadSignalState());
            assertEquals(PSR_Z, g.engine.regRead(Arm64Reg.PSTATE));
        }
    }

    // ------------------------------------------------------------ sigreturn checks

    /** A frame built by setupFrame at STACK + 0x8000 with SP left on it, as the handler returns. */
    static long frame(GuestFixture g) {
        g.randomize(new Random(5), STACK + 0x8000, INTERRUPTED);
        FRAMES.setupFrame(g.engine, g.memory, ACTION, SigInfo.kernel(SIGUSR1), 0x55, new ThreadSignalState());
        return g.engine.regRead(Arm64Reg.SP);
    }

    static void assertBadFrame(GuestFixture g) {
        State before = g.read();
        ErrnoException e = assertThrows(ErrnoException.class,
                () -> FRAMES.restoreFrame(g.engine, g.memory, new ThreadSignalState()));
        assertEquals(Errno.EFAULT, e.errno());
        assertEquals("", before.diff(g.read()), "nothing restored");
    }

    @Test
    void misalignedOrUnreadableSpIsEfault() {
        try (GuestFixture g = new GuestFixture()) {
            long frame = frame(g);
            for (long sp : new long[] {frame + 8, frame + 4, frame + 1, 0x5000_0000L}) {
                g.engine.regWrite(Arm64Reg.SP, sp);
                assertBadFrame(g);
            }
            g.engine.regWrite(Arm64Reg.SP, frame);
            assertEquals(0x55, FRAMES.restoreFrame(g.engine, g.memory, new ThreadSignalState()));
        }
    }

    @Test
    void pstateMustBeValidEl0t() {
        try (GuestFixture g = new GuestFixture()) {
            long frame = frame(g);
            long at = frame + SC + SC_PSTATE;
            long[] bad = {0x5 /* EL1h */, 0x4 /* EL1t */, 0x10 /* AArch32 */, 0x80 /* I */, 0x200 /* D */, 0x40 /* F */};
            for (long p : bad) {
                g.memory.writeLong(at, PSR_Z | p);
                g.engine.regWrite(Arm64Reg.SP, frame);
                assertBadFrame(g);
            }
            // RES0 bits (PAN, UAO, IL, 63:32, ...) and SS are dropped, not rejected
            g.memory.writeLong(at, PSR_Z | PSR_V | (1L << 40) | (1L << 22) | (1L << 20) | PSR_SS | (1L << 5));
            g.engine.regWrite(Arm64Reg.SP, frame);
            FRAMES.restoreFrame(g.engine, g.memory, new ThreadSignalState());
            assertEquals(PSR_Z | PSR_V, g.engine.regRead(Arm64Reg.PSTATE));
        }
        assertEquals(PSR_C, SignalFrameAarch64.validUserPstate(PSR_C | PSR_SS));
    }

    @Test
    void recordListIsCheckedLikeParseUserSigframe() {
        try (GuestFixture g = new GuestFixture()) {
            long frame = frame(g);
            long rec = frame + REC;
            long after = rec + FPSIMD_SIZE;
            byte[] good = g.memory.read(rec, RESERVED_SIZE);
            Runnable reset = () -> {
                g.memory.write(rec, good);
                g.engine.regWrite(Arm64Reg.SP, frame);
            };
            record Bad(String why, Runnable corrupt) {}
            Bad[] bads = {
                    new Bad("unknown magic", () -> g.memory.writeInt(rec, 0x12345678)),
                    new Bad("no fpsimd", () -> g.memory.writeLong(rec, 0)),
                    new Bad("fpsimd too small", () -> g.memory.writeInt(rec + CTX_SIZE, 512)),
                    new Bad("fpsimd too big", () -> {
                        g.memory.writeInt(rec + CTX_SIZE, FPSIMD_SIZE + 16);
                        g.memory.writeLong(after + 16, 0);
                    }),
                    new Bad("two fpsimd", () -> {
                        g.memory.write(after, g.memory.read(rec, FPSIMD_SIZE));
                        g.memory.writeLong(after + FPSIMD_SIZE, 0);
                    }),
                    new Bad("terminator with a size", () -> g.memory.writeInt(after + CTX_SIZE, 16)),
                    new Bad("record not 16-aligned", () -> {
                        g.memory.writeInt(after, ESR_MAGIC);
                        g.memory.writeInt(after + CTX_SIZE, 24);
                        g.memory.writeLong(after + 24, 0);
                    }),
                    new Bad("record smaller than its header", () -> {
                        g.memory.writeInt(after, ESR_MAGIC);
                        g.memory.writeInt(after + CTX_SIZE, 0);
                    }),
                    new Bad("record past __reserved", () -> {
                        g.memory.writeInt(after, ESR_MAGIC);
                        g.memory.writeInt(after + CTX_SIZE, RESERVED_SIZE);
                    }),
                    new Bad("SVE on a CPU without it", () -> {
                        g.memory.writeInt(after, SVE_MAGIC);
                        g.memory.writeInt(after + CTX_SIZE, 16);
                        g.memory.writeLong(after + 16, 0);
                    }),
                    new Bad("no terminator", () -> {
                        for (long o = after; o < rec + RESERVED_SIZE; o += 16) {
                            g.memory.writeInt(o, ESR_MAGIC);
                            g.memory.writeInt(o + CTX_SIZE, 16);
                        }
                    }),
                    new Bad("extra_context not followed by a terminator", () -> {
                        g.memory.writeInt(after, EXTRA_MAGIC);
                        g.memory.writeInt(after + CTX_SIZE, EXTRA_CONTEXT_SIZE);
                        g.memory.writeLong(after + EXTRA_DATAP, after + 48);
                        g.memory.writeInt(after + EXTRA_SIZE, 16);
                        g.memory.writeInt(after + 32, ESR_MAGIC);
                    }),
                    new Bad("extra_context data elsewhere", () -> {
                        g.memory.writeInt(after, EXTRA_MAGIC);
                        g.memory.writeInt(after + CTX_SIZE, EXTRA_CONTEXT_SIZE);
                        g.memory.writeLong(after + EXTRA_DATAP, after + 64);
                        g.memory.writeInt(after + EXTRA_SIZE, 16);
                        g.memory.writeLong(after + 32, 0);
                        g.memory.writeLong(after + 64, 0);
                    }),
            };
            for (Bad b : bads) {
                reset.run();
                b.corrupt().run();
                try {
                    assertBadFrame(g);
                } catch (AssertionError e) {
                    throw new AssertionError(b.why(), e);
                }
            }

            // accepted: an esr_context anywhere, and an extra_context whose space holds the terminator
            reset.run();
            g.memory.writeInt(after, ESR_MAGIC);
            g.memory.writeInt(after + CTX_SIZE, ESR_CONTEXT_SIZE);
            g.memory.writeInt(after + 16, EXTRA_MAGIC);
            g.memory.writeInt(after + 16 + CTX_SIZE, EXTRA_CONTEXT_SIZE);
            g.memory.writeLong(after + 16 + EXTRA_DATAP, after + 16 + 32 + 16);
            g.memory.writeInt(after + 16 + EXTRA_SIZE, 32);
            g.memory.writeLong(after + 48, 0); // the dummy terminator in __reserved
            g.memory.writeInt(after + 64, ESR_MAGIC);
            g.memory.writeInt(after + 64 + CTX_SIZE, ESR_CONTEXT_SIZE);
            g.memory.writeLong(after + 80, 0); // the real terminator, in the extra space
            assertEquals(0x55, FRAMES.restoreFrame(g.engine, g.memory, new ThreadSignalState()));
            assertEquals(INTERRUPTED, g.engine.regRead(Arm64Reg.PC));
        }
    }

    // ------------------------------------------------------------ alternate stacks

    @Test
    void saOnstackPutsTheFrameAtTheTopOfTheAltStack() {
        try (GuestFixture g = new GuestFixture()) {
            ThreadSignalState alt = altStack(0);
            g.engine.regWrite(Arm64Reg.SP, STACK + 0x8000);
            SignalAction onstack = new SignalAction(HANDLER, SA_SIGINFO | SA_RESTORER | SA_ONSTACK, RESTORER, 0);
            FRAMES.setupFrame(g.engine, g.memory, onstack, SigInfo.kernel(SIGUSR1), 0, alt);
            assertEquals(ALT + ALT_SIZE - 16, g.engine.regRead(Arm64Reg.X29));
            long frame = g.engine.regRead(Arm64Reg.SP);
            assertEquals(ALT + ALT_SIZE - 16 - FRAME_SIZE, frame);
            ByteBuffer ucs = bytes(g, frame + OFF_UC + UC_STACK, STACK_T_SIZE);
            assertEquals(ALT, ucs.getLong(SS_SP));
            assertEquals(0, ucs.getInt(SS_FLAGS), "t->sas_ss_flags as set (not SS_ONSTACK)");
            assertEquals(ALT_SIZE, ucs.getLong(SS_SIZE));
            assertEquals(STACK + 0x8000, g.memory.readLong(frame + SC + SC_SP));

            // nested, already on the alt stack: continues below the current SP
            long inHandler = frame - 0x20;
            g.engine.regWrite(Arm64Reg.SP, inHandler);
            FRAMES.setupFrame(g.engine, g.memory, onstack, SigInfo.kernel(SIGUSR1), 0, alt);
            assertEquals(inHandler - 16 - FRAME_SIZE, g.engine.regRead(Arm64Reg.SP));

            // without SA_ONSTACK the normal stack is used
            g.engine.regWrite(Arm64Reg.SP, STACK + 0x8000);
            FRAMES.setupFrame(g.engine, g.memory, ACTION, SigInfo.kernel(SIGUSR1), 0, alt);
            assertEquals(STACK + 0x8000 - 16 - FRAME_SIZE, g.engine.regRead(Arm64Reg.SP));
        }
    }

    @Test
    void minimumAltStackHoldsAFrame() {
        try (GuestFixture g = new GuestFixture()) {
            long base = ALT + ALT_SIZE - SigAltStack.MINSIGSTKSZ;
            ThreadSignalState alt = new ThreadSignalState();
            alt.setAltStack(base, 0, SigAltStack.MINSIGSTKSZ, SigAltStack.MINSIGSTKSZ);
            fill(g, ALT, (int) (base - ALT), 0x77);
            g.engine.regWrite(Arm64Reg.SP, STACK + 0x8000);
            SignalAction onstack = new SignalAction(HANDLER, SA_SIGINFO | SA_RESTORER | SA_ONSTACK, RESTORER, 0);
            FRAMES.setupFrame(g.engine, g.memory, onstack, SigInfo.kernel(SIGUSR1), 0, alt);
            assertTrue(g.engine.regRead(Arm64Reg.SP) > base);
            for (byte b : g.memory.read(ALT, (int) (base - ALT))) assertEquals((byte) 0x77, b, "nothing below it");
        }
    }

    @Test
    void overflowingTheAltStackIsNotCheckedOnlyFaults() {
        try (GuestFixture g = new GuestFixture()) {
            // arm64's get_sigframe has no "overflowed sigaltstack" check (x86 has): a nested frame
            // runs off the bottom, and fails only if the memory there cannot be written.
            ThreadSignalState alt = altStack(0);
            SignalAction onstack = new SignalAction(HANDLER, SA_SIGINFO | SA_RESTORER | SA_ONSTACK, RESTORER, 0);
            g.engine.regWrite(Arm64Reg.SP, ALT + 0x400);
            ErrnoException e = assertThrows(ErrnoException.class, () ->
                    FRAMES.setupFrame(g.engine, g.memory, onstack, SigInfo.kernel(SIGUSR1), 0, alt));
            assertEquals(Errno.EFAULT, e.errno(), "below ALT is unmapped");
            assertEquals(ALT + 0x400, g.engine.regRead(Arm64Reg.SP));

            // an alt stack with writable memory below it: the frame lands there, as in the kernel
            ThreadSignalState high = new ThreadSignalState();
            high.setAltStack(STACK + 0x8000, 0, 0x2000, SigAltStack.MINSIGSTKSZ);
            g.engine.regWrite(Arm64Reg.SP, STACK + 0x8400);
            FRAMES.setupFrame(g.engine, g.memory, onstack, SigInfo.kernel(SIGUSR1), 0, high);
            assertTrue(g.engine.regRead(Arm64Reg.SP) < STACK + 0x8000);
        }
    }

    @Test
    void autodisarmDisarmsAndSigreturnRearms() {
        try (GuestFixture g = new GuestFixture()) {
            ThreadSignalState alt = altStack(ThreadSignalState.SS_AUTODISARM);
            g.engine.regWrite(Arm64Reg.SP, STACK + 0x8000);
            g.engine.regWrite(Arm64Reg.PC, INTERRUPTED);
            SignalAction onstack = new SignalAction(HANDLER, SA_SIGINFO | SA_RESTORER | SA_ONSTACK, RESTORER, 0);
            FRAMES.setupFrame(g.engine, g.memory, onstack, SigInfo.kernel(SIGUSR1), 0, alt);
            long frame = g.engine.regRead(Arm64Reg.SP);
            assertTrue(frame > ALT && frame < ALT + ALT_SIZE);
            assertEquals(ThreadSignalState.SS_DISABLE, alt.altStackFlags(), "disarmed while the handler runs");
            assertEquals(ThreadSignalState.SS_AUTODISARM, g.memory.readInt(frame + OFF_UC + UC_STACK + SS_FLAGS));

            // a nested SA_ONSTACK signal now stays on the handler's stack
            long handlerSp = frame - 0x40;
            g.engine.regWrite(Arm64Reg.SP, handlerSp);
            FRAMES.setupFrame(g.engine, g.memory, onstack, SigInfo.kernel(SIGUSR1), 0, alt);
            long nested = g.engine.regRead(Arm64Reg.SP);
            assertEquals(handlerSp - 16 - FRAME_SIZE, nested);
            FRAMES.restoreFrame(g.engine, g.memory, alt);
            assertEquals(ThreadSignalState.SS_DISABLE, alt.altStackFlags(), "inner uc_stack said disabled");

            g.engine.regWrite(Arm64Reg.SP, frame);
            FRAMES.restoreFrame(g.engine, g.memory, alt);
            assertEquals(ALT, alt.altStackBase());
            assertEquals(ALT_SIZE, alt.altStackSize());
            assertEquals(ThreadSignalState.SS_AUTODISARM, alt.altStackFlags(), "re-armed by sigreturn");
            assertEquals(STACK + 0x8000, g.engine.regRead(Arm64Reg.SP));
        }
    }

    @Test
    void sigreturnAppliesUcStackAgainstTheRestoredSp() {
        try (GuestFixture g = new GuestFixture()) {
            // handler on a (non-autodisarm) alt stack, interrupted code was not: the kernel checks
            // the restored SP, so the handler's edit of uc_stack takes effect
            ThreadSignalState alt = altStack(0);
            g.engine.regWrite(Arm64Reg.SP, STACK + 0x8000);
            SignalAction onstack = new SignalAction(HANDLER, SA_SIGINFO | SA_RESTORER | SA_ONSTACK, RESTORER, 0);
            FRAMES.setupFrame(g.engine, g.memory, onstack, SigInfo.kernel(SIGUSR1), 0, alt);
            long frame = g.engine.regRead(Arm64Reg.SP);
            g.memory.writeLong(frame + OFF_UC + UC_STACK + SS_SP, DATA);
            FRAMES.restoreFrame(g.engine, g.memory, alt);
            assertEquals(DATA, alt.altStackBase());

            // interrupted code already on the alt stack: EPERM, ignored
            ThreadSignalState on = altStack(0);
            g.engine.regWrite(Arm64Reg.SP, ALT + 0x3000);
            FRAMES.setupFrame(g.engine, g.memory, onstack, SigInfo.kernel(SIGUSR1), 0, on);
            frame = g.engine.regRead(Arm64Reg.SP);
            g.memory.writeLong(frame + OFF_UC + UC_STACK + SS_SP, DATA);
            FRAMES.restoreFrame(g.engine, g.memory, on);
            assertEquals(ALT, on.altStackBase());
            assertEquals(ALT + 0x3000, g.engine.regRead(Arm64Reg.SP));
        }
    }

    @Test
    void restoreAltStackValidatesWithArm64Minsigstksz() {
        ThreadSignalState alt = new ThreadSignalState();
        SigAltStack.restore(alt, STACK, ALT, 7, ALT_SIZE); // bad mode: EINVAL, ignored
        assertEquals(ThreadSignalState.SS_DISABLE, alt.altStackFlags());
        SigAltStack.restore(alt, STACK, ALT, 0, 4096); // below arm64's 5120: ENOMEM, ignored
        assertEquals(ThreadSignalState.SS_DISABLE, alt.altStackFlags());
        SigAltStack.restore(alt, STACK, ALT, ThreadSignalState.SS_ONSTACK, 5120);
        assertEquals(ALT, alt.altStackBase());
        assertEquals(0, alt.altStackFlags());
        SigAltStack.restore(alt, STACK, 0x999, ThreadSignalState.SS_DISABLE, 5);
        assertEquals(0, alt.altStackBase());
        assertEquals(ThreadSignalState.SS_DISABLE, alt.altStackFlags());
        // __on_sig_stack: base < sp <= base + size
        assertFalse(SigAltStack.onStack(ALT, ALT, ALT_SIZE));
        assertTrue(SigAltStack.onStack(ALT + ALT_SIZE, ALT, ALT_SIZE));
        assertFalse(SigAltStack.onStack(ALT + ALT_SIZE + 1, ALT, ALT_SIZE));
    }

    // ------------------------------------------------------------ syscall restart

    @Test
    void restartBacksUpOntoTheSvcAndRestoresOrigX0() {
        try (GuestFixture g = new GuestFixture()) {
            g.engine.regWrite(Arm64Reg.PC, INTERRUPTED + 4);
            g.engine.regWrite(Arm64Reg.X0, -512); // -ERESTARTSYS, over the first argument
            g.engine.regWrite(Arm64Reg.X8, 63);
            FRAMES.restartSyscall(g.engine, 63, 3);
            assertEquals(INTERRUPTED, g.engine.regRead(Arm64Reg.PC));
            assertEquals(3, g.engine.regRead(Arm64Reg.X0));
            assertEquals(63, g.engine.regRead(Arm64Reg.X8));
            assertThrows(UnsupportedOperationException.class, () -> FRAMES.restartSyscall(g.engine, 63));
        }
    }

    @Test
    void trapSyndromes() {
        assertEquals(0x9200004fL, Arm64Traps.dataAbort(true, true), "write to a read-only page");
        assertEquals(0x9200000fL, Arm64Traps.dataAbort(false, true), "read of a PROT_NONE page");
        assertEquals(0x92000047L, Arm64Traps.dataAbort(true, false), "write to an unmapped page");
        assertEquals(0x92000007L, Arm64Traps.dataAbort(false, false));
        assertEquals(0x8200000fL, Arm64Traps.instructionAbort(true));
        assertEquals(0x82000007L, Arm64Traps.instructionAbort(false));
        assertEquals(0x02000000L, Arm64Traps.undefinedInstruction());
        assertEquals(0xf20003e8L, Arm64Traps.brk(1000));
        assertEquals(0x9a000000L, Arm64Traps.spAlignment());
        assertEquals(0x8a000000L, Arm64Traps.pcAlignment());
        assertEquals(Arm64Traps.EC_DABT_LOW, Arm64Traps.exceptionClass(0x9200004fL));
    }
}
