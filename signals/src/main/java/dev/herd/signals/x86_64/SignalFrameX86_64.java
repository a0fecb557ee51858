package dev.herd.signals.x86_64;

import dev.herd.host.Errno;
import dev.herd.host.ErrnoException;
import dev.herd.memory.GuestMemory;
import dev.herd.signals.AltStack;
import dev.herd.signals.SigInfo;
import dev.herd.signals.SigInfoLayout;
import dev.herd.signals.SignalAction;
import dev.herd.signals.SignalFrames;
import dev.herd.signals.ThreadSignalState;
import dev.herd.unicorn.Unicorn;
import dev.herd.unicorn.x86_64.X86Reg;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.function.Supplier;

/**
 * The x86_64 Linux signal frame: the {@code struct rt_sigframe} the kernel builds
 * ({@code arch/x86/kernel/signal.c}, {@code signal_64.c}) and the {@code rt_sigreturn} that undoes
 * it. Layouts are the uapi ones ({@code asm/sigcontext.h}, {@code asm-generic/ucontext.h},
 * {@code asm-generic/siginfo.h}); {@code SignalFrameLayoutTest} pins every offset against the
 * headers with a compiled C probe.
 *
 * <pre>
 *   higher addresses
 *   [interrupted RSP]
 *   128-byte red zone (skipped unless the frame goes on a freshly entered alternate stack)
 *   FXSAVE image, 512 bytes, 64-aligned            &lt;- sigcontext.fpstate
 *   struct rt_sigframe, 440 bytes:                  &lt;- RSP at handler entry ((RSP + 8) % 16 == 0)
 *     +0   pretcode (sa_restorer; the handler's ret pops it)
 *     +8   struct ucontext (uc_flags, uc_link, uc_stack, uc_mcontext = struct sigcontext, uc_sigmask)
 *     +312 siginfo_t (128 bytes; written only for SA_SIGINFO, as the kernel does)
 * </pre>
 *
 * <p>FP state: Unicorn's default x86_64 CPU has no XSAVE (CPUID.1:ECX.XSAVE clear), so the kernel
 * would save the legacy FXSAVE area ({@code fpu__alloc_mathframe}: {@code round_down(sp - 512, 64)}),
 * put zeros in {@code sw_reserved} ({@code fx_sw_reserved} is only filled in when XSAVE exists) and
 * leave {@code UC_FP_XSTATE} out of {@code uc_flags}.
 *
 * <p><b>PC inside the syscall hook.</b> The engine's syscall hook sees RIP on the {@code syscall}
 * instruction and Unicorn adds 2 to whatever RIP is when the hook returns. The methods here work on
 * an engine whose RIP is where the thread resumes (a stopped engine). Called from inside the
 * syscall hook (rt_sigreturn, or a signal delivered at syscall exit), wrap them in
 * {@link #inSyscallHook}, which presents the post-syscall RIP and compensates for the +2.
 */
public final class SignalFrameX86_64 implements SignalFrames {
    // ---------------------------------------------------------------- ABI constants
    public static final long SA_SIGINFO = 0x00000004L, SA_ONSTACK = 0x08000000L, SA_RESTORER = 0x04000000L;
    public static final long UC_FP_XSTATE = 0x1, UC_SIGCONTEXT_SS = 0x2, UC_STRICT_RESTORE_SS = 0x4;
    /** MINSIGSTKSZ (arch/x86/include/uapi/asm/signal.h): the smallest alternate stack, also at sigreturn. */
    public static final long MIN_SIGSTKSZ = 2048;
    /** __USER_CS / __USER_DS of x86_64 Linux: what the kernel saves for a 64-bit user context. */
    public static final int USER_CS = 0x33, USER_DS = 0x2b;
    public static final int NR_RT_SIGRETURN = 15;
    public static final int SYSCALL_INSN_LENGTH = 2;

