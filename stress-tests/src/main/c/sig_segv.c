/* sig_segv: SIGSEGV recovered with siglongjmp, with the kernel's siginfo and sigcontext: reads
 * and writes through NULL and unmapped pages (SEGV_MAPERR), a PROT_NONE page and a read-only page
 * (SEGV_ACCERR), a jump to a non-executable page and to an unmapped address; si_addr is the
 * exact address, REG_RIP the faulting instruction (an asm label), REG_TRAPNO 14, REG_ERR the
 * page-fault error code (user | write | present | fetch bits); a non-canonical address is a #GP
 * (SI_KERNEL, si_addr 0, trap 13); and the signal mask is restored
 * by siglongjmp. */
#include "guest.h"
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

static sigjmp_buf env;
static volatile int faults;
static siginfo_t info;
static volatile greg_t rip, trapno, err;
static sigset_t in_handler_mask;

static char *volatile fix_page; /* when set, the handler makes it writable and returns */
static volatile long fix_len;

static volatile int env_valid;

static void on_segv(int sig, siginfo_t *si, void *ucv) {
    ucontext_t *uc = ucv;
    if (faults > 40 || (!fix_page && !env_valid)) {
        static const char msg[] = "FAIL: unexpected SIGSEGV (no recovery point); exiting\n";
        fflush(stdout);
        if (write(1, msg, sizeof msg - 1) < 0) _exit(5);
        _exit(4);
    }
    if (fix_page) {
        rip = uc->uc_mcontext.gregs[REG_RIP];
        info = *si;
        mprotect(fix_page, fix_len, PROT_READ | PROT_WRITE);
        faults++;
        return; /* the store is executed again, and only the store */
    }
    info = *si;
    rip = uc->uc_mcontext.gregs[REG_RIP];
    trapno = uc->uc_mcontext.gregs[REG_TRAPNO];
    err = uc->uc_mcontext.gregs[REG_ERR];
    sigprocmask(SIG_BLOCK, NULL, &in_handler_mask);
    faults++;
    siglongjmp(env, 1);
}

extern char load_insn[], store_insn[];
__attribute__((noinline)) static void do_load(uintptr_t a) {
    __asm__ volatile("load_insn: movl (%0), %%eax" : : "r"(a) : "eax", "memory");
}
__attribute__((noinline)) static void do_store(uintptr_t a) {
    __asm__ volatile("store_insn: movl $1, (%0)" : : "r"(a) : "memory");
}
volatile long sig_segv_counter;
extern char resume_insn[];
__attribute__((noinline)) static void inc_then_store(uintptr_t a) {
    __asm__ volatile("incq sig_segv_counter(%%rip)\n"
                     "addq $5, sig_segv_counter(%%rip)\n"
                     "resume_insn: movl $7, (%0)\n"
                     "incq sig_segv_counter(%%rip)" : : "r"(a) : "memory");
}
__attribute__((noinline)) static void do_call(uintptr_t a) {
    ((void (*)(void))a)();
}

enum { LOAD, STORE, CALL };

static void probe2(const char *what, int kind, uintptr_t addr, int code, long want_err, uintptr_t want_addr, int want_trap);
static void probe(const char *what, int kind, uintptr_t addr, int code, long want_err) {
    probe2(what, kind, addr, code, want_err, addr, 14);
}

