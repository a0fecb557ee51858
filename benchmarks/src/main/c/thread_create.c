/* thread_create [N]: N times pthread_create + pthread_join of a thread that returns at once
 * (default 30,000): the cost of one create+join pair, thread stack reuse by glibc included. */
#include <stdint.h>
#include "bench.h"

static void *child(void *arg) { return (void *)((uintptr_t)arg + 1); }

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 30000;
    long sum = 0;
    double t0 = bench_now();
    for (long i = 0; i < n; i++) {
        pthread_t tid;
        void *ret;
        bench_check(pthread_create(&tid, NULL, child, (void *)(uintptr_t)i), "pthread_create");
        bench_check(pthread_join(tid, &ret), "pthread_join");
        sum += (uintptr_t)ret - i;
    }
    double s = bench_now() - t0;
    printf("thread_create: %ld create+join pairs, %ld returned correctly\n", n, sum);
    bench_report(s, s * 1e6 / n, "us/pair");
    return sum == n ? 0 : 1;
}