    public static final long EFLAGS_CF = 0x1, EFLAGS_PF = 0x4, EFLAGS_AF = 0x10, EFLAGS_ZF = 0x40,
            EFLAGS_SF = 0x80, EFLAGS_TF = 0x100, EFLAGS_DF = 0x400, EFLAGS_OF = 0x800,
            EFLAGS_RF = 0x10000, EFLAGS_AC = 0x40000;
    /** The flags rt_sigreturn takes from the frame ({@code FIX_EFLAGS}, asm/sighandling.h); the rest stay. */
    public static final long FIX_EFLAGS = EFLAGS_AC | EFLAGS_OF | EFLAGS_DF | EFLAGS_TF | EFLAGS_SF
            | EFLAGS_ZF | EFLAGS_AF | EFLAGS_PF | EFLAGS_CF | EFLAGS_RF;
    /** The flags handle_signal clears for the handler (DF per the ABI, RF, TF). */
    public static final long HANDLER_CLEARED_EFLAGS = EFLAGS_DF | EFLAGS_RF | EFLAGS_TF;

    /** The x86_64 red zone below RSP that a signal frame must not touch. */
    public static final int RED_ZONE = 128;

    // ---------------------------------------------------------------- layout (pinned by SignalFrameLayoutTest)
    /** sizeof(struct rt_sigframe) on x86_64 (the FP area is placed separately, above it). */
    public static final int FRAME_SIZE = 440;
    public static final int OFF_PRETCODE = 0, OFF_UC = 8, OFF_INFO = 312;
    /** Offsets inside struct ucontext. */
    public static final int UC_FLAGS = 0, UC_LINK = 8, UC_STACK = 16, UC_MCONTEXT = 40, UC_SIGMASK = 296,
            UC_SIZE = 304;
    /** Offsets inside stack_t. */
    public static final int SS_SP = 0, SS_FLAGS = 8, SS_SIZE = 16;
    /** Offsets inside struct sigcontext (64-bit). */
    public static final int SC_R8 = 0, SC_R9 = 8, SC_R10 = 16, SC_R11 = 24, SC_R12 = 32, SC_R13 = 40,
            SC_R14 = 48, SC_R15 = 56, SC_RDI = 64, SC_RSI = 72, SC_RBP = 80, SC_RBX = 88, SC_RDX = 96,
            SC_RAX = 104, SC_RCX = 112, SC_RSP = 120, SC_RIP = 128, SC_EFLAGS = 136, SC_CS = 144,
            SC_GS = 146, SC_FS = 148, SC_SS = 150, SC_ERR = 152, SC_TRAPNO = 160, SC_OLDMASK = 168,
            SC_CR2 = 176, SC_FPSTATE = 184, SC_RESERVED1 = 192, SC_SIZE = 256;
    /** Offsets inside siginfo_t (128 bytes). */
    public static final int SI_SIGNO = 0, SI_ERRNO = 4, SI_CODE = 8, SI_FIELDS = 16, SI_PID = 16, SI_UID = 20,
            SI_VALUE = 24, SI_TIMERID = 16, SI_OVERRUN = 20, SI_ADDR = 16, SI_SIZE = 128;
    /** The legacy FXSAVE image (struct _fpstate_64). */
    public static final int FX_SIZE = 512, FX_ALIGN = 64, FX_CWD = 0, FX_SWD = 2, FX_TWD = 4, FX_FOP = 6,
            FX_RIP = 8, FX_RDP = 16, FX_MXCSR = 24, FX_MXCSR_MASK = 28, FX_ST = 32, FX_XMM = 160,
            FX_RESERVED2 = 416, FX_SW_RESERVED = 464;
    /** MXCSR_MASK an SSE2 CPU with DAZ reports (QEMU's fxsave writes 0x0000ffff as well). */
    public static final int MXCSR_MASK = 0xffff;
    /** The FPU state fpu__clear_user_states() gives a signal handler (and sigreturn with fpstate NULL). */
    public static final int INIT_FCW = 0x37f, INIT_MXCSR = 0x1f80;

