package dev.herd.signals.x86_64;

import dev.herd.host.Errno;
import dev.herd.host.ErrnoException;
import dev.herd.signals.SigInfo;
import dev.herd.signals.SignalAction;
import dev.herd.signals.ThreadSignalState;
import dev.herd.unicorn.x86_64.X86Reg;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Random;

import static dev.herd.signals.x86_64.GuestFixture.*;
import static dev.herd.signals.x86_64.SignalFrameX86_64.*;
import static org.junit.jupiter.api.Assertions.*;

class SignalFrameX86_64Test {
    static final long HANDLER = CODE + 0x100, RESTORER = CODE + 0x200, INTERRUPTED = CODE + 0x300;
    static final SignalAction ACTION = new SignalAction(HANDLER, SA_SIGINFO | SA_RESTORER, RESTORER, 0);
    static final SignalFrameX86_64 FRAMES = SignalFrameX86_64.INSTANCE;
    static final int SIGUSR1 = 10, SIGSEGV = 11, SIGALRM = 14, SIGRTMIN = 34;

    static ByteBuffer bytes(GuestFixture g, long at, int len) {
        return ByteBuffer.wrap(g.memory.read(at, len)).order(ByteOrder.LITTLE_ENDIAN);
    }

    static ThreadSignalState noAltStack() {
        return new ThreadSignalState();
    }

