/* soak_signals [WARMUP] [TOTAL] [THREADS]: sends TOTAL signals (default 100000, after WARMUP
 * 2000) with handlers installed: SIGUSR1 to the process (kill), SIGUSR2 to worker threads
 * (pthread_kill) and SIGRTMIN to itself (raise), round robin, while THREADS (default 4) workers
 * spin on a flag. Checks every handler ran. See soak.h. */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include "soak.h"

static atomic_long hits[3];
static atomic_int stop;

static void on_usr1(int s) { atomic_fetch_add(&hits[0], 1); }
static void on_usr2(int s) { atomic_fetch_add(&hits[1], 1); }
static void on_rt(int s) { atomic_fetch_add(&hits[2], 1); }

static void *worker(void *arg) {
    while (!atomic_load(&stop)) sched_yield();
    return NULL;
}

static void storm(long total, pthread_t *t, int nt) {
    for (long i = 0; i < total; i++) {
        switch (i % 3) {
        case 0: kill(getpid(), SIGUSR1); break;
        case 1: pthread_kill(t[i % nt], SIGUSR2); break;
        default: raise(SIGRTMIN); break;
        }
    }
}

int main(int argc, char **argv) {
    long warm = soak_arg(argc, argv, 1, 2000), total = soak_arg(argc, argv, 2, 100000);
    int nt = (int) soak_arg(argc, argv, 3, 4);
    if (nt < 1 || nt > 64) nt = 4;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_flags = SA_RESTART;
    sa.sa_handler = on_usr1; sigaction(SIGUSR1, &sa, NULL);
    sa.sa_handler = on_usr2; sigaction(SIGUSR2, &sa, NULL);
    sa.sa_handler = on_rt; sigaction(SIGRTMIN, &sa, NULL);
    pthread_t t[64];
    for (int i = 0; i < nt; i++) pthread_create(&t[i], NULL, worker, NULL);
    storm(warm, t, nt);
    soak_pause("READY");
    storm(total, t, nt);
    atomic_store(&stop, 1);
    for (int i = 0; i < nt; i++) pthread_join(t[i], NULL);
    int ok = hits[0] > 0 && hits[1] > 0 && hits[2] > 0;
    printf("signals sent: %ld, every handler ran: %s\n", total, ok ? "yes" : "NO");
    soak_pause("DONE");
    return ok ? 0 : 1;
}
