/* thr_detach: detached threads (pthread_detach of a running thread, and created with
 * PTHREAD_CREATE_DETACHED) signal completion through a semaphore and a counter; main waits
 * without joining, several rounds (so glibc reuses the stacks of exited detached threads). */
#include "guest.h"
#include <pthread.h>
#include <semaphore.h>
#include <stdint.h>

static sem_t done;
static long total;
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int finished;

static void *self_detaching(void *arg) {
    int r = pthread_detach(pthread_self());
    __atomic_add_fetch(&total, r == 0 ? (intptr_t)arg : 1000000, __ATOMIC_SEQ_CST);
    sem_post(&done);
    return NULL;
}

static void *born_detached(void *arg) {
    pthread_attr_t a;
    int st = -1;
    pthread_getattr_np(pthread_self(), &a);
    pthread_attr_getdetachstate(&a, &st);
    pthread_attr_destroy(&a);
    __atomic_add_fetch(&total, st == PTHREAD_CREATE_DETACHED ? (intptr_t)arg : 1000000, __ATOMIC_SEQ_CST);
    pthread_mutex_lock(&m);
    finished++;
    pthread_cond_signal(&cv);
    pthread_mutex_unlock(&m);
    return NULL;
}

int main(int argc, char **argv) {
    int rounds = argc > 1 ? atoi(argv[1]) : 5, per = 20;
    sem_init(&done, 0, 0);
    pthread_attr_t a;
    pthread_attr_init(&a);
    CHECK(pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED) == 0, "setdetachstate DETACHED");
    int ok = 1;
    long want = 0;
    for (int r = 0; r < rounds; r++) {
        for (int i = 1; i <= per; i++) {
            pthread_t t;
            ok &= pthread_create(&t, NULL, self_detaching, (void *)(intptr_t)i) == 0;
            ok &= pthread_create(&t, &a, born_detached, (void *)(intptr_t)(i * 100)) == 0;
            want += i + i * 100;
        }
        for (int i = 0; i < per; i++) sem_wait(&done);
        pthread_mutex_lock(&m);
        while (finished < (r + 1) * per) pthread_cond_wait(&cv, &m);
        pthread_mutex_unlock(&m);
    }
    CHECK(ok, "all detached threads created");
    CHECK(__atomic_load_n(&total, __ATOMIC_SEQ_CST) == want, "every detached thread ran once, detached");
    CHECK(finished == rounds * per, "completion counter exact");
    return guest_done();
}