    @Test
    void roundTripRestoresEveryRegister() {
        Random rnd = new Random(42);
        for (int round = 0; round < 16; round++) {
            try (GuestFixture g = new GuestFixture()) {
                long rsp = STACK + STACK_SIZE - 0x800 - rnd.nextInt(64); // any alignment
                g.randomize(rnd, rsp, INTERRUPTED);
                State before = g.read();
                long mask = rnd.nextLong() & ~((1L << 8) | (1L << 18)); // whatever: bits the caller saved
                SigInfo info = new SigInfo(SIGRTMIN + 1, 0, SigInfo.SI_QUEUE, 1234, 1000, 0, 0xfeedfacecafeL, 0, 0);
                ThreadSignalState alt = noAltStack();

                FRAMES.setupFrame(g.engine, g.memory, ACTION, info, mask, alt, 14, 6, 0xdead000);
                State in = g.read();
                long frame = in.gpr(X86Reg.RSP);

                // handler entry registers
                assertEquals(HANDLER, in.gpr(X86Reg.RIP));
                assertEquals(0, (frame + 8) % 16, "ABI: (rsp + 8) % 16 == 0 at function entry");
                assertEquals(SIGRTMIN + 1, in.gpr(X86Reg.RDI));
                assertEquals(frame + OFF_INFO, in.gpr(X86Reg.RSI));
                assertEquals(frame + OFF_UC, in.gpr(X86Reg.RDX));
                assertEquals(0, in.gpr(X86Reg.RAX));
                assertEquals(before.gpr(X86Reg.RFLAGS) & ~(EFLAGS_DF | EFLAGS_TF | EFLAGS_RF), in.gpr(X86Reg.RFLAGS));
                assertEquals(before.gpr(X86Reg.RBX), in.gpr(X86Reg.RBX), "other registers untouched");
                assertEquals(before.gpr(X86Reg.R15), in.gpr(X86Reg.R15));
                // the handler starts with a clean FPU (fpu__clear_user_states)
                assertEquals(0x37f, in.fpctl()[0]);
                assertEquals(0, in.fpctl()[1]);
                assertEquals(0xffff, in.fpctl()[2]);
                assertEquals(0x1f80, in.fpctl()[6]);
                for (byte[] x : in.xmm()) assertArrayEquals(new byte[16], x);
                for (byte[] s : in.st()) assertArrayEquals(new byte[10], s);

                // frame contents
                ByteBuffer f = bytes(g, frame, FRAME_SIZE);
                assertEquals(RESTORER, f.getLong(OFF_PRETCODE));
                int uc = OFF_UC;
                assertEquals(UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS, f.getLong(uc + UC_FLAGS));
                assertEquals(0, f.getLong(uc + UC_LINK));
                assertEquals(0, f.getLong(uc + UC_STACK + SS_SP));
                assertEquals(ThreadSignalState.SS_DISABLE, f.getInt(uc + UC_STACK + SS_FLAGS));
                assertEquals(0, f.getLong(uc + UC_STACK + SS_SIZE));
                int sc = uc + UC_MCONTEXT;
                int[] scRegs = {X86Reg.R8, X86Reg.R9, X86Reg.R10, X86Reg.R11, X86Reg.R12, X86Reg.R13, X86Reg.R14,
                        X86Reg.R15, X86Reg.RDI, X86Reg.RSI, X86Reg.RBP, X86Reg.RBX, X86Reg.RDX, X86Reg.RAX, X86Reg.RCX,
                        X86Reg.RSP, X86Reg.RIP, X86Reg.RFLAGS};
                for (int i = 0; i < scRegs.length; i++) {
                    assertEquals(before.gpr(scRegs[i]), f.getLong(sc + 8 * i), "sigcontext slot " + i);
                }
                assertEquals(0x33, f.getShort(sc + SC_CS));
                assertEquals(0, f.getShort(sc + SC_GS));
                assertEquals(0, f.getShort(sc + SC_FS));
                assertEquals(0x2b, f.getShort(sc + SC_SS));
                assertEquals(6, f.getLong(sc + SC_ERR));
                assertEquals(14, f.getLong(sc + SC_TRAPNO));
                assertEquals(mask, f.getLong(sc + SC_OLDMASK));
                assertEquals(0xdead000, f.getLong(sc + SC_CR2));
                for (int i = 0; i < 8; i++) assertEquals(0, f.getLong(sc + SC_RESERVED1 + 8 * i));
                assertEquals(mask, f.getLong(uc + UC_SIGMASK));
                // siginfo (SI_QUEUE: pid, uid, value)
                assertEquals(SIGRTMIN + 1, f.getInt(OFF_INFO + SI_SIGNO));
                assertEquals(0, f.getInt(OFF_INFO + SI_ERRNO));
                assertEquals(SigInfo.SI_QUEUE, f.getInt(OFF_INFO + SI_CODE));
                assertEquals(1234, f.getInt(OFF_INFO + SI_PID));
                assertEquals(1000, f.getInt(OFF_INFO + SI_UID));
                assertEquals(0xfeedfacecafeL, f.getLong(OFF_INFO + SI_VALUE));
                for (int o = 32; o < SI_SIZE; o += 8) assertEquals(0, f.getLong(OFF_INFO + o));

                // the FXSAVE image: 64-aligned, above the frame, below the red zone
                long fp = f.getLong(sc + SC_FPSTATE);
                assertEquals(0, fp % 64);
                assertTrue(frame + FRAME_SIZE <= fp, "FP area above the frame");
                assertTrue(fp + FX_SIZE <= rsp - 128, "red zone untouched");
                assertTrue(rsp - 128 - (fp + FX_SIZE) < 64, "FP area right below the red zone");
                assertTrue(fp - (frame + FRAME_SIZE) < 24, "frame right below the FP area");
                ByteBuffer fx = bytes(g, fp, FX_SIZE);
                assertEquals(before.fpctl()[0], fx.getShort(FX_CWD) & 0xffff);
                assertEquals(before.fpctl()[1], fx.getShort(FX_SWD) & 0xffff);
                assertEquals(0xff & ~0xa4, fx.get(FX_TWD) & 0xff, "abridged tag: physical 2, 5, 7 empty");
                assertEquals(0, fx.get(FX_TWD + 1));
                assertEquals(before.fpctl()[3], fx.getShort(FX_FOP) & 0xffff);
                assertEquals(before.fpctl()[4], fx.getLong(FX_RIP));
                assertEquals(before.fpctl()[5], fx.getLong(FX_RDP));
                assertEquals(before.fpctl()[6], fx.getInt(FX_MXCSR) & 0xffffffffL);
                assertEquals(0xffff, fx.getInt(FX_MXCSR_MASK));
                for (int i = 0; i < 8; i++) {
                    byte[] st = Arrays.copyOfRange(fx.array(), FX_ST + 16 * i, FX_ST + 16 * i + 16);
                    assertArrayEquals(before.st()[i], Arrays.copyOf(st, 10), "st" + i);
                    assertArrayEquals(new byte[6], Arrays.copyOfRange(st, 10, 16));
                }
                for (int i = 0; i < 16; i++) {
                    assertArrayEquals(before.xmm()[i],
                            Arrays.copyOfRange(fx.array(), FX_XMM + 16 * i, FX_XMM + 16 * i + 16), "xmm" + i);
                }
                assertArrayEquals(new byte[FX_SIZE - FX_RESERVED2],
                        Arrays.copyOfRange(fx.array(), FX_RESERVED2, FX_SIZE), "no fx_sw magic without XSAVE");

                // clobber everything, return from the handler (ret popped pretcode), sigreturn
                g.randomize(rnd, frame + 8, RESTORER + 7);
                g.engine.regWrite(X86Reg.RFLAGS, 0x202);
                long got = FRAMES.restoreFrame(g.engine, g.memory, alt);
                assertEquals(mask, got);
                State after = g.read();
                assertEquals("", before.diff(after), "round " + round);
            }
        }
    }