    // ---------------------------------------------------------------- register lists
    /** sigcontext order: r8..r15, rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip (then eflags). */
    private static final int[] SC_REGS = {
            X86Reg.R8, X86Reg.R9, X86Reg.R10, X86Reg.R11, X86Reg.R12, X86Reg.R13, X86Reg.R14, X86Reg.R15,
            X86Reg.RDI, X86Reg.RSI, X86Reg.RBP, X86Reg.RBX, X86Reg.RDX, X86Reg.RAX, X86Reg.RCX, X86Reg.RSP,
            X86Reg.RIP, X86Reg.RFLAGS};
    private static final int N_GREGS = 17; // without RFLAGS
    private static final int[] FP_CTRL = {
            X86Reg.FPCW, X86Reg.FPSW, X86Reg.FPTAG, X86Reg.FOP, X86Reg.FIP, X86Reg.FDP, X86Reg.MXCSR};

    /** Stateless; one instance serves every thread. */
    public static final SignalFrameX86_64 INSTANCE = new SignalFrameX86_64();

    // ================================================================ delivery

    /** A frame of a thread that never trapped: trapno, err and cr2 are saved as 0 (else delivery passes its last trap). */
    @Override
    public void setupFrame(Unicorn engine, GuestMemory memory, SignalAction action, SigInfo info, long savedMask,
                           AltStack altStack) {
        setupFrame(engine, memory, action, info, savedMask, altStack, 0, 0, 0);
    }

    /**
     * A synchronous fault's frame: {@code trapno}, {@code err} and {@code faultAddress} (cr2) go into
     * the sigcontext. Same as {@link #setupFrame(Unicorn, GuestMemory, SignalAction, SigInfo, long,
     * AltStack, long, long, long)}.
     */
    @Override
    public void setupFaultFrame(Unicorn engine, GuestMemory memory, SignalAction action, SigInfo info, long savedMask,
                                AltStack altStack, long trapno, long err, long faultAddress) {
        setupFrame(engine, memory, action, info, savedMask, altStack, trapno, err, faultAddress);
    }

