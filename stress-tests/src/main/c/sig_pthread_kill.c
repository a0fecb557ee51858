/* sig_pthread_kill: pthread_kill / pthread_sigqueue reach exactly the chosen thread. Four
 * threads in different states (two computing, one in nanosleep, one in a condition wait) and main
 * (which blocks the signals); for every round main targets each thread in turn and waits for the
 * handler, which records gettid(). argv[1]: rounds (default 25). */
#include "guest.h"
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#define NT 4
static pid_t tids[NT];
static volatile int started, stop;
static volatile pid_t last_tid;
static volatile int last_value;
static int hits;  /* atomic */
static int per_thread[NT];
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static volatile uint64_t sink[NT];

static void handler(int sig, siginfo_t *si, void *uc) {
    pid_t me = gettid();
    for (int i = 0; i < NT; i++)
        if (tids[i] == me) __atomic_add_fetch(&per_thread[i], 1, __ATOMIC_SEQ_CST);
    last_tid = me;
    last_value = si->si_code == SI_QUEUE ? si->si_value.sival_int : -1;
    __atomic_add_fetch(&hits, 1, __ATOMIC_SEQ_CST);
}

static void *worker(void *arg) {
    int id = (int)(intptr_t)arg;
    tids[id] = gettid();
    __atomic_add_fetch(&started, 1, __ATOMIC_SEQ_CST);
    uint64_t x = id;
    while (!stop) {
        if (id <= 1) {
            for (int k = 0; k < 1000; k++) x = x * 6364136223846793005ULL + 1;
            sink[id] = x;
        } else if (id == 2) {
            struct timespec ts = {0, 2000000};
            nanosleep(&ts, NULL);
        } else {
            pthread_mutex_lock(&m);
            if (!stop) pthread_cond_wait(&cv, &m);
            pthread_mutex_unlock(&m);
        }
    }
    return NULL;
}

int main(int argc, char **argv) {
    int rounds = argc > 1 ? atoi(argv[1]) : 25;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = handler;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGRTMIN + 1, &sa, NULL);
    pthread_t t[NT];
    for (int i = 0; i < NT; i++) pthread_create(&t[i], NULL, worker, (void *)(intptr_t)i);
    while (started < NT) sched_yield();
    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigaddset(&block, SIGRTMIN + 1);
    pthread_sigmask(SIG_BLOCK, &block, NULL); /* main never takes them */

    int wrong = 0, lost = 0, badval = 0;
    for (int r = 0; r < rounds; r++) {
        for (int i = 0; i < NT; i++) {
            int before = __atomic_load_n(&hits, __ATOMIC_SEQ_CST);
            int value = r * NT + i;
            if ((r + i) % 2 == 0) {
                pthread_kill(t[i], SIGUSR1);
            } else {
                union sigval v;
                v.sival_ptr = NULL;
                v.sival_int = value;
                pthread_sigqueue(t[i], SIGRTMIN + 1, v);
            }
            struct timespec t0, now;
            clock_gettime(CLOCK_MONOTONIC, &t0);
            while (__atomic_load_n(&hits, __ATOMIC_SEQ_CST) == before) {
                sched_yield();
                clock_gettime(CLOCK_MONOTONIC, &now);
                if (now.tv_sec - t0.tv_sec > 10) break;
            }
            if (__atomic_load_n(&hits, __ATOMIC_SEQ_CST) != before + 1) { lost++; continue; }
            if (last_tid != tids[i]) wrong++;
            if ((r + i) % 2 == 1 && last_value != value) badval++;
        }
    }
    stop = 1;
    pthread_mutex_lock(&m);
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&m);
    for (int i = 0; i < NT; i++) pthread_join(t[i], NULL);
    CHECK(lost == 0, "every signal delivered exactly once (%d rounds x %d threads)", rounds, NT);
    CHECK(wrong == 0, "every handler ran on the targeted thread");
    CHECK(badval == 0, "pthread_sigqueue values arrived");
    int ok = 1;
    for (int i = 0; i < NT; i++) ok &= per_thread[i] == rounds;
    CHECK(ok, "each thread handled exactly %d signals", rounds);
    return guest_done();
}
