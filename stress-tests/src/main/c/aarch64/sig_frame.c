/* sig_frame (aarch64): what an SA_SIGINFO handler sees of the arm64 rt_sigframe, printed as
 * deterministic "key: value" lines (addresses only relative to labels, the frame or the stacks),
 * for a differential test of Herd's aarch64 signal delivery against qemu-aarch64 / Linux:
 *
 *   - whether libc's sigaction set SA_RESTORER, and the two instructions LR points at on entry;
 *   - SIGUSR1 sent by a tgkill at a labelled svc: si_signo/si_code, PC relative to the label,
 *     x8, SP/x29/x1/x2 relations (frame at SP, siginfo at +0, ucontext at +128, frame record
 *     right above the 4688-byte frame), the record list in __reserved (fpsimd magic/size, the
 *     FPCR rounding mode and a V register set just before the svc), uc_sigmask, and the blocked
 *     mask inside the handler;
 *   - SIGSEGV from a store to a read-only page and SIGILL from udf #0: si_code, si_addr and PC
 *     relative to the faulting instruction, fault_address, the esr_context (magic, size, ESR);
 *     the handlers step over the instruction (pc += 4);
 *   - SIGUSR1 again after the faults (Linux keeps the last fault's ESR in the thread, so a later
 *     frame carries it; an emulator may not);
 *   - SIGUSR2 with SA_ONSTACK: entry SP relative to the alternate stack's top, uc_stack, and
 *     sigaltstack's SS_ONSTACK inside the handler.
 *
 * Build and run:  aarch64-linux-gnu-gcc -static -O1 -o sig_frame sig_frame.c
 *                 qemu-aarch64-static -cpu cortex-a72 ./sig_frame
 * (-cpu cortex-a72: the CPU of Herd's Unicorn engine. QEMU's default "max" CPU has SVE and SME, so
 * its frames also carry SVE, TPIDR2 and ZA records.)
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#define FRAME_SIZE 4688 /* sizeof(struct rt_sigframe) in arch/arm64/kernel/signal.c */

/* x29, x30 and sp exactly as the handler is entered: stub saves them, then tail-calls handler(). */
uint64_t entry_regs[3];
extern void stub(int, siginfo_t *, void *);
__asm__(".text\n"
        ".global stub\n"
        "stub:\n"
        "  adrp x9, entry_regs\n"
        "  add  x9, x9, :lo12:entry_regs\n"
        "  stp  x29, x30, [x9]\n"
        "  mov  x10, sp\n"
        "  str  x10, [x9, #16]\n"
        "  b    handler\n");

/* arm64 SIGSTKSZ (glibc makes SIGSTKSZ a sysconf call under _GNU_SOURCE) */
static uint8_t altstack[16384] __attribute__((aligned(16)));
static volatile int phase;
static uint32_t *ro_page;

/* Labels in the inline asm below; global, so references to them are resolved by symbol (as local
 * labels, references from an earlier function resolved to the wrong address with -O1). */
extern char kill_after[], segv_insn[], ill_insn[];

/* fault_address without absolute addresses: 0, an offset into the read-only page, or "other". */
static void print_fault_address(const char *tag, uint64_t a) {
    if (a == 0) printf("%s.fault_address: 0\n", tag);
    else if (a - (uint64_t)ro_page < 4096) printf("%s.fault_address: ro_page+%ld\n", tag, (long)(a - (uint64_t)ro_page));
    else printf("%s.fault_address: other\n", tag);
}

static void print_records(const char *tag, ucontext_t *uc) {
    uint8_t *p = uc->uc_mcontext.__reserved;
    for (int i = 0; i < 8; i++) {
        struct _aarch64_ctx *h = (struct _aarch64_ctx *)p;
        printf("%s.record%d: magic=0x%08x size=%u offset=%ld\n", tag, i, h->magic, h->size,
               (long)(p - uc->uc_mcontext.__reserved));
        if (h->magic == FPSIMD_MAGIC) {
            struct fpsimd_context *f = (struct fpsimd_context *)h;
            uint64_t lo, hi;
            memcpy(&lo, (uint8_t *)&f->vregs[16], 8);
            memcpy(&hi, (uint8_t *)&f->vregs[16] + 8, 8);
            printf("%s.fpsimd: fpcr.rmode=%u v16=%016llx%016llx\n", tag, (f->fpcr >> 22) & 3,
                   (unsigned long long)hi, (unsigned long long)lo);
        } else if (h->magic == ESR_MAGIC) {
            printf("%s.esr: 0x%llx\n", tag, (unsigned long long)((struct esr_context *)h)->esr);
        }
        if (h->magic == 0 || h->size == 0) break;
        p += h->size;
    }
}

