/* start_state: the architectural state Linux gives a process at execve, and a thread at clone, as
 * the program's first instruction sees it (entry stub herd_entry, linked with -e herd_entry, saves
 * everything before glibc's _start runs): general registers, RFLAGS, segment selectors, FS/GS
 * base, x87 control/status/tag words, MXCSR, the FXSAVE image's x87 and XMM registers. Then the
 * control-register bits Linux sets, by their effects: CR4.OSFXSR (fxsave/fxrstor carry the XMM
 * registers; glibc's lazy-binding trampoline depends on it) and CR0.NE (an unmasked x87 exception
 * is SIGFPE with the kernel's si_code). A new thread inherits the creating thread's FPU control
 * state; execve resets it ("exec" mode re-executes this program after changing it). */
#include "guest.h"
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <unistd.h>
#include <xmmintrin.h>

uint64_t entry_gpr[16];          /* rax rbx rcx rdx rsi rdi rbp rsp r8..r15 */
uint64_t entry_rflags, entry_fsbase = 0xdead, entry_gsbase = 0xdead;
uint16_t entry_sel[6];           /* cs ss ds es fs gs */
uint16_t entry_fcw, entry_fsw;
uint32_t entry_mxcsr;
unsigned char entry_fx[512] __attribute__((aligned(16)));

__asm__(
    ".globl herd_entry\n"
    "herd_entry:\n"
    "  mov %rax, entry_gpr+0(%rip)\n  mov %rbx, entry_gpr+8(%rip)\n"
    "  mov %rcx, entry_gpr+16(%rip)\n mov %rdx, entry_gpr+24(%rip)\n"
    "  mov %rsi, entry_gpr+32(%rip)\n mov %rdi, entry_gpr+40(%rip)\n"
    "  mov %rbp, entry_gpr+48(%rip)\n mov %rsp, entry_gpr+56(%rip)\n"
    "  mov %r8, entry_gpr+64(%rip)\n  mov %r9, entry_gpr+72(%rip)\n"
    "  mov %r10, entry_gpr+80(%rip)\n mov %r11, entry_gpr+88(%rip)\n"
    "  mov %r12, entry_gpr+96(%rip)\n mov %r13, entry_gpr+104(%rip)\n"
    "  mov %r14, entry_gpr+112(%rip)\n mov %r15, entry_gpr+120(%rip)\n"
    "  pushfq\n  pop %rax\n  mov %rax, entry_rflags(%rip)\n"
    "  mov %cs, %ax\n mov %ax, entry_sel+0(%rip)\n  mov %ss, %ax\n mov %ax, entry_sel+2(%rip)\n"
    "  mov %ds, %ax\n mov %ax, entry_sel+4(%rip)\n  mov %es, %ax\n mov %ax, entry_sel+6(%rip)\n"
    "  mov %fs, %ax\n mov %ax, entry_sel+8(%rip)\n  mov %gs, %ax\n mov %ax, entry_sel+10(%rip)\n"
    "  fnstcw entry_fcw(%rip)\n  fnstsw entry_fsw(%rip)\n  stmxcsr entry_mxcsr(%rip)\n"
    "  fxsave entry_fx(%rip)\n"
    "  mov $158, %eax\n  mov $0x1003, %edi\n  lea entry_fsbase(%rip), %rsi\n  syscall\n" /* ARCH_GET_FS */
    "  mov $158, %eax\n  mov $0x1004, %edi\n  lea entry_gsbase(%rip), %rsi\n  syscall\n" /* ARCH_GET_GS */
    "  mov entry_gpr+0(%rip), %rax\n  mov entry_gpr+16(%rip), %rcx\n  mov entry_gpr+24(%rip), %rdx\n"
    "  mov entry_gpr+32(%rip), %rsi\n  mov entry_gpr+40(%rip), %rdi\n  mov entry_gpr+88(%rip), %r11\n"
    "  jmp _start\n");

static const char *GPR[16] = {"rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp",
                              "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15"};

static void entry_state(int argc) {
    for (int i = 0; i < 16; i++) {
        if (i == 7) continue;
        printf("entry %s = %#lx\n", GPR[i], (unsigned long)entry_gpr[i]);
    }
    uint64_t rsp = entry_gpr[7];
    CHECK(rsp % 16 == 0, "entry rsp is 16-byte aligned");
    CHECK(*(long *)rsp == argc, "entry rsp points at argc");
    printf("entry rflags = %#lx\n", (unsigned long)entry_rflags);
    static const char *SEL[6] = {"cs", "ss", "ds", "es", "fs", "gs"};
    for (int i = 0; i < 6; i++) printf("entry %s = %#x\n", SEL[i], entry_sel[i]);
    printf("entry fs base = %#lx, gs base = %#lx\n", (unsigned long)entry_fsbase, (unsigned long)entry_gsbase);
    printf("entry fcw = %#x, fsw = %#x, mxcsr = %#x\n", entry_fcw, entry_fsw, entry_mxcsr);
    uint16_t fx_fcw, fx_fsw;
    uint32_t fx_mxcsr;
    memcpy(&fx_fcw, entry_fx + 0, 2);
    memcpy(&fx_fsw, entry_fx + 2, 2);
    memcpy(&fx_mxcsr, entry_fx + 24, 4);
    printf("fxsave fcw = %#x, fsw = %#x, abridged ftw = %#x, fop = %#x, mxcsr = %#x\n",
           fx_fcw, fx_fsw, entry_fx[4], entry_fx[6] | entry_fx[7] << 8, fx_mxcsr);
    int nonzero_st = 0, nonzero_xmm = 0, nonzero_ptr = 0;
    for (int i = 8; i < 24; i++) nonzero_ptr += entry_fx[i] != 0;
    for (int i = 32; i < 160; i++) nonzero_st += entry_fx[i] != 0;
    for (int i = 160; i < 416; i++) nonzero_xmm += entry_fx[i] != 0;
    printf("fxsave non-zero bytes: fip/fdp %d, st0-7 %d, xmm0-15 %d\n", nonzero_ptr, nonzero_st, nonzero_xmm);
}