    /**
     * Builds the frame as {@code x64_setup_rt_frame} + {@code handle_signal} + {@code signal_delivered}
     * (the alt-stack part) do, and points the engine at the handler.
     *
     * @param trapno the thread's last trap number ({@code thread.trap_nr}, e.g. {@link X86Traps#PF})
     * @param err    the thread's last error code ({@code thread.error_code}, e.g.
     *               {@link X86Traps#pageFaultError})
     * @param cr2    the thread's last fault address ({@code thread.cr2})
     * @throws ErrnoException EFAULT when SA_RESTORER is missing (x86_64 has no fallback), when the frame
     *                        would overflow the alternate stack, or when the stack is not writable —
     *                        the kernel forces SIGSEGV in all three cases. Nothing is changed then.
     */
    public void setupFrame(Unicorn engine, GuestMemory memory, SignalAction action, SigInfo info, long savedMask,
                           AltStack altStack, long trapno, long err, long cr2) {
        // "x86-64 should always use SA_RESTORER": no vDSO stub is used for 64-bit frames.
        if ((action.flags() & SA_RESTORER) == 0) throw new ErrnoException(Errno.EFAULT);

        long[] r = new long[SC_REGS.length];
        engine.regReadBatch(SC_REGS, r);
        long rsp = r[15];

        // get_sigframe()
        long base = altStack.altStackBase(), size = altStack.altStackSize();
        int ssFlags = altStack.altStackFlags();
        boolean nested = onSigStack(rsp, base, size, ssFlags);
        boolean entering = false;
        long sp = rsp - RED_ZONE;
        if ((action.flags() & SA_ONSTACK) != 0 && sasSsFlags(sp, base, size, ssFlags) == 0) {
            sp = base + size;
            entering = true;
        }
        long fpstate = (sp - FX_SIZE) & -(long) FX_ALIGN;
        long frame = ((fpstate - FRAME_SIZE) & -16L) - 8;
        if ((nested || entering) && !onStack(frame, base, size)) {
            throw new ErrnoException(Errno.EFAULT); // "overflowed sigaltstack"
        }

        byte[] fx = saveFpu(engine);

        boolean siginfo = (action.flags() & SA_SIGINFO) != 0;
        ByteBuffer f = ByteBuffer.allocate(FRAME_SIZE).order(ByteOrder.LITTLE_ENDIAN);
        f.putLong(OFF_PRETCODE, action.restorer());
        int uc = OFF_UC;
        f.putLong(uc + UC_FLAGS, UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS);
        f.putLong(uc + UC_LINK, 0);
        f.putLong(uc + UC_STACK + SS_SP, base);
        f.putInt(uc + UC_STACK + SS_FLAGS, ssFlags);
        f.putLong(uc + UC_STACK + SS_SIZE, size);
        int sc = uc + UC_MCONTEXT;
        for (int i = 0; i < N_GREGS; i++) f.putLong(sc + SC_R8 + 8 * i, r[i]);
        f.putLong(sc + SC_EFLAGS, r[17]);
        f.putShort(sc + SC_CS, (short) USER_CS);
        f.putShort(sc + SC_GS, (short) 0);
        f.putShort(sc + SC_FS, (short) 0);
        f.putShort(sc + SC_SS, (short) USER_DS);
        f.putLong(sc + SC_ERR, err);
        f.putLong(sc + SC_TRAPNO, trapno);
        f.putLong(sc + SC_OLDMASK, savedMask);
        f.putLong(sc + SC_CR2, cr2);
        f.putLong(sc + SC_FPSTATE, fpstate);
        f.putLong(uc + UC_SIGMASK, savedMask);
        if (siginfo) writeSigInfo(f, OFF_INFO, info);

        // The kernel writes the FP image first (get_sigframe), then the frame; a fault in either is EFAULT.
        memory.write(fpstate, fx);
        memory.write(frame, f.array(), 0, siginfo ? FRAME_SIZE : OFF_INFO);

        // signal_delivered(): an SS_AUTODISARM stack is reset by every successful delivery.
        if ((ssFlags & ThreadSignalState.SS_AUTODISARM) != 0) {
            altStack.restoreAltStack(0, 0, ThreadSignalState.SS_DISABLE);
        }

        // Registers for the handler.
        long[] regs = {info.signo(), frame + OFF_INFO, frame + OFF_UC, 0, frame, action.handler(),
                r[17] & ~HANDLER_CLEARED_EFLAGS};
        engine.regWriteBatch(new int[] {X86Reg.RDI, X86Reg.RSI, X86Reg.RDX, X86Reg.RAX, X86Reg.RSP, X86Reg.RIP,
                X86Reg.RFLAGS}, regs);
        resetFpu(engine); // fpu__clear_user_states(): the handler starts with a fresh FPU
    }

    /** siginfo_t at {@code at}: the arch-neutral 128-byte layout of {@link SigInfoLayout}. */
    static void writeSigInfo(ByteBuffer f, int at, SigInfo info) {
        f.put(at, SigInfoLayout.bytes(info));
    }

    // ================================================================ rt_sigreturn

