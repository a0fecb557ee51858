package dev.herd.signals.x86_64;

import dev.herd.signals.SigInfo;
import dev.herd.signals.SignalAction;
import dev.herd.signals.ThreadSignalState;
import dev.herd.unicorn.x86_64.X86Reg;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import static dev.herd.signals.x86_64.GuestFixture.*;
import static dev.herd.signals.x86_64.SignalFrameX86_64.*;
import static org.junit.jupiter.api.Assertions.*;

/**
 * Runs a real handler in the engine: the interrupted code makes a syscall, the test's syscall hook
 * (standing in for the runtime) delivers a signal at syscall exit, the handler clobbers registers,
 * touches the stack and the FPU and returns through its SA_RESTORER stub ({@code mov eax, 15;
 * syscall}), the hook performs rt_sigreturn, and the interrupted code resumes with every register
 * as it was.
 */
class SignalHandlerExecutionTest {
    static final long MAIN = CODE + 0x300, HANDLER = CODE + 0x100, RESTORER = CODE + 0x200, G = DATA;
    static final int SIGUSR1 = 10, NR_GETPID = 39;

    static byte[] le64(long v) {
        return ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(v).array();
    }

    static byte[] cat(byte[]... parts) {
        int n = 0;
        for (byte[] p : parts) n += p.length;
        byte[] out = new byte[n];
        int o = 0;
        for (byte[] p : parts) {
            System.arraycopy(p, 0, out, o, p.length);
            o += p.length;
        }
        return out;
    }

