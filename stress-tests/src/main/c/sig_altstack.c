/* sig_altstack: unbounded recursion in a thread overflows into its guard page; the SIGSEGV
 * handler (SA_ONSTACK) runs on the thread's sigaltstack (a local's address lies in it,
 * sigaltstack reports SS_ONSTACK), si_code is SEGV_ACCERR with si_addr in the guard page, and
 * siglongjmp leaves the alternate stack (SS_ONSTACK clear afterwards). Three overflows in a row,
 * in two threads one after the other. argv[1] = "exit": the handler _exits with 42 instead. */
#include "guest.h"
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <unistd.h>

#define ALT_SIZE (64 * 1024)
static __thread sigjmp_buf env;
static __thread char *alt;
static __thread volatile int on_alt, onstack_flag, depth_reached;
static __thread volatile uintptr_t fault_addr;
static __thread volatile int fault_code;
static volatile int exit_mode;
static volatile int overflows;

static void on_segv(int sig, siginfo_t *si, void *uc) {
    char local;
    stack_t ss;
    on_alt = (uintptr_t)&local >= (uintptr_t)alt && (uintptr_t)&local < (uintptr_t)alt + ALT_SIZE;
    sigaltstack(NULL, &ss);
    onstack_flag = (ss.ss_flags & SS_ONSTACK) != 0;
    fault_addr = (uintptr_t)si->si_addr;
    fault_code = si->si_code;
    overflows++;
    if (exit_mode) {
        static const char msg[] = "handler on the alternate stack exits with 42\n";
        if (on_alt && write(1, msg, sizeof msg - 1) < 0) _exit(3);
        _exit(on_alt ? 42 : 3);
    }
    if (overflows > 20) _exit(4);
    siglongjmp(env, 1);
}

static volatile int forever = 1;
__attribute__((noinline)) static int recurse(int n) {
    volatile char pad[256];
    pad[0] = (char)n;
    depth_reached = n;
    if (!forever) return 0;
    return recurse(n + 1) + pad[0];
}

static void *thread_main(void *arg) {
    alt = malloc(ALT_SIZE);
    stack_t ss = {.ss_sp = alt, .ss_size = ALT_SIZE, .ss_flags = 0};
    CHECK(sigaltstack(&ss, NULL) == 0, "sigaltstack installed");
    pthread_attr_t a;
    pthread_getattr_np(pthread_self(), &a);
    void *lo;
    size_t size, guard;
    pthread_attr_getstack(&a, &lo, &size);
    pthread_attr_getguardsize(&a, &guard);
    pthread_attr_destroy(&a);
    for (int round = 0; round < 3; round++) {
        on_alt = onstack_flag = 0;
        fault_addr = 0;
        if (sigsetjmp(env, 1) == 0) {
            recurse(0);
            CHECK(0, "recursion returned");
        }
        CHECK(on_alt, "round %d: the handler ran on the alternate stack", round);
        CHECK(onstack_flag, "round %d: sigaltstack reported SS_ONSTACK in the handler", round);
        CHECK(fault_code == SEGV_ACCERR, "round %d: si_code SEGV_ACCERR (guard page)", round);
        CHECK(fault_addr >= (uintptr_t)lo - guard && fault_addr < (uintptr_t)lo,
              "round %d: si_addr in the guard page below the stack", round);
        CHECK(depth_reached > 100, "round %d: deep recursion before the overflow", round);
        stack_t now;
        sigaltstack(NULL, &now);
        CHECK(!(now.ss_flags & SS_ONSTACK) && now.ss_sp == alt && now.ss_size == ALT_SIZE,
              "round %d: back on the thread stack, alternate stack unchanged", round);
    }
    return NULL;
}

int main(int argc, char **argv) {
    exit_mode = argc > 1 && strcmp(argv[1], "exit") == 0;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigaction(SIGSEGV, &sa, NULL);
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setstacksize(&a, 256 * 1024);
    for (int i = 0; i < 2; i++) {
        pthread_t t;
        pthread_create(&t, &a, thread_main, NULL);
        pthread_join(t, NULL);
    }
    CHECK(overflows == 6, "6 overflows caught");
    return guest_done();
}