    /**
     * rt_sigreturn as {@code signal_64.c} does it: frame = RSP - 8; mask and uc_flags from the frame;
     * {@code restore_altstack} (do_sigaltstack semantics, errors ignored, checked against the current
     * RSP); {@code restore_sigcontext} (all general registers and RIP, {@link #FIX_EFLAGS} bits of
     * RFLAGS, CS/SS/FS/GS ignored since they are fixed in 64-bit user mode); {@code fpu__restore_sig}
     * (FXSAVE image, or the initial FPU state if {@code fpstate} is NULL).
     *
     * <p>The syscall's return value is the restored RAX: a dispatcher that writes its result into
     * RAX must return {@code engine.regRead(RAX)} after this call.
     *
     * @return uc_sigmask (the caller removes SIGKILL/SIGSTOP and installs it)
     * @throws ErrnoException EFAULT on an unreadable frame or FP image, a misaligned FP image or one
     *                        with reserved MXCSR bits set (FXRSTOR would #GP) — the kernel forces
     *                        SIGSEGV. As in the kernel, the alt stack and the general registers may
     *                        already be restored when the FP part fails (the FPU is then reset).
     */
    @Override
    public long restoreFrame(Unicorn engine, GuestMemory memory, AltStack altStack) {
        long rsp = engine.regRead(X86Reg.RSP);
        long frame = rsp - 8;
        ByteBuffer uc = ByteBuffer.wrap(memory.read(frame + OFF_UC, UC_SIZE)).order(ByteOrder.LITTLE_ENDIAN);
        long mask = uc.getLong(UC_SIGMASK);

        restoreAltStack(altStack, rsp, uc.getLong(UC_STACK + SS_SP), uc.getInt(UC_STACK + SS_FLAGS),
                uc.getLong(UC_STACK + SS_SIZE));

        int sc = UC_MCONTEXT;
        long[] r = new long[SC_REGS.length];
        for (int i = 0; i < N_GREGS; i++) r[i] = uc.getLong(sc + SC_R8 + 8 * i);
        long cur = engine.regRead(X86Reg.RFLAGS);
        r[17] = (cur & ~FIX_EFLAGS) | (uc.getLong(sc + SC_EFLAGS) & FIX_EFLAGS);
        engine.regWriteBatch(SC_REGS, r);

        long fpstate = uc.getLong(sc + SC_FPSTATE);
        if (fpstate == 0) {
            resetFpu(engine);
        } else {
            try {
                if ((fpstate & 15) != 0) throw new ErrnoException(Errno.EFAULT); // FXRSTOR #GP
                byte[] fx = memory.read(fpstate, FX_SIZE);
                int mxcsr = ByteBuffer.wrap(fx).order(ByteOrder.LITTLE_ENDIAN).getInt(FX_MXCSR);
                if ((mxcsr & ~MXCSR_MASK) != 0) throw new ErrnoException(Errno.EFAULT); // FXRSTOR #GP
                restoreFpu(engine, fx);
            } catch (ErrnoException e) {
                resetFpu(engine); // fpu__restore_sig's failure path clears the user FPU state
                throw e;
            }
        }
        return mask;
    }

    /** restore_altstack(): do_sigaltstack(uc_stack, NULL, sp, MINSIGSTKSZ) with every error ignored. */
    static void restoreAltStack(AltStack alt, long sp, long ssSp, int ssFlags, long ssSize) {
        if (onSigStack(sp, alt.altStackBase(), alt.altStackSize(), alt.altStackFlags())) return; // EPERM
        int mode = ssFlags & ~ThreadSignalState.SS_AUTODISARM;
        if (mode != ThreadSignalState.SS_DISABLE && mode != ThreadSignalState.SS_ONSTACK && mode != 0) return; // EINVAL
        if (mode == ThreadSignalState.SS_DISABLE) {
            alt.restoreAltStack(0, 0, ThreadSignalState.SS_DISABLE);
            return;
        }
        if (Long.compareUnsigned(ssSize, MIN_SIGSTKSZ) < 0) return; // ENOMEM
        // Herd keeps only SS_AUTODISARM of the mode bits (SS_ONSTACK means 0), like ThreadSignalState.
        alt.restoreAltStack(ssSp, ssSize, ssFlags & ThreadSignalState.SS_AUTODISARM);
    }

    // ================================================================ syscall restart