    static byte[] b(int... v) {
        byte[] out = new byte[v.length];
        for (int i = 0; i < v.length; i++) out[i] = (byte) v[i];
        return out;
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void handlerRunsAndSigreturnResumesTheInterruptedCode(boolean onAltStack) {
        try (GuestFixture g = new GuestFixture()) {
            // interrupted code: mov eax, 39; syscall; nop   (runs until MAIN + 8)
            g.code(MAIN, b(0xb8, 39, 0, 0, 0, 0x0f, 0x05, 0x90));
            // handler
            g.code(HANDLER, cat(
                    b(0x48, 0xb8), le64(G),                       // mov rax, G
                    b(0x89, 0x38),                                // mov [rax], edi        (signo)
                    b(0x8b, 0x0e),                                // mov ecx, [rsi]        (info->si_signo)
                    b(0x89, 0x48, 0x04),                          // mov [rax+4], ecx
                    b(0x48, 0x8b, 0x8a, 0xa8, 0, 0, 0),           // mov rcx, [rdx+0xa8]   (uc_mcontext.rip)
                    b(0x48, 0x89, 0x48, 0x08),                    // mov [rax+8], rcx
                    b(0x48, 0x89, 0x60, 0x10),                    // mov [rax+16], rsp
                    b(0x9c, 0x59),                                // pushfq; pop rcx
                    b(0x48, 0x89, 0x48, 0x18),                    // mov [rax+24], rcx     (rflags at entry)
                    b(0xbb, 0x34, 0x12, 0, 0),                    // mov ebx, 0x1234
                    b(0x4d, 0x31, 0xe4),                          // xor r12, r12
                    b(0x66, 0x48, 0x0f, 0x6e, 0xcb),              // movq xmm1, rbx
                    b(0xd9, 0xeb),                                // fldpi
                    b(0xfd),                                      // std
                    b(0x48, 0x83, 0xec, 0x40),                    // sub rsp, 0x40
                    b(0x48, 0x83, 0xc4, 0x40),                    // add rsp, 0x40
                    b(0xfc),                                      // cld
                    b(0xc3)));                                    // ret -> pretcode
            // restorer: mov eax, 15; syscall; hlt
            g.code(RESTORER, b(0xb8, 15, 0, 0, 0, 0x0f, 0x05, 0xf4));
            g.view.sync();

            ThreadSignalState alt = new ThreadSignalState();
            if (onAltStack) alt.setAltStack(ALT, ThreadSignalState.SS_AUTODISARM, ALT_SIZE, SignalFrameX86_64.MIN_SIGSTKSZ);
            long flags = SA_SIGINFO | SA_RESTORER | (onAltStack ? SA_ONSTACK : 0);
            SignalAction action = new SignalAction(HANDLER, flags, RESTORER, 0);
            long savedMask = 0x1234_5678L;

            AtomicReference<State> atDelivery = new AtomicReference<>();
            AtomicLong frameAt = new AtomicLong();
            AtomicLong returnedMask = new AtomicLong(-1);
            AtomicInteger sigreturns = new AtomicInteger();
            g.engine.hookSyscall(uc -> {
                long nr = uc.regRead(X86Reg.RAX);
                if (nr == NR_GETPID) {
                    uc.regWrite(X86Reg.RAX, 4242); // the syscall's result
                    SignalFrameX86_64.inSyscallHook(uc, () -> {
                        atDelivery.set(g.read());
                        SignalFrameX86_64.INSTANCE.setupFrame(uc, g.memory, action,
                                SigInfo.user(SIGUSR1, SigInfo.SI_TKILL, 1, 0), savedMask, alt);
                        frameAt.set(uc.regRead(X86Reg.RSP));
                        return null;
                    });
                } else if (nr == NR_RT_SIGRETURN) {
                    sigreturns.incrementAndGet();
                    long mask = SignalFrameX86_64.inSyscallHook(uc,
                            () -> SignalFrameX86_64.INSTANCE.restoreFrame(uc, g.memory, alt));
                    returnedMask.set(mask);
                    // a dispatcher would now write its result, which must be the restored RAX
                    uc.regWrite(X86Reg.RAX, uc.regRead(X86Reg.RAX));
                } else {
                    fail("unexpected syscall " + nr);
                }
            });

            g.randomize(new Random(onAltStack ? 11 : 10), STACK + 0x8000 - 24, MAIN);
            g.engine.regWrite(X86Reg.RFLAGS, 0x202 | EFLAGS_DF | EFLAGS_CF | EFLAGS_ZF);
            g.engine.emuStart(MAIN, MAIN + 8, 0, 0);

            assertEquals(1, sigreturns.get());
            assertEquals(savedMask, returnedMask.get());
            State before = atDelivery.get();
            assertEquals(MAIN + 7, before.gpr(X86Reg.RIP), "delivery saw the post-syscall PC");
            assertEquals(4242, before.gpr(X86Reg.RAX));

            // what the handler saw
            ByteBuffer seen = ByteBuffer.wrap(g.memory.read(G, 32)).order(ByteOrder.LITTLE_ENDIAN);
            assertEquals(SIGUSR1, seen.getInt(0), "rdi = signo");
            assertEquals(SIGUSR1, seen.getInt(4), "rsi -> siginfo");
            assertEquals(MAIN + 7, seen.getLong(8), "rdx -> ucontext with the interrupted rip");
            long entryRsp = seen.getLong(16);
            assertEquals(frameAt.get(), entryRsp);
            assertEquals(0, (entryRsp + 8) % 16);
            if (onAltStack) assertTrue(entryRsp > ALT && entryRsp < ALT + ALT_SIZE, "ran on the alt stack");
            else assertTrue(entryRsp < STACK + 0x8000 - 24 - 128);
            assertEquals(0, seen.getLong(24) & EFLAGS_DF, "DF clear at handler entry");

            // and the interrupted code resumed exactly
            State after = g.read();
            long[] expected = before.gprs().clone();
            for (int i = 0; i < GPRS.length; i++) if (GPRS[i] == X86Reg.RIP) expected[i] = MAIN + 8;
            State want = new State(expected, before.fpctl(), before.st(), before.xmm());
            assertEquals("", want.diff(after));
            if (onAltStack) {
                assertEquals(ThreadSignalState.SS_AUTODISARM, alt.altStackFlags(), "re-armed");
                assertEquals(ALT, alt.altStackBase());
            }
        }
    }
}
