/* thr_mutex: 8 threads increment a plain counter under a pthread mutex (exact total; mutual
 * exclusion checked inside the critical section), plus error-checking and recursive mutexes. */
#include "guest.h"
#include <pthread.h>
#include <stdint.h>

#define NT 8

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static long counter;
static int inside, violations;
static long iters;
static pthread_mutex_t rec;
static long rec_counter;

static void *work(void *arg) {
    for (long i = 0; i < iters; i++) {
        pthread_mutex_lock(&lock);
        if (inside++ != 0) violations++;
        counter++;
        inside--;
        pthread_mutex_unlock(&lock);
        if ((i & 63) == 0) {
            pthread_mutex_lock(&rec);
            pthread_mutex_lock(&rec);
            rec_counter++;
            pthread_mutex_unlock(&rec);
            pthread_mutex_unlock(&rec);
        }
    }
    return NULL;
}

static pthread_mutex_t ec;
static void *unlock_foreign(void *arg) {
    return (void *)(intptr_t)pthread_mutex_unlock(&ec);
}

int main(int argc, char **argv) {
    iters = argc > 1 ? atol(argv[1]) : 20000;
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
    CHECK(pthread_mutex_init(&rec, &a) == 0, "recursive mutex init");

    pthread_t th[NT];
    int ok = 1;
    for (int i = 0; i < NT; i++) ok &= pthread_create(&th[i], NULL, work, NULL) == 0;
    for (int i = 0; i < NT; i++) ok &= pthread_join(th[i], NULL) == 0;
    CHECK(ok, "%d threads created and joined", NT);
    CHECK(counter == NT * iters, "counter exact (%d x iterations)", NT);
    if (counter != NT * iters) printf("counter %ld want %ld\n", counter, NT * iters);
    CHECK(violations == 0, "never two threads inside the critical section");
    CHECK(rec_counter == NT * ((iters + 63) / 64), "recursive mutex counter exact");

    pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ERRORCHECK);
    CHECK(pthread_mutex_init(&ec, &a) == 0, "error-checking mutex init");
    CHECK(pthread_mutex_lock(&ec) == 0, "error-checking lock");
    CHECK(pthread_mutex_lock(&ec) == EDEADLK, "relock by owner: EDEADLK");
    CHECK(pthread_mutex_trylock(&ec) == EBUSY, "trylock while held: EBUSY");
    pthread_t t;
    void *r;
    pthread_create(&t, NULL, unlock_foreign, NULL);
    pthread_join(t, &r);
    CHECK((intptr_t)r == EPERM, "unlock by another thread: EPERM");
    CHECK(pthread_mutex_unlock(&ec) == 0, "unlock by owner");
    CHECK(pthread_mutex_unlock(&ec) == EPERM, "unlock of an unlocked error-checking mutex: EPERM");
    return guest_done();
}