/* CR4.OSFXSR: fxrstor brings back every XMM register fxsave stored. */
static void fxsave_round_trip(void) {
    static unsigned char area[512] __attribute__((aligned(16)));
    uint64_t in[2] = {0x0123456789abcdefULL, 0xfedcba9876543210ULL}, out[2] = {0, 0};
    uint32_t mx_in = 0x3f80, mx_out = 0; /* flush-to-zero set: MXCSR travels too */
    __asm__ volatile(
        "movdqu (%[in]), %%xmm7\n movdqu (%[in]), %%xmm15\n ldmxcsr (%[mi])\n"
        "fxsave (%[area])\n"
        "pxor %%xmm7, %%xmm7\n pxor %%xmm15, %%xmm15\n ldmxcsr (%[def])\n"
        "fxrstor (%[area])\n"
        "movdqu %%xmm15, (%[out])\n stmxcsr (%[mo])\n ldmxcsr (%[def])\n"
        : : [in] "r"(in), [out] "r"(out), [area] "r"(area), [mi] "r"(&mx_in), [mo] "r"(&mx_out),
            [def] "r"(&(uint32_t){0x1f80})
        : "xmm7", "xmm15", "memory");
    CHECK(out[0] == in[0] && out[1] == in[1], "fxrstor restores xmm15 saved by fxsave");
    CHECK(mx_out == mx_in, "fxrstor restores MXCSR (%#x)", mx_out);
}

static sigjmp_buf fpe_jump;
static volatile int fpe_code;
static void on_fpe(int sig, siginfo_t *si, void *uc) {
    fpe_code = si->si_code;
    siglongjmp(fpe_jump, 1);
}

/* CR0.NE: an unmasked x87 divide-by-zero traps (#MF) at the next waiting FP instruction. */
static void x87_unmasked_exception(void) {
    struct sigaction sa = {0};
    sa.sa_sigaction = on_fpe;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGFPE, &sa, NULL);
    volatile double sink = 0;
    if (sigsetjmp(fpe_jump, 1) == 0) {
        uint16_t cw = 0x37f & ~0x4; /* unmask ZE */
        double r;
        __asm__ volatile("fninit\n fldcw %1\n fld1\n fldz\n fdivrp\n fwait\n fstpl %0\n"
                         : "=m"(r) : "m"(cw));
        sink = r;
        printf("x87 divide by zero did not trap\n");
    } else {
        printf("x87 divide by zero: SIGFPE si_code %d (FPE_FLTDIV is %d)\n", fpe_code, FPE_FLTDIV);
    }
    __asm__ volatile("fninit");
    uint16_t cw = 0x37f;
    __asm__ volatile("fldcw %0" : : "m"(cw));
    (void)sink;
    signal(SIGFPE, SIG_DFL);
}

static void *thread_state(void *arg) {
    uint16_t fcw;
    __asm__ volatile("fnstcw %0" : "=m"(fcw));
    printf("new thread: fcw = %#x, mxcsr = %#x\n", fcw, _mm_getcsr());
    return NULL;
}

/* Threads run one after the other, so under herd the later ones reuse the engine of an ended
 * thread (its pool): every engine, fresh or reused, must carry the XMM state through fxsave. */
static void *thread_fxsave(void *arg) {
    fxsave_round_trip();
    return NULL;
}

int main(int argc, char **argv) {
    entry_state(argc);
    if (argc > 1 && strcmp(argv[1], "child") == 0) return guest_done();
    fxsave_round_trip();
    x87_unmasked_exception();
    /* a thread inherits the creating thread's FPU control state (clone copies the FPU registers) */
    uint16_t cw = 0x27f; /* double precision */
    __asm__ volatile("fldcw %0" : : "m"(cw));
    _mm_setcsr(0x5f80); /* round toward +inf */
    pthread_t t;
    pthread_create(&t, NULL, thread_state, NULL);
    pthread_join(t, NULL);
    for (int i = 0; i < 3; i++) {
        pthread_create(&t, NULL, thread_fxsave, NULL);
        pthread_join(t, NULL);
    }
    if (argc > 1 && strcmp(argv[1], "exec") == 0) {
        fflush(stdout);
        /* execve starts the new image with the default FPU state whatever the caller had */
        execl("/proc/self/exe", argv[0], "child", (char *)NULL);
        perror("execl");
        return 1;
    }
    cw = 0x37f;
    __asm__ volatile("fldcw %0" : : "m"(cw));
    _mm_setcsr(0x1f80);
    return guest_done();
}
