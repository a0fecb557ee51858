package dev.herd.signals.aarch64;

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
import dev.herd.unicorn.aarch64.Arm64Reg;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

import static dev.herd.signals.aarch64.SigframeLayout.*;

/**
 * The arm64 Linux signal frame: the {@code struct rt_sigframe} and frame record that
 * {@code setup_rt_frame} builds ({@code arch/arm64/kernel/signal.c}: get_sigframe,
 * setup_sigframe_layout, setup_sigframe, setup_return) and the {@code rt_sigreturn} that undoes
 * it (restore_sigframe, parse_user_sigframe, restore_altstack). Layout: {@link SigframeLayout}.
 *
 * <p><b>Records.</b> __reserved holds an fpsimd_context, then an esr_context when the thread's
 * fault_code (the ESR of its last fault) is nonzero, then the null terminator, in the order
 * setup_sigframe_layout allocates them. The engine has no SVE, SME, GCS, FPMR or POE, so the
 * kernel would write none of those records nor an extra_context, and sigreturn rejects them.
 *
 * <p><b>PSTATE.</b> The frame holds what the kernel saves for a user thread, an EL0t PSTATE: of the
 * engine's PSTATE only the bits EL0 owns (NZCV, DIT, TCO, SSBS, BTYPE; mode, DAIF, PAN and so on
 * read as 0). Whatever exception level and interrupt masks the runtime runs the engine with stay
 * the runtime's: sigreturn validates the frame's value as {@code valid_user_regs} does and then
 * replaces only those user bits.
 *
 * <p><b>Return path.</b> The handler returns to x30: sa_restorer with SA_RESTORER, else the
 * sigreturn trampoline this instance was built with (the vDSO's {@code __kernel_rt_sigreturn} in
 * the kernel; see {@link SigreturnTrampoline}). {@link #INSTANCE} has none and refuses such
 * handlers with EFAULT.
 *
 * <p><b>Inside the syscall hook.</b> Unicorn reports {@code svc} through the interrupt hook with
 * PC already past it and adds nothing when the hook returns, so unlike x86_64 every method here
 * works unchanged both on a stopped engine and from inside the hook.
 */
public final class SignalFrameAarch64 implements SignalFrames {
    // ---------------------------------------------------------------- ABI constants
    public static final long SA_SIGINFO = 0x00000004L, SA_ONSTACK = 0x08000000L, SA_RESTORER = 0x04000000L;
    /** The width of an A64 instruction: {@code svc} is 4 bytes back from the PC after a syscall. */
    public static final int SVC_INSN_LENGTH = 4;
    /** "No trampoline": handlers without SA_RESTORER cannot be set up. */
    public static final long NO_TRAMPOLINE = 0;

    // ---------------------------------------------------------------- PSTATE (SPSR_EL1 layout)
    public static final long PSR_N = 1L << 31, PSR_Z = 1L << 30, PSR_C = 1L << 29, PSR_V = 1L << 28;
    public static final long PSR_NZCV = PSR_N | PSR_Z | PSR_C | PSR_V;
    public static final long PSR_TCO = 1L << 25, PSR_DIT = 1L << 24, PSR_SS = 1L << 21, PSR_SSBS = 1L << 12,
            PSR_BTYPE_MASK = 3L << 10, PSR_DAIF_MASK = 0xfL << 6, PSR_MODE32 = 1L << 4, PSR_MODE_MASK = 0xf;
    /** The bits that belong to EL0 code and travel through the frame. */
    public static final long PSR_USER_BITS = PSR_NZCV | PSR_TCO | PSR_DIT | PSR_SSBS | PSR_BTYPE_MASK;
    /**
     * SPSR_EL1_AARCH64_RES0_BITS (arch/arm64/kernel/ptrace.c): bits sigreturn clears from a
     * frame's pstate, as meaningless at EL0 (63:32, 27:26, PAN/UAO 23:22, IL and 20:13, bit 5).
     */
    public static final long PSR_RES0_BITS = 0xffffffff00000000L | (3L << 26) | (3L << 22) | (0xffL << 13)
            | (1L << 5);