    /**
     * Re-executes the syscall just executed with number {@code nr}: RIP -= 2, RAX = nr (the kernel's
     * {@code regs->ip -= 2; regs->ax = regs->orig_ax}). Correct on a stopped engine (RIP after the
     * syscall) and, by Unicorn's +2 after the hook, also directly inside the syscall hook.
     */
    @Override
    public void restartSyscall(Unicorn engine, long nr) {
        long rip = engine.regRead(X86Reg.RIP);
        engine.regWriteBatch(new int[] {X86Reg.RIP, X86Reg.RAX}, new long[] {rip - SYSCALL_INSN_LENGTH, nr});
    }

    /**
     * Runs {@code op} from inside the engine's syscall hook as if the engine were stopped after the
     * syscall: RIP is first set to the address after the {@code syscall} instruction (what the
     * kernel saves as the interrupted PC), then {@code op} runs (setupFrame, restoreFrame, ...), then
     * 2 is subtracted from RIP because Unicorn adds 2 when the hook returns. Also correct when
     * {@code op} throws (RIP is put back on the syscall, so the hook returns to the next instruction).
     */
    public static <T> T inSyscallHook(Unicorn engine, Supplier<T> op) {
        long atSyscall = engine.regRead(X86Reg.RIP);
        engine.regWrite(X86Reg.RIP, atSyscall + SYSCALL_INSN_LENGTH);
        boolean ok = false;
        try {
            T result = op.get();
            ok = true;
            return result;
        } finally {
            if (ok) engine.regWrite(X86Reg.RIP, engine.regRead(X86Reg.RIP) - SYSCALL_INSN_LENGTH);
            else engine.regWrite(X86Reg.RIP, atSyscall);
        }
    }

    // ================================================================ alt stack predicates

    /** __on_sig_stack(): sp in (base, base + size] (stacks grow down). */
    static boolean onStack(long sp, long base, long size) {
        return Long.compareUnsigned(sp, base) > 0 && Long.compareUnsigned(sp - base, size) <= 0;
    }

    /** on_sig_stack(): never "on" an SS_AUTODISARM stack. */
    static boolean onSigStack(long sp, long base, long size, int flags) {
        if ((flags & ThreadSignalState.SS_AUTODISARM) != 0) return false;
        return onStack(sp, base, size);
    }

    /** sas_ss_flags(): SS_DISABLE when no stack is set, else SS_ONSTACK when sp is on it, else 0. */
    static int sasSsFlags(long sp, long base, long size, int flags) {
        if (size == 0 || (flags & ThreadSignalState.SS_DISABLE) != 0) return ThreadSignalState.SS_DISABLE;
        return onSigStack(sp, base, size, flags) ? ThreadSignalState.SS_ONSTACK : 0;
    }

    // ================================================================ FPU

    /** The FXSAVE64 image of the engine's x87/SSE state. */
    static byte[] saveFpu(Unicorn engine) {
        byte[] fx = new byte[FX_SIZE];
        long[] c = new long[FP_CTRL.length];
        engine.regReadBatch(FP_CTRL, c);
        ByteBuffer b = ByteBuffer.wrap(fx).order(ByteOrder.LITTLE_ENDIAN);
        b.putShort(FX_CWD, (short) c[0]);
        b.putShort(FX_SWD, (short) c[1]);
        b.put(FX_TWD, (byte) abridgedTag((int) c[2])); // byte 5 is reserved (0)
        b.putShort(FX_FOP, (short) (c[3] & 0x7ff));
        b.putLong(FX_RIP, c[4]);
        b.putLong(FX_RDP, c[5]);
        b.putInt(FX_MXCSR, (int) c[6]);
        b.putInt(FX_MXCSR_MASK, MXCSR_MASK);
        MemorySegment s = MemorySegment.ofArray(fx);
        for (int i = 0; i < 8; i++) engine.regRead(X86Reg.ST0 + i, s.asSlice(FX_ST + 16L * i, 10));
        for (int i = 0; i < 16; i++) engine.regRead(X86Reg.XMM0 + i, s.asSlice(FX_XMM + 16L * i, 16));
        return fx;
    }

