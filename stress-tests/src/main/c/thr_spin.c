/* thr_spin: hand-made spinlocks protecting plain (non-atomic) counters, 4 threads, exact totals:
 * a test-and-set lock (__atomic_exchange_n), a compare-and-swap lock
 * (__atomic_compare_exchange_n), a ticket lock (__atomic_fetch_add), and glibc's pthread_spin_lock.
 * The test-and-set and compare-and-swap waiters spin in pure computation (pause only, no syscalls);
 * a ticket waiter yields the CPU after a while (the next ticket's owner may not be running). */
#include "guest.h"
#include <pthread.h>
#include <sched.h>
#include <stdint.h>

#define NT 4

static long iters;
static int tas_lock, cas_lock;
static unsigned ticket_next, ticket_serving;
static pthread_spinlock_t pspin;
static long tas_counter, cas_counter, ticket_counter, pspin_counter;
static int inside, violations;

static inline void enter(void) { if (inside++ != 0) violations++; }
static inline void leave(void) { inside--; }

static void *work(void *arg) {
    for (long i = 0; i < iters; i++) {
        while (__atomic_exchange_n(&tas_lock, 1, __ATOMIC_ACQUIRE))
            while (__atomic_load_n(&tas_lock, __ATOMIC_RELAXED)) __builtin_ia32_pause();
        enter();
        tas_counter++;
        leave();
        __atomic_store_n(&tas_lock, 0, __ATOMIC_RELEASE);

        int expected = 0;
        while (!__atomic_compare_exchange_n(&cas_lock, &expected, 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
            expected = 0;
            __builtin_ia32_pause();
        }
        enter();
        cas_counter += 3;
        leave();
        __atomic_store_n(&cas_lock, 0, __ATOMIC_RELEASE);

        unsigned t = __atomic_fetch_add(&ticket_next, 1, __ATOMIC_RELAXED);
        for (int spins = 0; __atomic_load_n(&ticket_serving, __ATOMIC_ACQUIRE) != t; spins++) {
            __builtin_ia32_pause();
            if (spins > 100) sched_yield();
        }
        enter();
        ticket_counter += 5;
        leave();
        __atomic_store_n(&ticket_serving, t + 1, __ATOMIC_RELEASE);

        pthread_spin_lock(&pspin);
        enter();
        pspin_counter += 7;
        leave();
        pthread_spin_unlock(&pspin);
    }
    return NULL;
}

int main(int argc, char **argv) {
    iters = argc > 1 ? atol(argv[1]) : 5000;
    pthread_spin_init(&pspin, PTHREAD_PROCESS_PRIVATE);
    pthread_t th[NT];
    for (int i = 0; i < NT; i++) pthread_create(&th[i], NULL, work, NULL);
    for (int i = 0; i < NT; i++) pthread_join(th[i], NULL);
    CHECK(tas_counter == NT * iters, "test-and-set lock: counter exact");
    CHECK(cas_counter == 3 * NT * iters, "compare-and-swap lock: counter exact");
    CHECK(ticket_counter == 5 * NT * iters, "ticket lock: counter exact");
    CHECK(pspin_counter == 7 * NT * iters, "pthread_spin_lock: counter exact");
    CHECK(violations == 0, "never two threads inside a critical section");
    if (violations || tas_counter != NT * iters)
        printf("tas %ld cas %ld ticket %ld pspin %ld violations %d\n", tas_counter, cas_counter, ticket_counter, pspin_counter, violations);
    CHECK(ticket_next == ticket_serving && ticket_next == (unsigned)(NT * iters), "tickets all served");
    return guest_done();
}