    // ---------------------------------------------------------------- record parsing limits
    /** SIGFRAME_MAXSZ: how far an extra_context's space may reach from the frame base. */
    static final long SIGFRAME_MAXSZ = 256 * 1024;
    static final int EXTRA_CONTEXT_SIZE = 32, EXTRA_DATAP = 8, EXTRA_SIZE = 16;

    /** x0..x30, sp, pc, pstate: the order of sigcontext.regs[], sp, pc, pstate. */
    private static final int[] FRAME_REGS = new int[34];
    static {
        for (int i = 0; i < 29; i++) FRAME_REGS[i] = Arm64Reg.X0 + i;
        FRAME_REGS[29] = Arm64Reg.X29;
        FRAME_REGS[30] = Arm64Reg.X30;
        FRAME_REGS[31] = Arm64Reg.SP;
        FRAME_REGS[32] = Arm64Reg.PC;
        FRAME_REGS[33] = Arm64Reg.PSTATE;
    }
    private static final int R_FP = 29, R_LR = 30, R_SP = 31, R_PC = 32, R_PSTATE = 33;

    /** Stateless but for the trampoline; this one has none (SA_RESTORER is then required). */
    public static final SignalFrameAarch64 INSTANCE = new SignalFrameAarch64(NO_TRAMPOLINE);

    private final long trampoline;

    /**
     * @param sigreturnTrampoline where x30 points for handlers without SA_RESTORER: the address
     *                            {@link SigreturnTrampoline#install} returned for this process,
     *                            or {@link #NO_TRAMPOLINE}
     */
    public SignalFrameAarch64(long sigreturnTrampoline) {
        this.trampoline = sigreturnTrampoline;
    }

    public long sigreturnTrampoline() {
        return trampoline;
    }

    // ================================================================ delivery

    /** Delivery with no fault recorded for the thread: fault_address 0, no esr_context. */
    @Override
    public void setupFrame(Unicorn engine, GuestMemory memory, SignalAction action, SigInfo info, long savedMask,
                           AltStack altStack) {
        deliver(engine, memory, action, info, savedMask, altStack, 0, 0);
    }

    /**
     * Delivery with the thread's fault state ({@link Arm64Traps}): {@code err} is the ESR
     * (current->thread.fault_code; an esr_context record is added when it is nonzero),
     * {@code faultAddress} goes to sigcontext.fault_address, {@code trapno} is ignored (arm64 has
     * none).
     */
    @Override
    public void setupFaultFrame(Unicorn engine, GuestMemory memory, SignalAction action, SigInfo info, long savedMask,
                                AltStack altStack, long trapno, long err, long faultAddress) {
        deliver(engine, memory, action, info, savedMask, altStack, err, faultAddress);
    }

