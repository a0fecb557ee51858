/* sig_storm: 8 threads send each other signals as fast as they can, while handling them:
 * real-time signals (SIGRTMIN..SIGRTMIN+3) with pthread_sigqueue, values encoding sender and
 * sequence number, and standard ones (SIGUSR1, SIGUSR2) with pthread_kill. Every real-time
 * signal sent is delivered exactly once to its target, and per (sender, target, signal) in FIFO
 * order; standard signals arrive at least once and never more often than sent; nothing
 * crashes. argv[1]: total number of signals (default 100000). */
#include "guest.h"
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#define NT 8
#define NRT 4
static pthread_t th[NT];
static pid_t tids[NT];
static __thread int self = -1;
static int per_thread;
static long sent_rt[NRT], recv_rt[NRT], sent_std[2], recv_std[2];   /* atomics */
static int next_seq[NT][NT][NRT];     /* [sender][target][sig]: written by the sender only */
static int expect_seq[NT][NT][NRT];   /* [target][sender][sig]: written by the target's handler */
static volatile int order_errors, wrong_target, eagain;
static pthread_barrier_t start_b, sent_b;

static void handler(int sig, siginfo_t *si, void *uc) {
    if (sig == SIGUSR1 || sig == SIGUSR2) {
        __atomic_add_fetch(&recv_std[sig == SIGUSR2], 1, __ATOMIC_RELAXED);
        return;
    }
    int k = sig - SIGRTMIN;
    int v = si->si_value.sival_int;
    int sender = v >> 24, target = (v >> 20) & 0xf, seq = v & 0xfffff;
    if (target != self || gettid() != tids[self]) wrong_target++;
    else if (sender < 0 || sender >= NT || expect_seq[self][sender][k] != seq) order_errors++;
    else expect_seq[self][sender][k]++;
    __atomic_add_fetch(&recv_rt[k], 1, __ATOMIC_RELAXED);
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static long sum(long *a, int n) {
    long s = 0;
    for (int i = 0; i < n; i++) s += __atomic_load_n(&a[i], __ATOMIC_SEQ_CST);
    return s;
}

static void *worker(void *arg) {
    self = (int)(intptr_t)arg;
    tids[self] = gettid();
    pthread_barrier_wait(&start_b);
    unsigned x = 12345u + self;
    for (int n = 0; n < per_thread; n++) {
        x = x * 1103515245u + 12345u;
        int target = (self + 1 + (x >> 8) % (NT - 1)) % NT;
        int kind = (x >> 16) % 6;
        if (kind < NRT) {
            int seq = next_seq[self][target][kind];
            union sigval v;
            v.sival_int = (self << 24) | (target << 20) | seq;
            int e;
            while ((e = pthread_sigqueue(th[target], SIGRTMIN + kind, v)) == EAGAIN) {
                eagain = 1;
                sched_yield(); /* the queue limit: let the targets drain */
            }
            if (e == 0) {
                next_seq[self][target][kind] = seq + 1;
                __atomic_add_fetch(&sent_rt[kind], 1, __ATOMIC_RELAXED);
            }
        } else {
            if (pthread_kill(th[target], kind == 4 ? SIGUSR1 : SIGUSR2) == 0)
                __atomic_add_fetch(&sent_std[kind - 4], 1, __ATOMIC_RELAXED);
        }
    }
    pthread_barrier_wait(&sent_b);
    /* everything is sent; wait (taking signals at every syscall) until every RT one arrived */
    double t0 = now();
    while (sum(recv_rt, NRT) < sum(sent_rt, NRT) && now() - t0 < 30) sched_yield();
    pthread_barrier_wait(&sent_b);
    return NULL;
}

int main(int argc, char **argv) {
    long total = argc > 1 ? atol(argv[1]) : 100000;
    per_thread = (int)(total / NT);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = handler;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    for (int k = 0; k < NRT; k++) sigaction(SIGRTMIN + k, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGUSR2, &sa, NULL);
    /* main takes none of them */
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    sigset_t none;
    sigemptyset(&none);
    pthread_barrier_init(&start_b, NULL, NT + 1);
    pthread_barrier_init(&sent_b, NULL, NT);
    for (int i = 0; i < NT; i++) {
        pthread_sigmask(SIG_SETMASK, &none, NULL); /* workers start with nothing blocked */
        pthread_create(&th[i], NULL, worker, (void *)(intptr_t)i);
        pthread_sigmask(SIG_BLOCK, &all, NULL);
    }
    pthread_barrier_wait(&start_b);
    for (int i = 0; i < NT; i++) pthread_join(th[i], NULL);
    long srt = sum(sent_rt, NRT), rrt = sum(recv_rt, NRT);
    CHECK(srt + sent_std[0] + sent_std[1] == (long)per_thread * NT, "%ld signals sent", (long)per_thread * NT);
    CHECK(rrt == srt, "every real-time signal delivered exactly once");
    int per_sig = 1;
    for (int k = 0; k < NRT; k++) per_sig &= sent_rt[k] == recv_rt[k];
    CHECK(per_sig, "per real-time signal: received == sent");
    CHECK(order_errors == 0, "FIFO per (sender, target, signal)");
    CHECK(wrong_target == 0, "every handler ran on its target thread");
    int std_ok = 1;
    for (int k = 0; k < 2; k++) std_ok &= recv_std[k] >= 1 && recv_std[k] <= sent_std[k];
    CHECK(std_ok, "standard signals: 1 <= received <= sent (coalesced)");
    return guest_done();
}