    @Test
    void sigreturnKeepsNonFixFlagsAndTakesFixFlags() {
        try (GuestFixture g = new GuestFixture()) {
            g.engine.regWrite(X86Reg.RSP, STACK + 0x8000);
            g.engine.regWrite(X86Reg.RIP, INTERRUPTED);
            g.engine.regWrite(X86Reg.RFLAGS, 0x202 | FIX_EFLAGS);
            FRAMES.setupFrame(g.engine, g.memory, ACTION, SigInfo.kernel(SIGUSR1), 0, noAltStack());
            long frame = g.engine.regRead(X86Reg.RSP);
            // the handler sets ID (0x200000, not in FIX_EFLAGS) and clears every FIX flag
            g.engine.regWrite(X86Reg.RFLAGS, 0x202 | 0x200000);
            g.engine.regWrite(X86Reg.RSP, frame + 8);
            FRAMES.restoreFrame(g.engine, g.memory, noAltStack());
            assertEquals(0x202 | 0x200000 | FIX_EFLAGS, g.engine.regRead(X86Reg.RFLAGS));
        }
    }

    @Test
    void siginfoLayouts() {
        try (GuestFixture g = new GuestFixture()) {
            record Case(SigInfo info, long f16, long f24) {}
            Case[] cases = {
                    new Case(SigInfo.user(SIGUSR1, SigInfo.SI_USER, 77, 1001), 77 | (1001L << 32), 0),
                    new Case(SigInfo.user(SIGUSR1, SigInfo.SI_TKILL, 78, 1002), 78 | (1002L << 32), 0),
                    new Case(new SigInfo(SIGALRM, 0, SigInfo.SI_TIMER, 5, 6, 0, 0x1122334455L, 3, 9),
                            3 | (9L << 32), 0x1122334455L),
                    new Case(SigInfo.fault(SIGSEGV, SigInfo.SEGV_ACCERR, 0x7fff1234L), 0x7fff1234L, 0),
                    new Case(SigInfo.kernel(SIGSEGV), 0, 0),
            };
            for (Case c : cases) {
                g.engine.regWrite(X86Reg.RSP, STACK + 0x8000);
                g.memory.write(STACK, new byte[0x8000]);
                FRAMES.setupFrame(g.engine, g.memory, ACTION, c.info(), 0, noAltStack());
                long frame = g.engine.regRead(X86Reg.RSP);
                ByteBuffer si = bytes(g, frame + OFF_INFO, SI_SIZE);
                assertEquals(c.info().signo(), si.getInt(SI_SIGNO));
                assertEquals(c.info().code(), si.getInt(SI_CODE));
                assertEquals(c.f16(), si.getLong(16), c.toString());
                assertEquals(c.f24(), si.getLong(24), c.toString());
                for (int o = 32; o < SI_SIZE; o += 8) assertEquals(0, si.getLong(o));
            }
        }
    }

