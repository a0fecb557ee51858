package dev.herd.signals.aarch64;

import dev.herd.signals.SigInfo;
import dev.herd.signals.SignalAction;
import dev.herd.signals.ThreadSignalState;
import dev.herd.unicorn.aarch64.Arm64Reg;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import static dev.herd.signals.aarch64.GuestFixture.*;
import static dev.herd.signals.aarch64.SignalFrameAarch64.*;
import static org.junit.jupiter.api.Assertions.*;

/**
 * Runs a real handler in an aarch64 engine: the interrupted code makes a syscall ({@code svc}),
 * the test's interrupt hook (standing in for the runtime) delivers a signal at syscall exit, the
 * handler records what it sees, clobbers registers, NZCV, V registers and the stack, and returns
 * with {@code ret} to x30 -- its SA_RESTORER stub or the {@link SigreturnTrampoline} -- whose
 * {@code svc} the hook turns into rt_sigreturn; the interrupted code then resumes with every
 * register as it was and reads a restored V register.
 *
 * <p>Code assembled with aarch64-linux-gnu-as, words from aarch64-linux-gnu-objdump -d.
 */
class SignalHandlerExecutionTest {
    static final long MAIN = CODE + 0x300, HANDLER = CODE + 0x100, RESTORER = CODE + 0x200, G = DATA;
    static final int SIGUSR1 = 10, NR_GETPID = 172, SVC_INTNO = 2;

    static final byte[] MAIN_CODE = insns(
            0xd2801588,   // mov  x8, #172          (getpid)
            0xd4000001,   // svc  #0
            0x4e183ca3,   // umov x3, v5.d[1]       (a restored V register, read by the CPU)
            0xd503201f);  // nop                    (not executed: emuStart stops here)
    static final byte[] HANDLER_CODE = insns(
            0xd2a60009,   // mov  x9, #0x30000000   (G)
            0xb9000120,   // str  w0, [x9]          signo
            0xb940002a,   // ldr  w10, [x1]         info->si_signo
            0xb900052a,   // str  w10, [x9, #4]
            0xf940dc4a,   // ldr  x10, [x2, #440]   uc->uc_mcontext.pc
            0xf900052a,   // str  x10, [x9, #8]
            0x910003ea,   // mov  x10, sp
            0xf900092a,   // str  x10, [x9, #16]
            0xf9000d3d,   // str  x29, [x9, #24]
            0xb941d04a,   // ldr  w10, [x2, #464]   __reserved: first record's magic
            0xb900212a,   // str  w10, [x9, #32]
            0xb941d44a,   // ldr  w10, [x2, #468]   and size
            0xb900252a,   // str  w10, [x9, #36]
            0xd53b420a,   // mrs  x10, nzcv
            0xf900152a,   // str  x10, [x9, #40]
            0xf900193e,   // str  x30, [x9, #48]
            0xf94003aa,   // ldr  x10, [x29]        the frame record's fp
            0xf9001d2a,   // str  x10, [x9, #56]
            0xd2824693,   // mov  x19, #0x1234
            0x4f02e6a5,   // movi v5.16b, #0x55
            0x1e6e1000,   // fmov d0, #1.0
            0xeb13027f,   // cmp  x19, x19          (NZCV = 0110)
            0xd10103ff,   // sub  sp, sp, #0x40
            0xa9007bfd,   // stp  x29, x30, [sp]
            0x910103ff,   // add  sp, sp, #0x40
            0xd65f03c0);  // ret
    static final byte[] RESTORER_CODE = insns(
            0xd2801168,   // mov  x8, #139          (rt_sigreturn)
            0xd4000001,   // svc  #0
            0xd4200000);  // brk  #0