    /** FXRSTOR of an image into the engine. */
    static void restoreFpu(Unicorn engine, byte[] fx) {
        ByteBuffer b = ByteBuffer.wrap(fx).order(ByteOrder.LITTLE_ENDIAN);
        int fsw = b.getShort(FX_SWD) & 0xffff;
        int top = (fsw >> 11) & 7;
        // FPSW first: it sets TOP, and ST(i) writes address physical register (TOP + i) & 7.
        engine.regWriteBatch(new int[] {X86Reg.FPCW, X86Reg.FPSW},
                new long[] {b.getShort(FX_CWD) & 0xffff, fsw});
        MemorySegment s = MemorySegment.ofArray(fx);
        for (int i = 0; i < 8; i++) engine.regWrite(X86Reg.ST0 + i, s.asSlice(FX_ST + 16L * i, 10));
        int ftw = fullTag(b.get(FX_TWD) & 0xff, top, fx);
        engine.regWriteBatch(new int[] {X86Reg.FPTAG, X86Reg.FOP, X86Reg.FIP, X86Reg.FDP, X86Reg.MXCSR},
                new long[] {ftw, b.getShort(FX_FOP) & 0x7ff, b.getLong(FX_RIP), b.getLong(FX_RDP),
                        b.getInt(FX_MXCSR) & 0xffffffffL});
        for (int i = 0; i < 16; i++) engine.regWrite(X86Reg.XMM0 + i, s.asSlice(FX_XMM + 16L * i, 16));
    }

    /** fpu__clear_user_states(): FNINIT state, MXCSR 0x1f80, all x87 and XMM registers zero. */
    static void resetFpu(Unicorn engine) {
        engine.regWriteBatch(new int[] {X86Reg.FPCW, X86Reg.FPSW},
                new long[] {INIT_FCW, 0});
        MemorySegment zero = MemorySegment.ofArray(new byte[16]);
        for (int i = 0; i < 8; i++) engine.regWrite(X86Reg.ST0 + i, zero.asSlice(0, 10));
        engine.regWriteBatch(new int[] {X86Reg.FPTAG, X86Reg.FOP, X86Reg.FIP, X86Reg.FDP, X86Reg.MXCSR},
                new long[] {0xffff, 0, 0, 0, INIT_MXCSR});
        for (int i = 0; i < 16; i++) engine.regWrite(X86Reg.XMM0 + i, zero);
    }

    /** Full 16-bit tag word (2 bits per physical register, 11 = empty) to FXSAVE's abridged 8-bit form. */
    static int abridgedTag(int ftw) {
        int t = 0;
        for (int i = 0; i < 8; i++) if (((ftw >> (2 * i)) & 3) != 3) t |= 1 << i;
        return t;
    }

    /**
     * Abridged tag back to the full tag word, classifying each non-empty physical register from its
     * contents as FXRSTOR does: 00 valid, 01 zero, 10 special (NaN, infinity, denormal, unnormal).
     */
    static int fullTag(int abridged, int top, byte[] fx) {
        ByteBuffer b = ByteBuffer.wrap(fx).order(ByteOrder.LITTLE_ENDIAN);
        int ftw = 0;
        for (int phys = 0; phys < 8; phys++) {
            int tag;
            if ((abridged & (1 << phys)) == 0) {
                tag = 3;
            } else {
                int st = (phys - top) & 7; // physical register phys is ST((phys - TOP) & 7)
                long mant = b.getLong(FX_ST + 16 * st);
                int exp = b.getShort(FX_ST + 16 * st + 8) & 0x7fff;
                if (exp == 0 && mant == 0) tag = 1;
                else if (exp == 0 || exp == 0x7fff || mant >= 0) tag = 2; // J bit (63) clear: unnormal
                else tag = 0;
            }
            ftw |= tag << (2 * phys);
        }
        return ftw;
    }
}
