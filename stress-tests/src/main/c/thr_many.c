/* thr_many: 200 threads alive at once (each checks in, then blocks on a condition variable until
 * main releases them all with one broadcast, then meets the others at a barrier), then 2,000
 * create/join cycles in batches of 4. Thread stacks are small (64 KiB) like a server's. */
#include "guest.h"
#include <pthread.h>
#include <stdint.h>

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t arrived = PTHREAD_COND_INITIALIZER, go_cv = PTHREAD_COND_INITIALIZER;
static int checked_in, go;
static pthread_barrier_t bar;
static long released;

static void *live(void *arg) {
    pthread_mutex_lock(&m);
    checked_in++;
    pthread_cond_signal(&arrived);
    while (!go) pthread_cond_wait(&go_cv, &m);
    pthread_mutex_unlock(&m);
    __atomic_add_fetch(&released, (intptr_t)arg, __ATOMIC_SEQ_CST);
    pthread_barrier_wait(&bar);
    return (void *)((intptr_t)arg * 2);
}

static void *short_lived(void *arg) {
    return (void *)((intptr_t)arg + 1);
}

int main(int argc, char **argv) {
    int live_n = argc > 1 ? atoi(argv[1]) : 200;
    int cycles = argc > 2 ? atoi(argv[2]) : 2000;
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setstacksize(&a, 64 * 1024);
    pthread_barrier_init(&bar, NULL, live_n);

    pthread_t *th = calloc(live_n, sizeof *th);
    int ok = 1;
    for (int i = 0; i < live_n; i++) ok &= pthread_create(&th[i], &a, live, (void *)(intptr_t)(i + 1)) == 0;
    CHECK(ok, "created %d threads", live_n);
    pthread_mutex_lock(&m);
    while (checked_in < live_n) pthread_cond_wait(&arrived, &m);
    CHECK(checked_in == live_n && released == 0, "all %d threads alive and blocked at once", live_n);
    go = 1;
    pthread_cond_broadcast(&go_cv);
    pthread_mutex_unlock(&m);
    long sum = 0;
    for (int i = 0; i < live_n; i++) {
        void *r;
        ok &= pthread_join(th[i], &r) == 0;
        sum += (intptr_t)r;
    }
    long want = (long)live_n * (live_n + 1);
    CHECK(ok && sum == want && released == want / 2, "all released by one broadcast and joined, return values exact");

    ok = 1;
    long s2 = 0, w2 = 0;
    for (int c = 0; c < cycles; c += 4) {
        pthread_t t[4];
        int n = cycles - c < 4 ? cycles - c : 4;
        for (int k = 0; k < n; k++) ok &= pthread_create(&t[k], k & 1 ? &a : NULL, short_lived, (void *)(intptr_t)(c + k)) == 0;
        for (int k = 0; k < n; k++) {
            void *r;
            ok &= pthread_join(t[k], &r) == 0;
            s2 += (intptr_t)r;
            w2 += c + k + 1;
        }
    }
    CHECK(ok && s2 == w2, "%d create/join cycles, return values exact", cycles);
    return guest_done();
}