    @Test
    void withoutSaSiginfoTheInfoAreaIsNotWritten() {
        try (GuestFixture g = new GuestFixture()) {
            byte[] pattern = new byte[0x1000];
            Arrays.fill(pattern, (byte) 0xaa);
            g.memory.write(STACK + 0x7000, pattern);
            g.engine.regWrite(X86Reg.RSP, STACK + 0x8000);
            SignalAction plain = new SignalAction(HANDLER, SA_RESTORER, RESTORER, 0);
            FRAMES.setupFrame(g.engine, g.memory, plain, SigInfo.kernel(SIGUSR1), 0, noAltStack());
            long frame = g.engine.regRead(X86Reg.RSP);
            byte[] info = g.memory.read(frame + OFF_INFO, SI_SIZE);
            for (byte b : info) assertEquals((byte) 0xaa, b);
            assertEquals(frame + OFF_INFO, g.engine.regRead(X86Reg.RSI), "RSI still points at it");
            assertEquals(RESTORER, g.memory.readLong(frame));
        }
    }

    @Test
    void missingSaRestorerIsEfaultAndChangesNothing() {
        try (GuestFixture g = new GuestFixture()) {
            g.randomize(new Random(1), STACK + 0x8000, INTERRUPTED);
            State before = g.read();
            SignalAction noRestorer = new SignalAction(HANDLER, SA_SIGINFO, RESTORER, 0);
            ErrnoException e = assertThrows(ErrnoException.class, () ->
                    FRAMES.setupFrame(g.engine, g.memory, noRestorer, SigInfo.kernel(SIGUSR1), 0, noAltStack()));
            assertEquals(Errno.EFAULT, e.errno());
            assertEquals("", before.diff(g.read()));
        }
    }

    @Test
    void unwritableStackIsEfaultAndChangesNothing() {
        try (GuestFixture g = new GuestFixture()) {
            for (long rsp : new long[] {RO + 0x2000, 0x5000_0000L /* unmapped */, STACK + 0x100 /* frame below */}) {
                g.randomize(new Random(rsp), rsp, INTERRUPTED);
                State before = g.read();
                ErrnoException e = assertThrows(ErrnoException.class, () ->
                        FRAMES.setupFrame(g.engine, g.memory, ACTION, SigInfo.kernel(SIGUSR1), 0, noAltStack()));
                assertEquals(Errno.EFAULT, e.errno());
                assertEquals("", before.diff(g.read()));
            }
        }
    }

    @Test
    void redZoneIsSkippedOnTheNormalStack() {
        try (GuestFixture g = new GuestFixture()) {
            for (int misalign = 0; misalign < 64; misalign++) {
                long rsp = STACK + 0x8000 - misalign;
                byte[] marker = new byte[128];
                Arrays.fill(marker, (byte) 0x5a);
                g.memory.write(rsp - 128, marker);
                g.engine.regWrite(X86Reg.RSP, rsp);
                g.engine.regWrite(X86Reg.RIP, INTERRUPTED);
                FRAMES.setupFrame(g.engine, g.memory, ACTION, SigInfo.kernel(SIGUSR1), 0, noAltStack());
                long frame = g.engine.regRead(X86Reg.RSP);
                long fp = g.memory.readLong(frame + OFF_UC + UC_MCONTEXT + SC_FPSTATE);
                assertEquals(((rsp - 128 - 512) & -64L), fp);
                assertEquals(((fp - FRAME_SIZE) & -16L) - 8, frame);
                assertArrayEquals(marker, g.memory.read(rsp - 128, 128), "red zone intact");
            }
        }
    }

