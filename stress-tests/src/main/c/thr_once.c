/* thr_once: 32 threads released together race into pthread_once, round after round with a fresh
 * once control: the init routine runs exactly once per round and every caller returns only after
 * it completed (sees its effect). */
#include "guest.h"
#include <pthread.h>
#include <stdint.h>

#define NT 32
#define MAXR 1000

static pthread_once_t once[MAXR];
static volatile long value[MAXR];
static int runs[MAXR];
static int cur, rounds, early;
static pthread_barrier_t bar;

static void init0(void) {
    runs[cur]++;
    volatile long s = 0;
    for (int k = 0; k < 20000; k++) s += k; /* slow enough that other callers must wait */
    value[cur] = s;
}

static void *racer(void *arg) {
    for (int r = 0; r < rounds; r++) {
        pthread_barrier_wait(&bar);
        pthread_once(&once[r], init0);
        if (value[r] != 199990000L) __atomic_add_fetch(&early, 1, __ATOMIC_SEQ_CST);
        pthread_barrier_wait(&bar);
        if (arg == NULL) cur = r + 1; /* thread 0 moves on; the others wait at the next barrier */
    }
    return NULL;
}

int main(int argc, char **argv) {
    rounds = argc > 1 ? atoi(argv[1]) : 50;
    if (rounds > MAXR) rounds = MAXR;
    for (int r = 0; r < MAXR; r++) once[r] = (pthread_once_t)PTHREAD_ONCE_INIT;
    pthread_barrier_init(&bar, NULL, NT);
    pthread_t th[NT];
    for (long i = 0; i < NT; i++) pthread_create(&th[i], NULL, racer, (void *)i);
    for (int i = 0; i < NT; i++) pthread_join(th[i], NULL);
    int once_each = 1;
    for (int r = 0; r < rounds; r++) if (runs[r] != 1) once_each = 0;
    CHECK(once_each, "init ran exactly once in each of the rounds");
    CHECK(early == 0, "no caller returned before init completed");
    pthread_once(&once[0], init0);
    CHECK(runs[0] == 1, "a later pthread_once does not run init again");
    return guest_done();
}
