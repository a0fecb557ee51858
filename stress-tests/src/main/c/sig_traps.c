/* sig_traps: CPU exceptions other than page faults, each recovered: SIGILL from ud2
 * (ILL_ILLOPN, si_addr and REG_RIP at the ud2, REG_TRAPNO 6), SIGFPE from an integer division
 * by zero (FPE_INTDIV, si_addr at the div, REG_TRAPNO 0) and from INT_MIN / -1 (the
 * same #DE), SIGTRAP from int3 (a handler that returns:
 * execution continues after the int3, REG_RIP = int3 + 1, si_code SI_KERNEL, REG_TRAPNO 3),
 * a handler that skips the faulting ud2 by advancing REG_RIP; 20 divide errors in a row (no
 * escalation to a double fault). */
#include "guest.h"
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <ucontext.h>
#include <unistd.h>

static sigjmp_buf env;
static volatile int hits, skip_mode;
static volatile int code, signo;
static volatile uintptr_t addr;
static volatile greg_t rip, trapno;

static void handler(int sig, siginfo_t *si, void *ucv) {
    ucontext_t *uc = ucv;
    hits++;
    signo = sig;
    code = si->si_code;
    addr = (uintptr_t)si->si_addr;
    rip = uc->uc_mcontext.gregs[REG_RIP];
    trapno = uc->uc_mcontext.gregs[REG_TRAPNO];
    if (hits > 60) _exit(4);
    if (sig == SIGTRAP) return;            /* int3 is a trap: RIP is already past it */
    if (skip_mode) {                        /* skip the 2-byte ud2 and continue */
        uc->uc_mcontext.gregs[REG_RIP] += 2;
        return;
    }
    siglongjmp(env, 1);
}

extern char ud2_insn[], div_insn[], int3_insn[], int3_after[], ud2b_insn[];
__attribute__((noinline)) static void do_ud2(void) { __asm__ volatile("ud2_insn: ud2"); }
__attribute__((noinline)) static long do_div(long a, long b) {
    long q;
    __asm__ volatile("cqto\n div_insn: idivq %2" : "=a"(q) : "a"(a), "r"(b) : "rdx");
    return q;
}
__attribute__((noinline)) static void do_int3(void) { __asm__ volatile("int3_insn: int3\n int3_after: nop"); }
volatile long after_ud2;
__attribute__((noinline)) static void do_ud2_skip(void) {
    __asm__ volatile("ud2b_insn: ud2\n movq $77, after_ud2(%%rip)" : : : "memory");
}

static void install(int sig) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = handler;
    sa.sa_flags = SA_SIGINFO;
    sigaction(sig, &sa, NULL);
}

int main(void) {
    install(SIGILL);
    install(SIGFPE);
    install(SIGTRAP);

    for (volatile int i = 0; i < 2; i++) {
        if (sigsetjmp(env, 1) == 0) {
            do_ud2();
            CHECK(0, "ud2 executed");
        }
        CHECK(signo == SIGILL && code == ILL_ILLOPN, "ud2 #%d: SIGILL, ILL_ILLOPN", i + 1);
        CHECK(addr == (uintptr_t)ud2_insn && rip == (greg_t)(uintptr_t)ud2_insn, "ud2 #%d: si_addr and REG_RIP at the ud2", i + 1);
        CHECK(trapno == 6, "ud2 #%d: REG_TRAPNO 6 (#UD)", i + 1);
    }

    long divisors[] = {0, 0, -1};
    long dividends[] = {10, 11, LONG_MIN};
    for (volatile int i = 0; i < 3; i++) {
        if (sigsetjmp(env, 1) == 0) {
            long q = do_div(dividends[i], divisors[i]);
            CHECK(0, "division returned %ld", q);
        }
        CHECK(signo == SIGFPE && code == FPE_INTDIV, "division #%d: SIGFPE, FPE_INTDIV", i + 1);
        CHECK(addr == (uintptr_t)div_insn && rip == (greg_t)(uintptr_t)div_insn, "division #%d: si_addr and REG_RIP at the idiv", i + 1);
        CHECK(trapno == 0, "division #%d: REG_TRAPNO 0 (#DE)", i + 1);
    }
    CHECK(do_div(42, 5) == 8, "a valid division after the faults");
    /* a CPU remembers no exception once it is delivered: the 20th is a #DE like the first */
    int before_many = hits;
    for (volatile int i = 0; i < 20; i++) {
        if (sigsetjmp(env, 1) == 0) do_div(i, 0);
    }
    CHECK(hits == before_many + 20 && signo == SIGFPE && code == FPE_INTDIV && trapno == 0,
          "20 more divide errors, each a SIGFPE with REG_TRAPNO 0");

    for (int i = 0; i < 2; i++) {
        int before = hits;
        do_int3();
        CHECK(hits == before + 1 && signo == SIGTRAP, "int3 #%d: SIGTRAP handled, execution continued", i + 1);
        CHECK(code == SI_KERNEL, "int3 #%d: si_code SI_KERNEL", i + 1);
        CHECK(rip == (greg_t)(uintptr_t)int3_after, "int3 #%d: REG_RIP just after the int3", i + 1);
        CHECK(trapno == 3, "int3 #%d: REG_TRAPNO 3 (#BP)", i + 1);
    }

    skip_mode = 1;
    for (int i = 0; i < 2; i++) {
        after_ud2 = 0;
        do_ud2_skip();
        CHECK(after_ud2 == 77 && rip == (greg_t)(uintptr_t)ud2b_insn, "ud2 skipped by the handler #%d: continues after it", i + 1);
    }
    skip_mode = 0;
    CHECK(hits == 29, "29 exceptions handled");
    return guest_done();
}