    // ------------------------------------------------------------ alternate stacks

    static ThreadSignalState altStack(int flags) {
        ThreadSignalState s = new ThreadSignalState();
        s.setAltStack(ALT, flags, ALT_SIZE, SignalFrameX86_64.MIN_SIGSTKSZ);
        return s;
    }

    @Test
    void saOnstackMovesTheFrameToTheAltStackWithoutRedZone() {
        try (GuestFixture g = new GuestFixture()) {
            ThreadSignalState alt = altStack(0);
            g.engine.regWrite(X86Reg.RSP, STACK + 0x8000);
            SignalAction onstack = new SignalAction(HANDLER, SA_SIGINFO | SA_RESTORER | SA_ONSTACK, RESTORER, 0);
            FRAMES.setupFrame(g.engine, g.memory, onstack, SigInfo.kernel(SIGUSR1), 0, alt);
            long frame = g.engine.regRead(X86Reg.RSP);
            long fp = g.memory.readLong(frame + OFF_UC + UC_MCONTEXT + SC_FPSTATE);
            assertEquals((ALT + ALT_SIZE - 512) & -64L, fp, "starts at the top of the alt stack, no red zone");
            assertTrue(frame > ALT && frame < ALT + ALT_SIZE);
            ByteBuffer ucs = bytes(g, frame + OFF_UC + UC_STACK, 24);
            assertEquals(ALT, ucs.getLong(SS_SP));
            assertEquals(0, ucs.getInt(SS_FLAGS), "t->sas_ss_flags as set (not SS_ONSTACK)");
            assertEquals(ALT_SIZE, ucs.getLong(SS_SIZE));
            assertEquals(0, alt.altStackFlags(), "no autodisarm: stays armed");

            // without SA_ONSTACK the normal stack is used even with an alt stack set
            g.engine.regWrite(X86Reg.RSP, STACK + 0x8000);
            FRAMES.setupFrame(g.engine, g.memory, ACTION, SigInfo.kernel(SIGUSR1), 0, alt);
            long normal = g.engine.regRead(X86Reg.RSP);
            assertTrue(normal > STACK && normal < STACK + 0x8000);
        }
    }

    @Test
    void alreadyOnTheAltStackStaysOnItBelowTheRedZone() {
        try (GuestFixture g = new GuestFixture()) {
            ThreadSignalState alt = altStack(0);
            long rsp = ALT + 0x3000;
            g.engine.regWrite(X86Reg.RSP, rsp);
            SignalAction onstack = new SignalAction(HANDLER, SA_SIGINFO | SA_RESTORER | SA_ONSTACK, RESTORER, 0);
            FRAMES.setupFrame(g.engine, g.memory, onstack, SigInfo.kernel(SIGUSR1), 0, alt);
            long frame = g.engine.regRead(X86Reg.RSP);
            long fp = g.memory.readLong(frame + OFF_UC + UC_MCONTEXT + SC_FPSTATE);
            assertEquals((rsp - 128 - 512) & -64L, fp, "nested: continues below the red zone");

            // sigreturn from a handler on the (non-autodisarm) alt stack: do_sigaltstack -> EPERM, ignored
            g.memory.writeLong(frame + OFF_UC + UC_STACK + SS_SP, 0x1234000);
            g.engine.regWrite(X86Reg.RSP, frame + 8);
            FRAMES.restoreFrame(g.engine, g.memory, alt);
            assertEquals(ALT, alt.altStackBase(), "unchanged while on the alt stack");
            assertEquals(rsp, g.engine.regRead(X86Reg.RSP));
        }
    }

