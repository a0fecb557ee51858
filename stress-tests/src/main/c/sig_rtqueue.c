/* sig_rtqueue: 100 values queued on SIGRTMIN+4 (interleaved with 100 on SIGRTMIN+5) while
 * blocked are all delivered on unblock, per signal in FIFO order, the lower signal's first; the
 * same drained with sigtimedwait (zero timeout, EAGAIN when empty); RLIMIT_SIGPENDING bounds the
 * queue (sigqueue fails with EAGAIN past it). */
#include "guest.h"
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#define N 100
static volatile int n;
static int sigs[2 * N + 8];
static int vals[2 * N + 8];

static void handler(int sig, siginfo_t *si, void *uc) {
    if (n < 2 * N + 8) {
        sigs[n] = sig;
        vals[n] = si->si_value.sival_int;
    }
    n++;
}

static int q(int sig, int v) {
    union sigval val;
    val.sival_ptr = NULL;
    val.sival_int = v;
    return sigqueue(getpid(), sig, val);
}

int main(void) {
    int A = SIGRTMIN + 4, B = SIGRTMIN + 5;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = handler;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    sigaddset(&sa.sa_mask, A);
    sigaddset(&sa.sa_mask, B);
    sigaction(A, &sa, NULL);
    sigaction(B, &sa, NULL);
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, A);
    sigaddset(&set, B);
    sigprocmask(SIG_BLOCK, &set, &old);
    int failed = 0;
    for (int i = 0; i < N; i++) {
        failed |= q(B, 1000 + i * 3);
        failed |= q(A, i * 7 + 1);
    }
    CHECK(!failed, "200 sigqueue calls succeeded");
    CHECK(n == 0, "nothing delivered while blocked");
    sigprocmask(SIG_SETMASK, &old, NULL);
    CHECK(n == 2 * N, "all 200 delivered on unblock");
    int order = 1;
    for (int i = 0; i < N; i++) order &= sigs[i] == A && vals[i] == i * 7 + 1;
    for (int i = 0; i < N; i++) order &= sigs[N + i] == B && vals[N + i] == 1000 + i * 3;
    CHECK(order, "SIGRTMIN+4's 100 values first, FIFO, then SIGRTMIN+5's, FIFO");

    /* drained with sigtimedwait */
    sigprocmask(SIG_BLOCK, &set, NULL);
    for (int i = 0; i < N; i++) {
        q(A, 5000 + i);
        q(B, 6000 + i);
    }
    struct timespec zero = {0, 0};
    siginfo_t si;
    int ok = 1, got = 0;
    for (int i = 0; i < 2 * N; i++) {
        int s = sigtimedwait(&set, &si, &zero);
        if (s < 0) break;
        got++;
        int want_sig = i < N ? A : B, want_val = i < N ? 5000 + i : 6000 + i - N;
        ok &= s == want_sig && si.si_signo == want_sig && si.si_code == SI_QUEUE && si.si_value.sival_int == want_val
              && si.si_pid == getpid();
    }
    CHECK(got == 2 * N && ok, "sigtimedwait drains 200 in order, with their siginfo");
    EXPECT_ERRNO(sigtimedwait(&set, &si, &zero), EAGAIN, "sigtimedwait on an empty queue");

    /* RLIMIT_SIGPENDING */
    struct rlimit rl = {5, 5}, orl;
    getrlimit(RLIMIT_SIGPENDING, &orl);
    CHECK(setrlimit(RLIMIT_SIGPENDING, &rl) == 0, "RLIMIT_SIGPENDING set to 5");
    int queued = 0;
    for (int i = 0; i < 10; i++) {
        if (q(A, i) != 0) break;
        queued++;
    }
    /* the limit counts every pending signal of the user (other processes too): at most 5 */
    CHECK(queued >= 1 && queued <= 5, "at most 5 queued under the limit");
    EXPECT_ERRNO(q(A, 99), EAGAIN, "sigqueue past RLIMIT_SIGPENDING");
    setrlimit(RLIMIT_SIGPENDING, &orl);
    n = 0;
    sigprocmask(SIG_SETMASK, &old, NULL);
    CHECK(n == queued, "the queued ones are delivered");
    return guest_done();
}
