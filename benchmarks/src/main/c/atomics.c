/* atomics OP T [N]: T threads each do N atomic increments of one shared 64-bit word
 * (default N 100,000,000). OP add: __atomic_fetch_add (lock xadd); OP cas: a load +
 * __atomic_compare_exchange loop (lock cmpxchg; retries on contention). T=1 is the uncontended
 * cost, T=2 on 2 cores the contended one (the word's cache line bounces between cores).
 * The final count must be T*N: lost updates would show as wrong output.
 * Measured region: from a barrier that releases all threads to the last join;
 * per-op = region / (T*N), i.e. the aggregate throughput cost of one increment. */
#include "bench.h"
#include <string.h>

static long counter __attribute__((aligned(64)));
static long n;
static int use_cas;
static pthread_barrier_t start;

static void *work(void *arg) {
    (void)arg;
    pthread_barrier_wait(&start);
    if (use_cas) {
        for (long i = 0; i < n; i++) {
            long v = __atomic_load_n(&counter, __ATOMIC_RELAXED);
            while (!__atomic_compare_exchange_n(&counter, &v, v + 1, 0, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED)) {
            }
        }
    } else {
        for (long i = 0; i < n; i++) __atomic_fetch_add(&counter, 1, __ATOMIC_SEQ_CST);
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 3 || (strcmp(argv[1], "add") && strcmp(argv[1], "cas"))) {
        fprintf(stderr, "usage: atomics add|cas THREADS [N]\n");
        return 2;
    }
    use_cas = !strcmp(argv[1], "cas");
    int t = atoi(argv[2]);
    n = argc > 3 ? atol(argv[3]) : 100000000L;
    if (t < 1 || t > 64) return 2;
    pthread_t tids[64];
    bench_check(pthread_barrier_init(&start, NULL, t + 1), "pthread_barrier_init");
    for (int i = 0; i < t; i++) bench_check(pthread_create(&tids[i], NULL, work, NULL), "pthread_create");
    pthread_barrier_wait(&start);
    double t0 = bench_now();
    for (int i = 0; i < t; i++) bench_check(pthread_join(tids[i], NULL), "pthread_join");
    double s = bench_now() - t0;
    printf("atomics: %s, %d threads x %ld increments -> %ld (expected %ld)\n", argv[1], t, n, counter, t * n);
    bench_report(s, s * 1e9 / ((double)t * n), "ns/op");
    return counter == t * n ? 0 : 1;
}