    @Test
    void nestedFrameThatOverflowsTheAltStackIsEfault() {
        try (GuestFixture g = new GuestFixture()) {
            ThreadSignalState alt = altStack(0);
            long rsp = ALT + 0x300; // frame would start below ALT
            g.engine.regWrite(X86Reg.RSP, rsp);
            ErrnoException e = assertThrows(ErrnoException.class, () ->
                    FRAMES.setupFrame(g.engine, g.memory, ACTION, SigInfo.kernel(SIGUSR1), 0, alt));
            assertEquals(Errno.EFAULT, e.errno(), "overflowed sigaltstack, even without SA_ONSTACK");
            assertEquals(rsp, g.engine.regRead(X86Reg.RSP));
        }
    }

    @Test
    void autodisarmDisarmsAndSigreturnRearms() {
        try (GuestFixture g = new GuestFixture()) {
            ThreadSignalState alt = altStack(ThreadSignalState.SS_AUTODISARM);
            g.engine.regWrite(X86Reg.RSP, STACK + 0x8000);
            g.engine.regWrite(X86Reg.RIP, INTERRUPTED);
            SignalAction onstack = new SignalAction(HANDLER, SA_SIGINFO | SA_RESTORER | SA_ONSTACK, RESTORER, 0);
            FRAMES.setupFrame(g.engine, g.memory, onstack, SigInfo.kernel(SIGUSR1), 0, alt);
            long frame = g.engine.regRead(X86Reg.RSP);
            assertTrue(frame > ALT && frame < ALT + ALT_SIZE);
            assertEquals(ThreadSignalState.SS_DISABLE, alt.altStackFlags(), "disarmed while the handler runs");
            assertEquals(0, alt.altStackSize());
            ByteBuffer ucs = bytes(g, frame + OFF_UC + UC_STACK, 24);
            assertEquals(ALT, ucs.getLong(SS_SP));
            assertEquals(ThreadSignalState.SS_AUTODISARM, ucs.getInt(SS_FLAGS));
            assertEquals(ALT_SIZE, ucs.getLong(SS_SIZE));

            // a nested signal in the handler with SA_ONSTACK now lands on the handler's stack (alt is disarmed)
            long handlerRsp = frame - 0x40;
            g.engine.regWrite(X86Reg.RSP, handlerRsp);
            FRAMES.setupFrame(g.engine, g.memory, onstack, SigInfo.kernel(SIGUSR1), 0, alt);
            long nested = g.engine.regRead(X86Reg.RSP);
            assertTrue(nested < handlerRsp - 128 && nested > ALT);
            g.engine.regWrite(X86Reg.RSP, nested + 8);
            FRAMES.restoreFrame(g.engine, g.memory, alt);
            assertEquals(ThreadSignalState.SS_DISABLE, alt.altStackFlags(), "inner uc_stack said disabled");

            g.engine.regWrite(X86Reg.RSP, frame + 8);
            FRAMES.restoreFrame(g.engine, g.memory, alt);
            assertEquals(ALT, alt.altStackBase());
            assertEquals(ALT_SIZE, alt.altStackSize());
            assertEquals(ThreadSignalState.SS_AUTODISARM, alt.altStackFlags(), "re-armed by sigreturn");
            assertEquals(STACK + 0x8000, g.engine.regRead(X86Reg.RSP));
        }
    }

    @Test
    void autodisarmIsResetByAnyDeliveryLikeSignalDelivered() {
        try (GuestFixture g = new GuestFixture()) {
            ThreadSignalState alt = altStack(ThreadSignalState.SS_AUTODISARM);
            g.engine.regWrite(X86Reg.RSP, STACK + 0x8000);
            FRAMES.setupFrame(g.engine, g.memory, ACTION, SigInfo.kernel(SIGUSR1), 0, alt); // no SA_ONSTACK
            assertEquals(ThreadSignalState.SS_DISABLE, alt.altStackFlags());
        }
    }