static void print_frame(const char *tag, int sig, siginfo_t *si, ucontext_t *uc) {
    uint64_t x29 = entry_regs[0], sp = entry_regs[2];
    printf("%s.signo: %d\n%s.code: %d\n", tag, si->si_signo, tag, si->si_code);
    printf("%s.x0==signo: %d\n", tag, sig == si->si_signo);
    printf("%s.sp%%16: %llu\n", tag, (unsigned long long)(sp % 16));
    printf("%s.siginfo-sp: %ld\n", tag, (long)((uint64_t)si - sp));
    printf("%s.ucontext-sp: %ld\n", tag, (long)((uint64_t)uc - sp));
    printf("%s.x29-sp: %ld\n", tag, (long)(x29 - sp));
    printf("%s.frame_record.fp==interrupted.x29: %d\n", tag,
           ((uint64_t *)x29)[0] == uc->uc_mcontext.regs[29]);
    printf("%s.frame_record.lr==interrupted.x30: %d\n", tag,
           ((uint64_t *)x29)[1] == uc->uc_mcontext.regs[30]);
    if (sig != SIGUSR2) /* on the alternate stack the frame is not below the interrupted SP */
        printf("%s.interrupted.sp-(x29+16): %ld\n", tag, (long)(uc->uc_mcontext.sp - (x29 + 16)));
    printf("%s.pstate.nzcv: 0x%llx pstate.other: 0x%llx\n", tag,
           (unsigned long long)(uc->uc_mcontext.pstate >> 28),
           (unsigned long long)(uc->uc_mcontext.pstate & 0x0fffffffULL));
    printf("%s.uc_flags: %lu uc_link: %p\n", tag, uc->uc_flags, (void *)uc->uc_link);
    print_records(tag, uc);
}

void handler(int sig, siginfo_t *si, void *ucv); /* reached from stub */
void handler(int sig, siginfo_t *si, void *ucv) {
    ucontext_t *uc = ucv;
    uint64_t pc = uc->uc_mcontext.pc;
    if (sig == SIGUSR1) {
        const char *tag = phase == 0 ? "usr1" : "usr1_after_faults";
        print_frame(tag, sig, si, uc);
        printf("%s.pc-kill_after: %ld\n", tag, (long)(pc - (uint64_t)kill_after));
        printf("%s.x8: %llu\n", tag, (unsigned long long)uc->uc_mcontext.regs[8]);
        print_fault_address(tag, uc->uc_mcontext.fault_address);
        sigset_t now;
        sigprocmask(SIG_BLOCK, NULL, &now);
        printf("%s.uc_sigmask.usr1: %d usr2: %d blocked.usr1: %d blocked.usr2: %d\n", tag,
               sigismember(&uc->uc_sigmask, SIGUSR1), sigismember(&uc->uc_sigmask, SIGUSR2),
               sigismember(&now, SIGUSR1), sigismember(&now, SIGUSR2));
        /* LR: the sigreturn trampoline (vDSO or emulator page) or sa_restorer */
        uint32_t *lr = (uint32_t *)entry_regs[1];
        printf("%s.lr.code: %08x %08x\n", tag, lr[0], lr[1]);
    } else if (sig == SIGSEGV) {
        print_frame("segv", sig, si, uc);
        printf("segv.si_addr-page: %ld\n", (long)((uint64_t)si->si_addr - (uint64_t)ro_page));
        printf("segv.pc-insn: %ld\n", (long)(pc - (uint64_t)segv_insn));
        print_fault_address("segv", uc->uc_mcontext.fault_address);
        uc->uc_mcontext.pc += 4;
    } else if (sig == SIGILL) {
        print_frame("ill", sig, si, uc);
        printf("ill.si_addr-insn: %ld\n", (long)((uint64_t)si->si_addr - (uint64_t)ill_insn));
        printf("ill.pc-insn: %ld\n", (long)(pc - (uint64_t)ill_insn));
        print_fault_address("ill", uc->uc_mcontext.fault_address);
        uc->uc_mcontext.pc += 4;
    } else if (sig == SIGUSR2) {
        uint64_t top = (uint64_t)altstack + sizeof altstack;
        print_frame("alt", sig, si, uc);
        printf("alt.top-sp: %ld\n", (long)(top - entry_regs[2]));
        printf("alt.top-x29: %ld\n", (long)(top - entry_regs[0]));
        printf("alt.uc_stack: sp-alt=%ld flags=%d size=%zu\n", (long)((uint64_t)uc->uc_stack.ss_sp - (uint64_t)altstack),
               uc->uc_stack.ss_flags, uc->uc_stack.ss_size);
        stack_t cur;
        sigaltstack(NULL, &cur);
        printf("alt.sigaltstack.flags: %d\n", cur.ss_flags);
    }
}

