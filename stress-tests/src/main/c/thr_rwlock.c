/* thr_rwlock: readers and writers on a pthread rwlock (readers always see a consistent table,
 * writers exclusive, readers really concurrent at least once), then barrier phases: in each
 * phase every thread fills its slot, waits on a barrier and checks all slots; exactly one thread
 * per phase gets PTHREAD_BARRIER_SERIAL_THREAD. */
#include "guest.h"
#include <pthread.h>
#include <stdint.h>
#include <sched.h>

#define NR 4
#define NW 2
#define TAB 64
#define NB 6

static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
static long table[TAB];
static long rounds;
static int inconsistent, writer_overlap;
static int readers_in, writers_in, max_readers;

static void *reader(void *arg) {
    for (long i = 0; i < rounds * 4; i++) {
        pthread_rwlock_rdlock(&rw);
        int r = __atomic_add_fetch(&readers_in, 1, __ATOMIC_SEQ_CST);
        int seen = __atomic_load_n(&max_readers, __ATOMIC_RELAXED);
        while (r > seen && !__atomic_compare_exchange_n(&max_readers, &seen, r, 0, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED)) {}
        if (__atomic_load_n(&writers_in, __ATOMIC_SEQ_CST)) writer_overlap = 1;
        long v = table[0];
        for (int k = 1; k < TAB; k++) if (table[k] != v + k) inconsistent = 1;
        if (r == 1 && i < 200) sched_yield(); /* give other readers a chance to join */
        __atomic_sub_fetch(&readers_in, 1, __ATOMIC_SEQ_CST);
        pthread_rwlock_unlock(&rw);
    }
    return NULL;
}

static void *writer(void *arg) {
    for (long i = 0; i < rounds; i++) {
        pthread_rwlock_wrlock(&rw);
        if (__atomic_add_fetch(&writers_in, 1, __ATOMIC_SEQ_CST) != 1 || __atomic_load_n(&readers_in, __ATOMIC_SEQ_CST))
            writer_overlap = 1;
        long v = table[0] + 1000;
        for (int k = 0; k < TAB; k++) table[k] = v + k;
        __atomic_sub_fetch(&writers_in, 1, __ATOMIC_SEQ_CST);
        pthread_rwlock_unlock(&rw);
    }
    return NULL;
}

static pthread_barrier_t bar;
static long slots[NB];
static int phases, phase_errors, serials;

static void *phased(void *arg) {
    long id = (intptr_t)arg;
    for (int ph = 0; ph < phases; ph++) {
        slots[id] = (long)ph * 100 + id;
        int r = pthread_barrier_wait(&bar);
        if (r == PTHREAD_BARRIER_SERIAL_THREAD) __atomic_add_fetch(&serials, 1, __ATOMIC_SEQ_CST);
        else if (r != 0) __atomic_add_fetch(&phase_errors, 1000, __ATOMIC_SEQ_CST);
        for (int k = 0; k < NB; k++)
            if (slots[k] != (long)ph * 100 + k) __atomic_add_fetch(&phase_errors, 1, __ATOMIC_SEQ_CST);
        r = pthread_barrier_wait(&bar); /* nobody overwrites a slot before everyone checked */
        if (r == PTHREAD_BARRIER_SERIAL_THREAD) __atomic_add_fetch(&serials, 1, __ATOMIC_SEQ_CST);
        else if (r != 0) __atomic_add_fetch(&phase_errors, 1000, __ATOMIC_SEQ_CST);
    }
    return NULL;
}

int main(int argc, char **argv) {
    rounds = argc > 1 ? atol(argv[1]) : 2000;
    phases = argc > 2 ? atoi(argv[2]) : 500;
    for (int k = 0; k < TAB; k++) table[k] = k;
    pthread_t th[NR + NW];
    for (int i = 0; i < NR; i++) pthread_create(&th[i], NULL, reader, NULL);
    for (int i = 0; i < NW; i++) pthread_create(&th[NR + i], NULL, writer, NULL);
    for (int i = 0; i < NR + NW; i++) pthread_join(th[i], NULL);
    CHECK(!inconsistent, "readers always see a consistent table");
    CHECK(!writer_overlap, "writers exclusive (no reader or other writer inside)");
    CHECK(table[0] == NW * rounds * 1000 && table[TAB - 1] == NW * rounds * 1000 + TAB - 1, "every write applied");
    CHECK(max_readers >= 1 && max_readers <= NR, "reader count within bounds");
    CHECK(pthread_rwlock_trywrlock(&rw) == 0, "trywrlock on a free lock");
    CHECK(pthread_rwlock_tryrdlock(&rw) == EBUSY, "tryrdlock while write-locked: EBUSY");
    CHECK(pthread_rwlock_unlock(&rw) == 0, "unlock");

    CHECK(pthread_barrier_init(&bar, NULL, NB) == 0, "barrier init for %d threads", NB);
    pthread_t bt[NB];
    for (int i = 0; i < NB; i++) pthread_create(&bt[i], NULL, phased, (void *)(intptr_t)i);
    for (int i = 0; i < NB; i++) pthread_join(bt[i], NULL);
    CHECK(phase_errors == 0, "every thread saw every slot of every phase");
    CHECK(serials == 2 * phases, "exactly one PTHREAD_BARRIER_SERIAL_THREAD per barrier round");
    CHECK(pthread_barrier_destroy(&bar) == 0, "barrier destroy");
    return guest_done();
}