    @Test
    void sigreturnAppliesSigaltstackValidation() {
        ThreadSignalState alt = new ThreadSignalState();
        SignalFrameX86_64.restoreAltStack(alt, STACK, ALT, 7, ALT_SIZE); // bad mode: EINVAL, ignored
        assertEquals(ThreadSignalState.SS_DISABLE, alt.altStackFlags());
        SignalFrameX86_64.restoreAltStack(alt, STACK, ALT, 0, 1024); // below MINSIGSTKSZ: ENOMEM, ignored
        assertEquals(ThreadSignalState.SS_DISABLE, alt.altStackFlags());
        SignalFrameX86_64.restoreAltStack(alt, STACK, ALT, ThreadSignalState.SS_ONSTACK, ALT_SIZE);
        assertEquals(ALT, alt.altStackBase());
        assertEquals(0, alt.altStackFlags());
        SignalFrameX86_64.restoreAltStack(alt, STACK, 0x999, ThreadSignalState.SS_DISABLE, 5);
        assertEquals(0, alt.altStackBase());
        assertEquals(0, alt.altStackSize());
        assertEquals(ThreadSignalState.SS_DISABLE, alt.altStackFlags());
    }

    @Test
    void onStackBoundsAreTheKernels() {
        // __on_sig_stack: base < sp <= base + size
        assertFalse(SignalFrameX86_64.onStack(ALT, ALT, ALT_SIZE));
        assertTrue(SignalFrameX86_64.onStack(ALT + 1, ALT, ALT_SIZE));
        assertTrue(SignalFrameX86_64.onStack(ALT + ALT_SIZE, ALT, ALT_SIZE));
        assertFalse(SignalFrameX86_64.onStack(ALT + ALT_SIZE + 1, ALT, ALT_SIZE));
        assertEquals(ThreadSignalState.SS_DISABLE, SignalFrameX86_64.sasSsFlags(ALT + 8, 0, 0, 0));
        assertEquals(ThreadSignalState.SS_ONSTACK, SignalFrameX86_64.sasSsFlags(ALT + 8, ALT, ALT_SIZE, 0));
        assertEquals(0, SignalFrameX86_64.sasSsFlags(ALT + 8, ALT, ALT_SIZE, ThreadSignalState.SS_AUTODISARM));
    }

    // ------------------------------------------------------------ FP restore edge cases

    @Test
    void nullFpstateResetsTheFpu() {
        try (GuestFixture g = new GuestFixture()) {
            g.randomize(new Random(7), STACK + 0x8000, INTERRUPTED);
            FRAMES.setupFrame(g.engine, g.memory, ACTION, SigInfo.kernel(SIGUSR1), 0, noAltStack());
            long frame = g.engine.regRead(X86Reg.RSP);
            g.memory.writeLong(frame + OFF_UC + UC_MCONTEXT + SC_FPSTATE, 0);
            g.randomize(new Random(8), frame + 8, RESTORER);
            FRAMES.restoreFrame(g.engine, g.memory, noAltStack());
            State s = g.read();
            assertArrayEquals(new long[] {0x37f, 0, 0xffff, 0, 0, 0, 0x1f80}, s.fpctl());
            for (byte[] x : s.xmm()) assertArrayEquals(new byte[16], x);
            assertEquals(INTERRUPTED, s.gpr(X86Reg.RIP));
        }
    }

