package dev.herd.signals.aarch64;

/**
 * Offsets and sizes of the arm64 Linux signal frame: the uapi structs of {@code asm/ucontext.h},
 * {@code asm/sigcontext.h}, {@code asm-generic/siginfo.h}, and the two structs private to
 * {@code arch/arm64/kernel/signal.c} ({@code struct rt_sigframe { siginfo; ucontext; }} and
 * {@code struct frame_record { fp; lr; }}). {@code SigframeLayoutTest} pins every number to the
 * output of {@code src/test/c/aarch64_sigframe_probe.c}, compiled against the real headers.
 *
 * <pre>
 *   higher addresses
 *   [interrupted SP, or the top of the alternate stack]   (no red zone on arm64)
 *   struct frame_record {fp, lr}, 16-aligned              &lt;- x29 at handler entry
 *   struct rt_sigframe, 4688 bytes, 16-aligned:           &lt;- SP at handler entry
 *     +0    siginfo_t (128; written only with SA_SIGINFO)  &lt;- x1
 *     +128  struct ucontext                                &lt;- x2
 *             +0 uc_flags, +8 uc_link, +16 uc_stack, +40 uc_sigmask (8 bytes),
 *             +48 __unused[120] (glibc's 1024-bit sigset_t), +176 uc_mcontext (16-aligned):
 *               struct sigcontext: +0 fault_address, +8 regs[31], +256 sp, +264 pc, +272 pstate,
 *               +288 __reserved[4096]: records {magic, size, ...}, each 16-aligned, ending in a
 *               null record
 * </pre>
 */
public final class SigframeLayout {
    private SigframeLayout() {}

    /** sizeof(struct rt_sigframe): a multiple of 16, so the frame base keeps the 16-byte alignment. */
    public static final int FRAME_SIZE = 4688;
    public static final int OFF_INFO = 0, OFF_UC = 128;
    /** sizeof(struct frame_record): the {fp, lr} pair x29 points at, for unwinders. */
    public static final int FRAME_RECORD_SIZE = 16;

    /** Offsets inside struct ucontext. */
    public static final int UC_FLAGS = 0, UC_LINK = 8, UC_STACK = 16, UC_SIGMASK = 40, UC_UNUSED = 48,
            UC_MCONTEXT = 176, UC_SIZE = 4560;
    /** Offsets inside stack_t (ss_flags is an int followed by 4 bytes of padding). */
    public static final int SS_SP = 0, SS_FLAGS = 8, SS_SIZE = 16, STACK_T_SIZE = 24;

    /** Offsets inside struct sigcontext. */
    public static final int SC_FAULT_ADDRESS = 0, SC_REGS = 8, SC_SP = 256, SC_PC = 264, SC_PSTATE = 272,
            SC_RESERVED = 288, SC_SIZE = 4384;
    /** sizeof(sigcontext.__reserved): the space for the records. */
    public static final int RESERVED_SIZE = 4096;
    /** The part of the ucontext before __reserved: everything rt_sigreturn reads besides the records. */
    public static final int UC_FIXED_SIZE = UC_MCONTEXT + SC_RESERVED;

    /** struct _aarch64_ctx, the header of every record. */
    public static final int CTX_MAGIC = 0, CTX_SIZE = 4, CTX_HEADER_SIZE = 8;
    /** The null record ends the list; the kernel allocates it a 16-byte slot but writes only 8. */
    public static final int TERMINATOR_SIZE = 16;

    /** struct fpsimd_context. */
    public static final int FPSIMD_MAGIC = 0x46508001, FPSIMD_SIZE = 528, FPSIMD_FPSR = 8, FPSIMD_FPCR = 12,
            FPSIMD_VREGS = 16;
    /** struct esr_context. */
    public static final int ESR_MAGIC = 0x45535201, ESR_CONTEXT_SIZE = 16, ESR_ESR = 8;
    /** Records Herd never writes (no SVE/SME on the engine) and rt_sigreturn therefore rejects. */
    public static final int EXTRA_MAGIC = 0x45585401, SVE_MAGIC = 0x53564501, ZA_MAGIC = 0x54366345;

    /** Offsets inside siginfo_t (the generic 128-byte layout, see {@code SigInfoLayout}). */
    public static final int SI_SIGNO = 0, SI_ERRNO = 4, SI_CODE = 8, SI_PID = 16, SI_UID = 20, SI_VALUE = 24,
            SI_TIMERID = 16, SI_OVERRUN = 20, SI_ADDR = 16, SI_SIZE = 128;
}
