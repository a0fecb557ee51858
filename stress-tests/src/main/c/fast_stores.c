/* fast_stores: the safety rules of Herd's store fast path (DESIGN fact 11), checked against
 * native Linux. After a page was written (so an engine may hold a fast TLB entry for it):
 * mprotect(PROT_READ) makes the next store SIGSEGV (SEGV_ACCERR, exact si_addr), munmap makes it
 * SEGV_MAPERR; code rewritten in place in an RWX page by the same thread runs the new code, and so
 * does JIT-style code written through an RW mapping then made RX; and a thread storing in a loop
 * while another thread makes its page read-only gets SIGSEGV at the page (no host crash). */
#include "guest.h"
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

static __thread sigjmp_buf env;
static __thread volatile int armed;
static __thread void *volatile fault_addr;
static __thread volatile int fault_code;

static void on_segv(int sig, siginfo_t *si, void *uc) {
    (void)sig;
    (void)uc;
    if (!armed) {
        static const char msg[] = "FAIL: unexpected SIGSEGV\n";
        write(1, msg, sizeof msg - 1);
        _exit(3);
    }
    armed = 0;
    fault_addr = si->si_addr;
    fault_code = si->si_code;
    siglongjmp(env, 1);
}

/* Stores v at p; returns 1 if it faulted (fault_addr/fault_code set), 0 if it did not. */
static int store_faults(volatile long *p, long v) {
    fault_addr = NULL;
    fault_code = 0;
    if (sigsetjmp(env, 1)) return 1;
    armed = 1;
    *p = v;
    armed = 0;
    return 0;
}

typedef int (*fn_t)(void);

#if defined(__aarch64__)
/* movz w0, #lo16; movk w0, #hi16, lsl #16; ret -- then the cache maintenance arm64 requires
 * (Linux's user-space contract: a store to code is seen by instruction fetch after it) */
static void emit_return(unsigned char *at, int value) {
    uint32_t insn[3] = {0x52800000u | ((uint32_t)(value & 0xffff) << 5),
                        0x72a00000u | ((uint32_t)((unsigned)value >> 16) << 5), 0xd65f03c0u};
    memcpy(at, insn, sizeof insn);
    __builtin___clear_cache((char *)at, (char *)at + sizeof insn);
}
#else
/* mov eax, imm32; ret */
static void emit_return(unsigned char *at, int value) {
    at[0] = 0xb8;
    memcpy(at + 1, &value, 4);
    at[5] = 0xc3;
}
#endif

static volatile long *shared_page;
static volatile int writer_ready, writer_faulted;
static void *volatile writer_fault_addr;
static volatile int writer_fault_code;

static void *writer(void *arg) {
    (void)arg;
    long i = 0;
    if (sigsetjmp(env, 1)) {
        writer_fault_addr = fault_addr;
        writer_fault_code = fault_code;
        writer_faulted = 1;
        return NULL;
    }
    armed = 1;
    for (;;) {
        shared_page[(i * 7) % 512] = i; /* many stores, all over the page */
        i++;
        if (i == 100000) writer_ready = 1;
    }
}

int main(void) {
    long pg = sysconf(_SC_PAGESIZE);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGSEGV, &sa, NULL);

    /* 1. written, then read-only: the next store faults at its exact address */
    char *a = mmap(NULL, 4 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 4 * pg; i += 8) *(volatile long *)(a + i) = i + round;
        CHECK(mprotect(a + pg, pg, PROT_READ) == 0, "round %d: mprotect(PROT_READ) of a written page", round);
        volatile long *target = (volatile long *)(a + pg + 8 * (round + 1));
        int f = store_faults(target, 42);
        CHECK(f && fault_addr == (void *)target && fault_code == SEGV_ACCERR,
              "round %d: store into the now read-only page: SIGSEGV SEGV_ACCERR at the exact address", round);
        CHECK(*target == pg + 8 * (round + 1) + round, "round %d: the faulting store changed nothing", round);
        CHECK(!store_faults((volatile long *)(a + 2 * pg), 7), "round %d: its writable neighbour still takes stores", round);
        CHECK(mprotect(a + pg, pg, PROT_READ | PROT_WRITE) == 0 && !store_faults(target, 43) && *target == 43,
              "round %d: writable again: the store lands", round);
    }
    /* 2. written, then unmapped: SEGV_MAPERR */
    volatile long *u = (volatile long *)(a + 3 * pg + 16);
    *u = 5;
    CHECK(munmap(a + 3 * pg, pg) == 0, "munmap of a written page");
    CHECK(store_faults(u, 6) && fault_addr == (void *)u && fault_code == SEGV_MAPERR,
          "store into the unmapped page: SIGSEGV SEGV_MAPERR at the exact address");
    /* 3. written, then PROT_NONE */
    *(volatile long *)a = 1;
    CHECK(mprotect(a, pg, PROT_NONE) == 0 && store_faults((volatile long *)a, 2) && fault_addr == a
              && fault_code == SEGV_ACCERR, "store into a written page made PROT_NONE: SEGV_ACCERR");

    /* 4. self-modifying code in an RWX page, same thread */
    unsigned char *code = mmap(NULL, pg, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char *other = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    *(volatile char *)other = 1; /* touched: Herd maps data regions in an engine on first touch */
    int smc_ok = 1;
    for (int v = 1; v <= 200; v++) {
        emit_return(code, v);
        emit_return(code + 64 + (v % 8) * 8, -v); /* stores elsewhere in the page too */
        if (((fn_t)code)() != v) smc_ok = 0;
        /* An unrelated protection change: under Herd it flushes the engine's TLB, so the next store
         * refills the code page's entry, which must keep the slow path that notices the rewrite. */
        mprotect(other, pg, v % 2 ? PROT_READ : PROT_READ | PROT_WRITE);
    }
    CHECK(smc_ok, "code rewritten in place in an RWX page runs the new code (200 rewrites)");

    /* 5. JIT style: write through RW, make RX, run; again with new code */
    unsigned char *jit = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    int jit_ok = 1;
    for (int v = 1; v <= 50; v++) {
        if (mprotect(jit, pg, PROT_READ | PROT_WRITE) != 0) jit_ok = 0;
        emit_return(jit + (v % 2) * 128, 1000 + v);
        if (mprotect(jit, pg, PROT_READ | PROT_EXEC) != 0) jit_ok = 0;
        if (((fn_t)(jit + (v % 2) * 128))() != 1000 + v) jit_ok = 0;
    }
    CHECK(jit_ok, "W^X JIT: code written through an RW page, then made RX, runs the new code (50 rounds)");
    CHECK(store_faults((volatile long *)(jit + 512), 1) && fault_code == SEGV_ACCERR,
          "a store into the RX page faults");

    /* 6. another thread stores in a loop; this thread makes the page read-only */
    shared_page = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    pthread_t t;
    pthread_create(&t, NULL, writer, NULL);
    while (!writer_ready) sched_yield();
    CHECK(mprotect((void *)shared_page, pg, PROT_READ) == 0, "mprotect(PROT_READ) while another thread stores");
    pthread_join(t, NULL);
    CHECK(writer_faulted && writer_fault_code == SEGV_ACCERR && (char *)writer_fault_addr >= (char *)shared_page
              && (char *)writer_fault_addr < (char *)shared_page + pg,
          "the storing thread gets SIGSEGV SEGV_ACCERR inside the page");
    return guest_done();
}
