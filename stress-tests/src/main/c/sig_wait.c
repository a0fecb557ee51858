/* sig_wait: a dedicated thread collects signals with sigwaitinfo while every thread (itself
 * included, outside the wait) blocks them; three busy threads never see them. Main sends
 * process-directed signals (sigqueue SIGRTMIN+1 with values, kill SIGUSR1 once per round after
 * the previous one was collected) and thread-directed ones to the waiter (pthread_sigqueue
 * SIGRTMIN+2). The waiter checks every value, in FIFO order per signal. argv[1]: rounds
 * (default 8). */
#include "guest.h"
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <unistd.h>

#define PER_ROUND 10
static sigset_t set;
static int rounds;
static volatile int usr1_seen, stop;
static volatile int rt1_next, rt2_next, bad, waiter_ready;
static volatile pid_t waiter_tid;
static volatile uint64_t sink[3];

static void *waiter(void *arg) {
    waiter_tid = gettid();
    waiter_ready = 1;
    int total = rounds * (2 * PER_ROUND + 1);
    for (int got = 0; got < total;) {
        siginfo_t si;
        int s = sigwaitinfo(&set, &si);
        if (s < 0) {
            if (errno == EINTR) continue;
            bad++;
            break;
        }
        got++;
        if (s == SIGUSR1) {
            if (si.si_code != SI_USER || si.si_pid != getpid()) bad++;
            __atomic_add_fetch(&usr1_seen, 1, __ATOMIC_SEQ_CST);
        } else if (s == SIGRTMIN + 1) {
            if (si.si_code != SI_QUEUE || si.si_value.sival_int != rt1_next) bad++;
            rt1_next++;
        } else if (s == SIGRTMIN + 2) {
            if (si.si_code != SI_QUEUE || si.si_value.sival_int != 100000 + rt2_next) bad++;
            rt2_next++;
        } else {
            bad++;
        }
    }
    return NULL;
}

static void *busy(void *arg) {
    int id = (int)(intptr_t)arg;
    uint64_t x = id;
    while (!stop) {
        for (int k = 0; k < 1000; k++) x = x * 6364136223846793005ULL + 1;
        sink[id] = x;
    }
    return NULL;
}

int main(int argc, char **argv) {
    rounds = argc > 1 ? atoi(argv[1]) : 8;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGRTMIN + 1);
    sigaddset(&set, SIGRTMIN + 2);
    pthread_sigmask(SIG_BLOCK, &set, NULL); /* inherited by every thread */
    pthread_t w, b[3];
    pthread_create(&w, NULL, waiter, NULL);
    for (int i = 0; i < 3; i++) pthread_create(&b[i], NULL, busy, (void *)(intptr_t)i);
    while (!waiter_ready) sched_yield();
    int v1 = 0, v2 = 0, fails = 0;
    for (int r = 0; r < rounds; r++) {
        for (int i = 0; i < PER_ROUND; i++) {
            union sigval v;
            v.sival_ptr = NULL;
            v.sival_int = v1++;
            fails |= sigqueue(getpid(), SIGRTMIN + 1, v);
            v.sival_int = 100000 + v2++;
            fails |= pthread_sigqueue(w, SIGRTMIN + 2, v);
        }
        fails |= kill(getpid(), SIGUSR1);
        while (__atomic_load_n(&usr1_seen, __ATOMIC_SEQ_CST) <= r) usleep(200);
    }
    pthread_join(w, NULL);
    stop = 1;
    for (int i = 0; i < 3; i++) pthread_join(b[i], NULL);
    CHECK(!fails, "every send succeeded");
    CHECK(bad == 0, "every collected siginfo was right and in order");
    CHECK(rt1_next == rounds * PER_ROUND && rt2_next == rounds * PER_ROUND && usr1_seen == rounds,
          "the waiter collected all %d signals", rounds * (2 * PER_ROUND + 1));
    sigset_t pend;
    sigpending(&pend);
    CHECK(!sigismember(&pend, SIGUSR1) && !sigismember(&pend, SIGRTMIN + 1), "nothing left pending");

    /* sigtimedwait: a timeout gives EAGAIN after about the time asked */
    struct timespec t = {0, 50000000}, t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    EXPECT_ERRNO(sigtimedwait(&set, NULL, &t), EAGAIN, "sigtimedwait(50 ms) with nothing pending");
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double dt = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
    CHECK(dt >= 0.045, "the timeout took at least 50 ms"); /* no upper bound: that would test the load */
    struct timespec badts = {0, 1000000000};
    EXPECT_ERRNO(sigtimedwait(&set, NULL, &badts), EINVAL, "sigtimedwait with tv_nsec = 1e9");
    return guest_done();
}