/* tgkill(getpid(), gettid(), sig) from a labelled svc, with FPCR.RMode = 3 and v16 set just before. */
__attribute__((noinline)) static void tgkill_here(int sig) {
    register long x0 __asm__("x0") = getpid();
    register long x1 __asm__("x1") = gettid();
    register long x2 __asm__("x2") = sig;
    register long x8 __asm__("x8") = SYS_tgkill;
    uint64_t fpcr_saved;
    __asm__ volatile("mrs %[old], fpcr\n"
                     "orr x9, %[old], #0xc00000\n"
                     "msr fpcr, x9\n"
                     "movi v16.16b, #0x5a\n"
                     "mov v16.d[1], %[hi]\n"
                     "svc #0\n"
                     ".global kill_after\n"
                     "kill_after:\n"
                     "msr fpcr, %[old]\n"
                     : "+r"(x0), [old] "=&r"(fpcr_saved)
                     : "r"(x1), "r"(x2), "r"(x8), [hi] "r"(0x0123456789abcdefULL)
                     : "x9", "v16", "memory");
}

static void install(int sig, int flags, int extra_mask_sig) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = stub;
    sa.sa_flags = SA_SIGINFO | flags;
    sigemptyset(&sa.sa_mask);
    if (extra_mask_sig) sigaddset(&sa.sa_mask, extra_mask_sig);
    if (sigaction(sig, &sa, NULL) != 0) { perror("sigaction"); exit(1); }
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    install(SIGUSR1, 0, SIGUSR2);
    install(SIGSEGV, 0, 0);
    install(SIGILL, 0, 0);
    install(SIGUSR2, SA_ONSTACK, 0);

    /* What libc passed to the kernel: struct k_sigaction {handler, flags, restorer, mask}. */
    struct { void *handler; unsigned long flags; void *restorer; uint64_t mask; } k;
    syscall(SYS_rt_sigaction, SIGUSR1, NULL, &k, 8);
    printf("libc.sa_restorer: %s\n", (k.flags & 0x04000000UL) ? "set" : "not set");

    tgkill_here(SIGUSR1);

    ro_page = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (ro_page == MAP_FAILED) { perror("mmap"); return 1; }
    __asm__ volatile(".global segv_insn\nsegv_insn: str %w0, [%1, #8]" :: "r"(1), "r"(ro_page) : "memory");
    __asm__ volatile(".global ill_insn\nill_insn: udf #0" ::: "memory");

    phase = 1;
    tgkill_here(SIGUSR1);

    stack_t ss = {.ss_sp = altstack, .ss_size = sizeof altstack, .ss_flags = 0};
    if (sigaltstack(&ss, NULL) != 0) { perror("sigaltstack"); return 1; }
    tgkill_here(SIGUSR2);
    stack_t after;
    sigaltstack(NULL, &after);
    printf("after.sigaltstack.flags: %d\n", after.ss_flags);
    printf("done\n");
    return 0;
}
