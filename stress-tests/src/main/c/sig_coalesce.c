/* sig_coalesce: pending signals while blocked. A standard signal raised 3 times while blocked is
 * delivered once on unblock; SIGRTMIN+1 queued 3 times with different values is delivered 3
 * times in FIFO order with its values; with several pending, the kernel dequeues the
 * synchronous signals (SIGSEGV, SIGBUS, SIGILL, SIGTRAP, SIGFPE, SIGSYS) first, then the lowest
 * number first (standard before real-time, lower real-time first). Handlers block every test
 * signal (sa_mask), so one runs at a time in dequeue order; a last check leaves sa_mask empty,
 * where every pending signal gets its frame at once and the frames nest (the last one set up
 * runs first), as on Linux. */
#include "guest.h"
#include <signal.h>
#include <unistd.h>

#define MAXLOG 64
static volatile int nlog;
static int log_sig[MAXLOG];
static long log_val[MAXLOG];

static void handler(int sig, siginfo_t *si, void *uc) {
    int i = nlog;
    if (i < MAXLOG) {
        log_sig[i] = sig;
        log_val[i] = si->si_code == SI_QUEUE ? (long)si->si_value.sival_int : -1;
    }
    nlog = i + 1;
}

static sigset_t testset;

static void install_all(int full_mask) {
    for (int s = 1; s < 65; s++) {
        if (!sigismember(&testset, s)) continue;
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = handler;
        sa.sa_flags = SA_SIGINFO;
        if (full_mask) sa.sa_mask = testset; else sigemptyset(&sa.sa_mask);
        sigaction(s, &sa, NULL);
    }
}

static void q(int sig, int v) {
    union sigval val;
    val.sival_ptr = NULL;
    val.sival_int = v;
    if (sigqueue(getpid(), sig, val) != 0) printf("FAIL: sigqueue %d\n", sig);
}

static void show(const char *what, int n, const int *sigs, const long *vals) {
    int ok = nlog == n;
    for (int i = 0; ok && i < n; i++) ok = log_sig[i] == sigs[i] && log_val[i] == vals[i];
    printf("%s:", what);
    for (int i = 0; i < nlog && i < MAXLOG; i++) {
        int s = log_sig[i];
        if (s >= SIGRTMIN) printf(" RTMIN+%d", s - SIGRTMIN); else printf(" %s", sigabbrev_np(s));
        if (log_val[i] >= 0) printf("(%ld)", log_val[i]);
    }
    printf("\n");
    CHECK(ok, "%s: %d deliveries in the expected order", what, n);
    nlog = 0;
}

int main(void) {
    int R = SIGRTMIN;
    sigemptyset(&testset);
    int sigs[] = {SIGHUP, SIGINT, SIGFPE, SIGUSR1, SIGUSR2, SIGSEGV, SIGTRAP, SIGALRM, SIGTERM,
                  SIGRTMIN, SIGRTMIN + 1, SIGRTMIN + 2, SIGRTMIN + 3, SIGRTMAX};
    for (unsigned i = 0; i < sizeof sigs / sizeof *sigs; i++) sigaddset(&testset, sigs[i]);
    install_all(1);
    sigset_t old, pend;
    sigprocmask(SIG_BLOCK, &testset, &old);

    /* 1. standard signal: three raises (thread-directed), one delivery; three kills
     * (process-directed), one delivery; a raise and a kill: two, because the thread's and the
     * process's pending sets are separate. */
    for (int variant = 0; variant < 3; variant++) {
        sigprocmask(SIG_BLOCK, &testset, NULL);
        if (variant == 0) { raise(SIGUSR1); raise(SIGUSR1); raise(SIGUSR1); }
        if (variant == 1) { kill(getpid(), SIGUSR1); kill(getpid(), SIGUSR1); kill(getpid(), SIGUSR1); }
        if (variant == 2) { raise(SIGUSR1); kill(getpid(), SIGUSR1); raise(SIGUSR1); kill(getpid(), SIGUSR1); }
        sigpending(&pend);
        CHECK(sigismember(&pend, SIGUSR1) && !sigismember(&pend, SIGUSR2), "SIGUSR1 pending while blocked");
        CHECK(nlog == 0, "nothing delivered while blocked");
        sigprocmask(SIG_SETMASK, &old, NULL);
        int s[] = {SIGUSR1, SIGUSR1};
        long v[] = {-1, -1};
        show(variant == 0 ? "raise x3" : variant == 1 ? "kill x3" : "raise+kill x2", variant == 2 ? 2 : 1, s, v);
        sigpending(&pend);
        CHECK(!sigismember(&pend, SIGUSR1), "SIGUSR1 no longer pending");
    }

    /* 2. real-time: every instance, FIFO, with its value */
    sigprocmask(SIG_BLOCK, &testset, NULL);
    q(R + 1, 10);
    q(R + 1, 20);
    q(R + 1, 30);
    sigprocmask(SIG_SETMASK, &old, NULL);
    {
        int s[] = {R + 1, R + 1, R + 1};
        long v[] = {10, 20, 30};
        show("RTMIN+1 x3", 3, s, v);
    }

    /* 3. across numbers: synchronous first, then lowest number; RT instances FIFO per number */
    sigprocmask(SIG_BLOCK, &testset, NULL);
    q(SIGRTMAX, 64);
    q(R + 3, 3);
    q(R + 1, 1);
    q(R + 2, 2);
    q(R + 1, 11);
    q(R, 0);
    raise(SIGTERM);
    raise(SIGUSR2);
    raise(SIGHUP);
    raise(SIGALRM);
    raise(SIGINT);
    raise(SIGUSR1);
    raise(SIGTRAP);
    raise(SIGSEGV);
    raise(SIGFPE);
    q(R + 2, 22);
    sigprocmask(SIG_SETMASK, &old, NULL);
    {
        int s[] = {SIGTRAP, SIGFPE, SIGSEGV, SIGHUP, SIGINT, SIGUSR1, SIGUSR2, SIGALRM, SIGTERM,
                   R, R + 1, R + 1, R + 2, R + 2, R + 3, SIGRTMAX};
        long v[] = {-1, -1, -1, -1, -1, -1, -1, -1, -1, 0, 1, 11, 2, 22, 3, 64};
        show("mixed, one at a time", 16, s, v);
    }

    /* 4. empty sa_mask: all pending signals get frames at the same return to user mode; the
     * last frame built runs first. Each handler blocks only its own signal, so the second
     * RTMIN+1 comes when the first one's handler returns. */
    install_all(0);
    sigprocmask(SIG_BLOCK, &testset, NULL);
    q(R + 2, 2);
    q(R + 1, 1);
    q(R + 1, 11);
    raise(SIGUSR2);
    raise(SIGUSR1);
    sigprocmask(SIG_SETMASK, &old, NULL);
    {
        int s[] = {R + 2, R + 1, R + 1, SIGUSR2, SIGUSR1};
        long v[] = {2, 1, 11, -1, -1};
        show("nested frames", 5, s, v);
    }
    return guest_done();
}