    /**
     * setup_rt_frame + setup_return + signal_delivered's alt-stack part.
     *
     * @throws ErrnoException EFAULT when the handler has no SA_RESTORER and this instance no
     *                        trampoline (registers and memory untouched), or when the frame cannot
     *                        be written (registers untouched; the kernel forces SIGSEGV). As in the
     *                        kernel, a frame that overflows the alternate stack is not detected as
     *                        such: it faults only if it runs into memory it cannot write.
     */
    private void deliver(Unicorn engine, GuestMemory memory, SignalAction action, SigInfo info, long savedMask,
                         AltStack altStack, long esr, long faultAddress) {
        boolean restorer = (action.flags() & SA_RESTORER) != 0;
        long sigtramp = restorer ? action.restorer() : trampoline;
        if (!restorer && trampoline == NO_TRAMPOLINE) throw new ErrnoException(Errno.EFAULT);

        long[] r = new long[FRAME_REGS.length];
        engine.regReadBatch(FRAME_REGS, r);
        long sp = r[R_SP];

        // get_sigframe(): the frame record just below the (alt) stack top, the frame below it.
        long spTop = SigAltStack.sigsp(sp, (action.flags() & SA_ONSTACK) != 0, altStack);
        long record = (spTop - FRAME_RECORD_SIZE) & -16L;
        long frame = record - FRAME_SIZE;
        if (Long.compareUnsigned(frame, spTop) > 0) throw new ErrnoException(Errno.EFAULT); // wrapped: !access_ok

        boolean siginfo = (action.flags() & SA_SIGINFO) != 0;
        writeFrame(memory, frame, record, r, info, siginfo, savedMask, altStack, esr, faultAddress,
                FpsimdContext.save(engine));

        // signal_delivered(): an SS_AUTODISARM stack is reset by every successful delivery.
        if ((altStack.altStackFlags() & ThreadSignalState.SS_AUTODISARM) != 0) {
            altStack.restoreAltStack(0, 0, ThreadSignalState.SS_DISABLE);
        }

        // setup_return(). x1/x2 only with SA_SIGINFO; otherwise they keep the interrupted values.
        // BTYPE: the kernel sets BTYPE_C only on CPUs with BTI; Unicorn's default CPU (Cortex-A72,
        // ARMv8.0) has none, so it stays 0 -- cleared here. TCO is always cleared.
        long pstate = r[R_PSTATE] & ~(PSR_BTYPE_MASK | PSR_TCO);
        if (siginfo) {
            engine.regWriteBatch(new int[] {Arm64Reg.X0, Arm64Reg.X1, Arm64Reg.X2, Arm64Reg.SP, Arm64Reg.X29,
                    Arm64Reg.X30, Arm64Reg.PC, Arm64Reg.PSTATE}, new long[] {info.signo(), frame + OFF_INFO,
                    frame + OFF_UC, frame, record, sigtramp, action.handler(), pstate});
        } else {
            engine.regWriteBatch(new int[] {Arm64Reg.X0, Arm64Reg.SP, Arm64Reg.X29, Arm64Reg.X30, Arm64Reg.PC,
                    Arm64Reg.PSTATE}, new long[] {info.signo(), frame, record, sigtramp, action.handler(), pstate});
        }
        // The FP/SIMD registers are left as they are: arm64 handlers inherit them.
    }

    /**
     * Writes exactly the bytes the kernel writes (it stores field by field; the bytes in between --
     * ucontext.__unused, padding, __reserved past the terminator, siginfo without SA_SIGINFO --
     * keep whatever the stack held).
     */
    private static void writeFrame(GuestMemory memory, long frame, long record, long[] r, SigInfo info,
                                   boolean siginfo, long savedMask, AltStack alt, long esr, long faultAddress,
                                   byte[] fpsimd) {
        ByteBuffer f = ByteBuffer.allocate(FRAME_SIZE).order(ByteOrder.LITTLE_ENDIAN);
        int uc = OFF_UC;
        f.putLong(uc + UC_FLAGS, 0);
        f.putLong(uc + UC_LINK, 0);
        // __save_altstack(): the thread's settings as they are (SS_AUTODISARM included).
        f.putLong(uc + UC_STACK + SS_SP, alt.altStackBase());
        f.putInt(uc + UC_STACK + SS_FLAGS, alt.altStackFlags());
        f.putLong(uc + UC_STACK + SS_SIZE, alt.altStackSize());
        f.putLong(uc + UC_SIGMASK, savedMask);
        int sc = uc + UC_MCONTEXT;
        f.putLong(sc + SC_FAULT_ADDRESS, faultAddress);
        for (int i = 0; i < 31; i++) f.putLong(sc + SC_REGS + 8 * i, r[i]);
        f.putLong(sc + SC_SP, r[R_SP]);
        f.putLong(sc + SC_PC, r[R_PC]);
        f.putLong(sc + SC_PSTATE, r[R_PSTATE] & PSR_USER_BITS); // the EL0t image of PSTATE
        int rec = sc + SC_RESERVED;
        f.put(rec, fpsimd);
        int end = rec + FPSIMD_SIZE;
        if (esr != 0) {
            f.putInt(end + CTX_MAGIC, ESR_MAGIC);
            f.putInt(end + CTX_SIZE, ESR_CONTEXT_SIZE);
            f.putLong(end + ESR_ESR, esr);
            end += ESR_CONTEXT_SIZE;
        }
        f.putLong(end, 0); // the null record: magic 0, size 0
        if (siginfo) f.put(OFF_INFO, SigInfoLayout.bytes(info));

        byte[] a = f.array();
        byte[] fr = ByteBuffer.allocate(FRAME_RECORD_SIZE).order(ByteOrder.LITTLE_ENDIAN)
                .putLong(r[R_FP]).putLong(r[R_LR]).array();
        memory.write(record, fr);
        // uc_flags .. ss_flags, then ss_size .. uc_sigmask (ss_flags is an int: 4 bytes of padding)
        memory.write(frame + uc, a, uc, UC_STACK + SS_FLAGS + 4);
        memory.write(frame + uc + UC_STACK + SS_SIZE, a, uc + UC_STACK + SS_SIZE, UC_SIGMASK + 8 - UC_STACK - SS_SIZE);
        memory.write(frame + sc, a, sc, SC_PSTATE + 8);
        memory.write(frame + rec, a, rec, end + CTX_HEADER_SIZE - rec);
        if (siginfo) memory.write(frame + OFF_INFO, a, OFF_INFO, SI_SIZE);
    }

