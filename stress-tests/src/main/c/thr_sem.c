/* thr_sem: POSIX semaphores between threads: trywait on zero (EAGAIN), timedwait with a short
 * timeout (ETIMEDOUT after at least the timeout), timedwait satisfied by another thread's post, a
 * ping-pong between two threads, and a counting semaphore bounding how many threads are inside. */
#include "guest.h"
#include <pthread.h>
#include <semaphore.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

static long rounds;
static sem_t ping, pong, pool, gate, late;
static int inside, max_inside;
static long pool_total;

static long elapsed_ms(const struct timespec *a, const struct timespec *b) {
    return (b->tv_sec - a->tv_sec) * 1000 + (b->tv_nsec - a->tv_nsec) / 1000000;
}

static struct timespec in_ms(long ms) {
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    t.tv_nsec += ms * 1000000;
    t.tv_sec += t.tv_nsec / 1000000000;
    t.tv_nsec %= 1000000000;
    return t;
}

static void *ponger(void *arg) {
    long got = 0;
    for (long i = 0; i < rounds; i++) {
        sem_wait(&ping);
        got++;
        sem_post(&pong);
    }
    return (void *)got;
}

static void *pooled(void *arg) {
    sem_wait(&gate);
    for (long i = 0; i < rounds / 4; i++) {
        sem_wait(&pool);
        int n = __atomic_add_fetch(&inside, 1, __ATOMIC_SEQ_CST);
        int m = __atomic_load_n(&max_inside, __ATOMIC_RELAXED);
        while (n > m && !__atomic_compare_exchange_n(&max_inside, &m, n, 0, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED)) {}
        __atomic_add_fetch(&pool_total, 1, __ATOMIC_SEQ_CST);
        __atomic_sub_fetch(&inside, 1, __ATOMIC_SEQ_CST);
        sem_post(&pool);
    }
    return NULL;
}

static void *late_poster(void *arg) {
    usleep(20000);
    sem_post(&late);
    return NULL;
}

int main(int argc, char **argv) {
    rounds = argc > 1 ? atol(argv[1]) : 5000;
    sem_t s;
    CHECK(sem_init(&s, 0, 0) == 0, "sem_init 0");
    errno = 0;
    CHECK(sem_trywait(&s) == -1 && errno == EAGAIN, "sem_trywait on zero: EAGAIN");
    /* t0 before the deadline is computed: the deadline is absolute, so t0 -> t1 spans >= 50 ms */
    struct timespec t0, t1;
    clock_gettime(CLOCK_REALTIME, &t0);
    struct timespec dl = in_ms(50);
    errno = 0;
    int r = sem_timedwait(&s, &dl);
    int e = errno;
    clock_gettime(CLOCK_REALTIME, &t1);
    errno = e;
    CHECK(r == -1 && e == ETIMEDOUT, "sem_timedwait 50 ms on zero: ETIMEDOUT");
    long ms = elapsed_ms(&t0, &t1);
    CHECK(ms >= 49 && ms < 10000, "sem_timedwait waited about the timeout");
    if (!(ms >= 49 && ms < 10000)) printf("waited %ld ms\n", ms);
    struct timespec past = {1, 0};
    errno = 0;
    CHECK(sem_timedwait(&s, &past) == -1 && errno == ETIMEDOUT, "sem_timedwait with a past deadline: ETIMEDOUT");
    struct timespec bad = {0, 2000000000L};
    errno = 0;
    CHECK(sem_timedwait(&s, &bad) == -1 && errno == EINVAL, "sem_timedwait with tv_nsec out of range: EINVAL");
    CHECK(sem_post(&s) == 0 && sem_post(&s) == 0, "two posts");
    int v = -1;
    CHECK(sem_getvalue(&s, &v) == 0 && v == 2, "sem_getvalue 2");
    CHECK(sem_trywait(&s) == 0, "sem_trywait on 2");
    dl = in_ms(50);
    CHECK(sem_timedwait(&s, &dl) == 0, "sem_timedwait on 1 succeeds at once");
    CHECK(sem_getvalue(&s, &v) == 0 && v == 0, "sem_getvalue 0");

    /* A timed wait satisfied by another thread before its deadline. */
    sem_init(&late, 0, 0);
    pthread_t lp;
    pthread_create(&lp, NULL, late_poster, NULL);
    dl = in_ms(10000);
    CHECK(sem_timedwait(&late, &dl) == 0, "sem_timedwait woken by another thread's post");
    pthread_join(lp, NULL);

    /* Ping-pong. */
    sem_init(&ping, 0, 0);
    sem_init(&pong, 0, 0);
    pthread_t pt;
    pthread_create(&pt, NULL, ponger, NULL);
    long back = 0;
    for (long i = 0; i < rounds; i++) {
        sem_post(&ping);
        sem_wait(&pong);
        back++;
    }
    void *got;
    pthread_join(pt, &got);
    CHECK((long)got == rounds && back == rounds, "ping-pong rounds exact");

    /* A counting semaphore with 3 permits shared by 8 threads released together. */
    sem_init(&pool, 0, 3);
    sem_init(&gate, 0, 0);
    pthread_t th[8];
    for (int i = 0; i < 8; i++) pthread_create(&th[i], NULL, pooled, NULL);
    for (int i = 0; i < 8; i++) sem_post(&gate);
    for (int i = 0; i < 8; i++) pthread_join(th[i], NULL);
    CHECK(pool_total == 8 * (rounds / 4), "pool entries exact");
    CHECK(max_inside >= 1 && max_inside <= 3, "at most 3 threads inside the counting semaphore");
    CHECK(sem_getvalue(&pool, &v) == 0 && v == 3, "all permits returned");
    CHECK(sem_destroy(&s) == 0, "sem_destroy");
    return guest_done();
}