    @ParameterizedTest(name = "altStack={0} saRestorer={1}")
    @CsvSource({"false,true", "true,true", "false,false", "true,false"})
    void handlerRunsAndSigreturnResumesTheInterruptedCode(boolean onAltStack, boolean saRestorer) {
        try (GuestFixture g = new GuestFixture()) {
            g.code(MAIN, MAIN_CODE);
            g.code(HANDLER, HANDLER_CODE);
            g.code(RESTORER, RESTORER_CODE);
            g.view.sync();

            SignalFrameAarch64 frames = new SignalFrameAarch64(TRAMPOLINE);
            ThreadSignalState alt = new ThreadSignalState();
            if (onAltStack) alt.setAltStack(ALT, ThreadSignalState.SS_AUTODISARM, ALT_SIZE, SigAltStack.MINSIGSTKSZ);
            long flags = SA_SIGINFO | (saRestorer ? SA_RESTORER : 0) | (onAltStack ? SA_ONSTACK : 0);
            SignalAction action = new SignalAction(HANDLER, flags, RESTORER, 0);
            long returnTo = saRestorer ? RESTORER : TRAMPOLINE;
            long savedMask = 0x1234_5678L;

            AtomicReference<State> atDelivery = new AtomicReference<>();
            AtomicLong frameAt = new AtomicLong();
            AtomicLong returnedMask = new AtomicLong(-1);
            AtomicLong sigreturnPc = new AtomicLong();
            AtomicInteger sigreturns = new AtomicInteger();
            g.engine.hookInterrupt((uc, intno) -> {
                assertEquals(SVC_INTNO, intno);
                long nr = uc.regRead(Arm64Reg.X8);
                if (nr == NR_GETPID) {
                    uc.regWrite(Arm64Reg.X0, 4242); // the syscall's result
                    atDelivery.set(g.read());
                    frames.setupFrame(uc, g.memory, action, SigInfo.user(SIGUSR1, SigInfo.SI_TKILL, 1, 0),
                            savedMask, alt);
                    frameAt.set(uc.regRead(Arm64Reg.SP));
                } else if (nr == SigreturnTrampoline.NR_RT_SIGRETURN) {
                    sigreturns.incrementAndGet();
                    sigreturnPc.set(uc.regRead(Arm64Reg.PC));
                    returnedMask.set(frames.restoreFrame(uc, g.memory, alt));
                    // a dispatcher would now write its result, which must be the restored x0
                    uc.regWrite(Arm64Reg.X0, uc.regRead(Arm64Reg.X0));
                } else {
                    fail("unexpected syscall " + nr);
                }
            });

            long sp = STACK + 0x8000 - 32;
            g.randomize(new Random((onAltStack ? 2 : 0) + (saRestorer ? 1 : 0)), sp, MAIN);
            g.engine.emuStart(MAIN, MAIN + 12, 0, 0);

            assertEquals(1, sigreturns.get());
            assertEquals(returnTo + 8, sigreturnPc.get(), "returned through " + (saRestorer ? "sa_restorer" : "the trampoline"));
            assertEquals(savedMask, returnedMask.get());
            State before = atDelivery.get();
            assertEquals(MAIN + 8, before.pc(), "delivery saw the post-svc PC");

            // what the handler saw
            ByteBuffer seen = ByteBuffer.wrap(g.memory.read(G, 64)).order(ByteOrder.LITTLE_ENDIAN);
            assertEquals(SIGUSR1, seen.getInt(0), "x0 = signo");
            assertEquals(SIGUSR1, seen.getInt(4), "x1 -> siginfo");
            assertEquals(MAIN + 8, seen.getLong(8), "x2 -> ucontext with the interrupted pc");
            long entrySp = seen.getLong(16);
            assertEquals(frameAt.get(), entrySp);
            assertEquals(0, entrySp % 16);
            assertEquals(entrySp + SigframeLayout.FRAME_SIZE, seen.getLong(24), "x29 = frame record above the frame");
            assertEquals(SigframeLayout.FPSIMD_MAGIC, seen.getInt(32));
            assertEquals(SigframeLayout.FPSIMD_SIZE, seen.getInt(36));
            assertEquals(before.pstate() & PSR_NZCV, seen.getLong(40), "NZCV inherited");
            assertEquals(returnTo, seen.getLong(48), "lr");
            assertEquals(before.x(29), seen.getLong(56), "frame record holds the interrupted fp");
            if (onAltStack) assertTrue(entrySp > ALT && entrySp < ALT + ALT_SIZE, "ran on the alt stack");
            else assertEquals(sp - 16 - SigframeLayout.FRAME_SIZE, entrySp);

            // the interrupted code resumed exactly, and the CPU sees the restored v5
            State after = g.read();
            long v5High = ByteBuffer.wrap(Arrays.copyOfRange(before.v()[5], 8, 16)).order(ByteOrder.LITTLE_ENDIAN)
                    .getLong();
            assertEquals(v5High, after.x(3), "umov x3, v5.d[1] after sigreturn");
            State want = before.with(I_PC, MAIN + 12).with(3, v5High);
            assertEquals("", want.diff(after));
            assertEquals(4242, after.x(0));
            if (onAltStack) {
                assertEquals(ThreadSignalState.SS_AUTODISARM, alt.altStackFlags(), "re-armed");
                assertEquals(ALT, alt.altStackBase());
            }
        }
    }
}