    // ================================================================ rt_sigreturn

    /**
     * rt_sigreturn as the arm64 kernel does it: the frame is at SP (which must be 16-byte
     * aligned); x0-x30, sp, pc and pstate come from the sigcontext, pstate checked like
     * {@code valid_user_regs}; the records are walked like {@code parse_user_sigframe} and the
     * fpsimd_context (required, exactly 528 bytes) restores FPSR, FPCR and V0-V31; then
     * {@code restore_altstack} applies uc_stack against the restored SP.
     *
     * <p>The syscall's return value is the restored x0: a dispatcher that writes its result into
     * x0 must return {@code engine.regRead(X0)} after this call.
     *
     * @return uc_sigmask (the caller removes SIGKILL/SIGSTOP and installs it)
     * @throws ErrnoException EFAULT for a misaligned SP, an unreadable frame, a pstate that is not
     *                        a valid EL0t one, or a malformed record list -- the kernel forces
     *                        SIGSEGV then. Nothing is changed in that case (the kernel would already
     *                        have loaded the mask and the general registers; the thread dies of the
     *                        SIGSEGV either way unless it handles it).
     */
    @Override
    public long restoreFrame(Unicorn engine, GuestMemory memory, AltStack altStack) {
        long frame = engine.regRead(Arm64Reg.SP);
        if ((frame & 15) != 0) throw new ErrnoException(Errno.EFAULT);
        ByteBuffer uc = ByteBuffer.wrap(memory.read(frame + OFF_UC, UC_FIXED_SIZE)).order(ByteOrder.LITTLE_ENDIAN);
        long mask = uc.getLong(UC_SIGMASK);

        long[] r = new long[FRAME_REGS.length];
        for (int i = 0; i < 31; i++) r[i] = uc.getLong(UC_MCONTEXT + SC_REGS + 8 * i);
        r[R_SP] = uc.getLong(UC_MCONTEXT + SC_SP);
        r[R_PC] = uc.getLong(UC_MCONTEXT + SC_PC);
        long pstate = validUserPstate(uc.getLong(UC_MCONTEXT + SC_PSTATE));

        long fpsimd = parseRecords(memory, frame);
        byte[] fp = memory.read(fpsimd, FPSIMD_SIZE);

        r[R_PSTATE] = (engine.regRead(Arm64Reg.PSTATE) & ~PSR_USER_BITS) | (pstate & PSR_USER_BITS);
        engine.regWriteBatch(FRAME_REGS, r);
        FpsimdContext.restore(engine, fp);
        SigAltStack.restore(altStack, r[R_SP], uc.getLong(UC_STACK + SS_SP), uc.getInt(UC_STACK + SS_FLAGS),
                uc.getLong(UC_STACK + SS_SIZE));
        return mask;
    }

    /**
     * valid_native_regs() after user_regs_reset_single_step(): RES0 bits dropped, SS cleared (Herd
     * does not single-step), and anything but AArch64 EL0t with D, A, I, F clear is a bad frame.
     */
    static long validUserPstate(long pstate) {
        pstate &= ~PSR_RES0_BITS;
        pstate &= ~PSR_SS;
        if ((pstate & (PSR_MODE_MASK | PSR_MODE32 | PSR_DAIF_MASK)) != 0) throw new ErrnoException(Errno.EFAULT);
        return pstate;
    }