    @Test
    void badFpImageIsEfault() {
        try (GuestFixture g = new GuestFixture()) {
            g.engine.regWrite(X86Reg.RSP, STACK + 0x8000);
            FRAMES.setupFrame(g.engine, g.memory, ACTION, SigInfo.kernel(SIGUSR1), 0, noAltStack());
            long frame = g.engine.regRead(X86Reg.RSP);
            long fpField = frame + OFF_UC + UC_MCONTEXT + SC_FPSTATE;
            long fp = g.memory.readLong(fpField);

            g.memory.writeInt(fp + FX_MXCSR, 0x10000 | 0x1f80); // reserved MXCSR bit: FXRSTOR #GP
            g.engine.regWrite(X86Reg.RSP, frame + 8);
            assertEquals(Errno.EFAULT, assertThrows(ErrnoException.class,
                    () -> FRAMES.restoreFrame(g.engine, g.memory, noAltStack())).errno());
            g.memory.writeInt(fp + FX_MXCSR, 0x1f80);

            g.memory.writeLong(fpField, fp + 8); // misaligned: FXRSTOR #GP
            g.engine.regWrite(X86Reg.RSP, frame + 8);
            assertEquals(Errno.EFAULT, assertThrows(ErrnoException.class,
                    () -> FRAMES.restoreFrame(g.engine, g.memory, noAltStack())).errno());

            g.memory.writeLong(fpField, 0x5000_0000L); // unmapped
            g.engine.regWrite(X86Reg.RSP, frame + 8);
            assertEquals(Errno.EFAULT, assertThrows(ErrnoException.class,
                    () -> FRAMES.restoreFrame(g.engine, g.memory, noAltStack())).errno());

            g.engine.regWrite(X86Reg.RSP, 0x5000_0000L); // frame itself unreadable
            assertEquals(Errno.EFAULT, assertThrows(ErrnoException.class,
                    () -> FRAMES.restoreFrame(g.engine, g.memory, noAltStack())).errno());
        }
    }

    @Test
    void tagWordConversions() {
        assertEquals(0x00, SignalFrameX86_64.abridgedTag(0xffff));
        assertEquals(0xff, SignalFrameX86_64.abridgedTag(0x0000));
        assertEquals(0x81, SignalFrameX86_64.abridgedTag(0x3ffc | 0x4000)); // 0 valid, 7 zero, rest empty
        byte[] fx = new byte[FX_SIZE];
        // TOP = 6: ST0 is physical 6, ST1 physical 7. ST0 = 1.0 (valid), ST1 = 0 (zero)
        ByteBuffer b = ByteBuffer.wrap(fx).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(FX_ST, 0x8000000000000000L);
        b.putShort(FX_ST + 8, (short) 0x3fff);
        assertEquals(0x4fff, SignalFrameX86_64.fullTag(0xc0, 6, fx));
        // an infinity is special (10)
        b.putShort(FX_ST + 8, (short) 0x7fff);
        assertEquals(0x6fff, SignalFrameX86_64.fullTag(0xc0, 6, fx));
    }

    // ------------------------------------------------------------ syscall restart

    @Test
    void restartSyscallBacksUpOntoTheSyscall() {
        try (GuestFixture g = new GuestFixture()) {
            g.engine.regWrite(X86Reg.RIP, INTERRUPTED + 2);
            g.engine.regWrite(X86Reg.RAX, -4);
            FRAMES.restartSyscall(g.engine, 7);
            assertEquals(INTERRUPTED, g.engine.regRead(X86Reg.RIP));
            assertEquals(7, g.engine.regRead(X86Reg.RAX));
        }
    }

    @Test
    void pageFaultErrorCodes() {
        assertEquals(4, X86Traps.pageFaultError(0x1000, false, false, false));
        assertEquals(6, X86Traps.pageFaultError(0x1000, false, true, false));
        assertEquals(7, X86Traps.pageFaultError(0x1000, true, true, false));
        assertEquals(0x14, X86Traps.pageFaultError(0x1000, false, false, true));
        assertEquals(0x15, X86Traps.pageFaultError(0x1000, true, false, true));
        assertEquals(5, X86Traps.pageFaultError(0xffff800000000000L, false, false, false));
    }

    static MemorySegment seg(byte[] b) { return MemorySegment.ofArray(b); }
}