static void probe2(const char *what, int kind, uintptr_t addr, int code, long want_err, uintptr_t want_addr, int want_trap) {
    memset(&info, 0, sizeof info);
    rip = trapno = err = -1;
    int before = faults;
    if (sigsetjmp(env, 1) == 0) {
        env_valid = 1;
        if (kind == LOAD) do_load(addr);
        else if (kind == STORE) do_store(addr);
        else do_call(addr);
        env_valid = 0;
        CHECK(0, "%s: no fault", what);
        return;
    }
    env_valid = 0;
    CHECK(faults == before + 1, "%s: SIGSEGV handled", what);
    CHECK(info.si_signo == SIGSEGV, "%s: si_signo SIGSEGV", what);
    CHECK(info.si_code == code, "%s: si_code %s", what,
          code == SEGV_MAPERR ? "SEGV_MAPERR" : code == SEGV_ACCERR ? "SEGV_ACCERR" : "SI_KERNEL");
    CHECK((uintptr_t)info.si_addr == want_addr, "%s: si_addr exact", what);
    uintptr_t want_rip = kind == LOAD ? (uintptr_t)load_insn : kind == STORE ? (uintptr_t)store_insn : addr;
    CHECK((uintptr_t)rip == want_rip, "%s: REG_RIP at the faulting instruction", what);
    CHECK(trapno == want_trap, "%s: REG_TRAPNO %d", what, want_trap);
    CHECK(err == want_err, "%s: REG_ERR 0x%lx (got 0x%lx)", what, want_err, err == want_err ? want_err : (long)err);
    CHECK(sigismember(&in_handler_mask, SIGSEGV), "%s: SIGSEGV blocked in the handler", what);
    sigset_t now;
    sigprocmask(SIG_BLOCK, NULL, &now);
    CHECK(!sigismember(&now, SIGSEGV), "%s: mask restored by siglongjmp", what);
}

int main(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGSEGV, &sa, NULL);
    long pg = sysconf(_SC_PAGESIZE);

    /* error code bits: 1 present, 2 write, 4 user, 16 instruction fetch */
    probe("load NULL", LOAD, 0, SEGV_MAPERR, 4);
    probe("store NULL+16", STORE, 16, SEGV_MAPERR, 6);
    probe("load 0x1000", LOAD, 0x1000, SEGV_MAPERR, 4);

    char *none = mmap(NULL, 3 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    none[pg + 5] = 42;
    mprotect(none + pg, pg, PROT_NONE);
    probe("load PROT_NONE", LOAD, (uintptr_t)(none + pg + 100), SEGV_ACCERR, 4);
    probe("store PROT_NONE", STORE, (uintptr_t)(none + pg + 200), SEGV_ACCERR, 6);
    mprotect(none + pg, pg, PROT_READ | PROT_WRITE);
    CHECK(none[pg + 5] == 42, "PROT_NONE page kept its contents");

    char *ro = mmap(NULL, pg, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    volatile char c = ro[0];
    (void)c;
    probe("store read-only", STORE, (uintptr_t)(ro + 64), SEGV_ACCERR, 7);
    do_load((uintptr_t)ro);
    CHECK(1, "load read-only page works");

    char *code = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    code[0] = (char)0xc3; /* ret */
    mprotect(code, pg, PROT_READ);
    probe("call non-executable page", CALL, (uintptr_t)code, SEGV_ACCERR, 0x15);

    munmap(none + 2 * pg, pg);
    probe("load munmapped page", LOAD, (uintptr_t)(none + 2 * pg + 8), SEGV_MAPERR, 4);
    probe("call unmapped address", CALL, (uintptr_t)(none + 2 * pg), SEGV_MAPERR, 0x14);
    /* a non-canonical address is a general-protection fault: SI_KERNEL, si_addr 0, trap 13 */
    probe2("load non-canonical", LOAD, 0x0000800000000000UL, SI_KERNEL, 0, 0, 13);
    CHECK(faults == 10, "10 faults handled");

    /* The handler fixes the protection and returns: execution resumes at the faulting store;
     * the instructions before it in the same block do not run again. Twice (the second time the
     * block is already translated and chained). */
    for (int round = 0; round < 2; round++) {
        char *p = mmap(NULL, pg, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        fix_page = p;
        fix_len = pg;
        sig_segv_counter = 0;
        inc_then_store((uintptr_t)(p + 12));
        fix_page = NULL;
        CHECK(faults == 11 + round, "fix-and-return %d: one fault", round + 1);
        CHECK((uintptr_t)rip == (uintptr_t)resume_insn, "fix-and-return %d: REG_RIP at the store", round + 1);
        CHECK(*(int *)(p + 12) == 7, "fix-and-return %d: the store happened", round + 1);
        CHECK(sig_segv_counter == 7, "fix-and-return %d: instructions before the store ran once (counter 7, got %ld)",
              round + 1, sig_segv_counter == 7 ? 7L : sig_segv_counter);
        munmap(p, pg);
    }
    return guest_done();
}