    /**
     * parse_user_sigframe(): walks the records from __reserved (and an extra_context's space, if
     * one points there) and returns the address of the fpsimd_context, which restore_sigframe
     * requires to be present and exactly {@link SigframeLayout#FPSIMD_SIZE} bytes. The esr_context
     * is skipped; any record this CPU could not have produced (SVE, ZA, ZT, TPIDR2, FPMR, POE,
     * GCS) or an unknown magic is invalid.
     */
    static long parseRecords(GuestMemory memory, long frame) {
        long base = frame + OFF_UC + UC_MCONTEXT + SC_RESERVED;
        long offset = 0, limit = RESERVED_SIZE;
        boolean haveExtra = false;
        long fpsimd = -1, fpsimdSize = 0;
        while (true) {
            if (limit - offset < CTX_HEADER_SIZE) throw invalid();
            if ((offset & 15) != 0) throw invalid();
            long head = base + offset;
            int magic = memory.readInt(head + CTX_MAGIC);
            long size = memory.readInt(head + CTX_SIZE) & 0xffffffffL;
            if (limit - offset < size) throw invalid();
            switch (magic) {
                case 0 -> {
                    if (size != 0) throw invalid();
                    if (fpsimd < 0 || fpsimdSize != FPSIMD_SIZE) throw invalid();
                    return fpsimd;
                }
                case FPSIMD_MAGIC -> {
                    if (fpsimd >= 0) throw invalid();
                    fpsimd = head;
                    fpsimdSize = size;
                }
                case ESR_MAGIC -> { } // ignored
                case EXTRA_MAGIC -> {
                    if (haveExtra || size < EXTRA_CONTEXT_SIZE) throw invalid();
                    long datap = memory.readLong(head + EXTRA_DATAP);
                    long extraSize = memory.readInt(head + EXTRA_SIZE) & 0xffffffffL;
                    // the dummy terminator that must follow it in __reserved
                    if (limit - offset - size < TERMINATOR_SIZE) throw invalid();
                    long end = head + size;
                    if (memory.readInt(end + CTX_MAGIC) != 0 || memory.readInt(end + CTX_SIZE) != 0) throw invalid();
                    haveExtra = true;
                    long userp = end + TERMINATOR_SIZE;
                    if ((datap & 15) != 0 || (extraSize & 15) != 0 || datap != userp) throw invalid();
                    if (extraSize > frame + SIGFRAME_MAXSZ - userp) throw invalid(); // "unreasonably large"
                    base = datap;
                    offset = 0;
                    limit = extraSize;
                    continue;
                }
                default -> throw invalid(); // SVE/ZA/ZT/TPIDR2/FPMR/POE/GCS: unsupported here; or unknown
            }
            if (size < CTX_HEADER_SIZE) throw invalid();
            if (limit - offset < size) throw invalid();
            offset += size;
        }
    }

    private static ErrnoException invalid() {
        return new ErrnoException(Errno.EFAULT); // -EINVAL from the parser: badframe, SIGSEGV
    }

    // ================================================================ syscall restart

    /**
     * Not usable on arm64: x0 holds the interrupted call's error code, and the restart needs the
     * first argument back ({@code orig_x0}). Use {@link #restartSyscall(Unicorn, long, long)}.
     *
     * @throws UnsupportedOperationException always
     */
    @Override
    public void restartSyscall(Unicorn engine, long nr) {
        throw new UnsupportedOperationException("aarch64 restarts need orig_x0: restartSyscall(engine, nr, firstArg)");
    }

    /**
     * Re-executes the {@code svc} just executed as syscall {@code nr}: PC -= 4, x0 = the original
     * first argument, x8 = nr (the kernel's {@code regs->regs[0] = regs->orig_x0; regs->pc =
     * restart_addr}, plus {@code regs->regs[8] = __NR_restart_syscall} for a restart block).
     */
    @Override
    public void restartSyscall(Unicorn engine, long nr, long firstArg) {
        long pc = engine.regRead(Arm64Reg.PC);
        engine.regWriteBatch(new int[] {Arm64Reg.PC, Arm64Reg.X0, Arm64Reg.X8},
                new long[] {pc - SVC_INSN_LENGTH, firstArg, nr});
    }
}
