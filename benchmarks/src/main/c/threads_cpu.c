/* threads_cpu T [N]: T threads, each running N xorshift64 steps (default 600,000,000) from its
 * own seed: fixed work per thread, register-only, no sharing. On 2 cores, wall(T=2)/wall(T=1)
 * should be ~1 for a runner that executes threads in parallel and ~2 for one that serializes
 * them; T = 4, 8 show scaling past the core count (~2x, ~4x of T=1).
 * Measured region: from before the first pthread_create to after the last pthread_join. */
#include <stdint.h>
#include "bench.h"

struct slot {
    uint64_t seed, result;
    long n;
} __attribute__((aligned(64)));   /* one cache line each: no false sharing */

static void *work(void *arg) {
    struct slot *s = arg;
    uint64_t x = s->seed;
    for (long i = 0; i < s->n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    s->result = x;
    return NULL;
}

int main(int argc, char **argv) {
    int t = argc > 1 ? atoi(argv[1]) : 2;
    long n = argc > 2 ? atol(argv[2]) : 600000000L;
    if (t < 1 || t > 64) return 2;
    static struct slot slots[64];
    pthread_t tids[64];
    for (int i = 0; i < t; i++) slots[i] = (struct slot){.seed = 88172645463325252ULL + 7919u * i, .n = n};
    double t0 = bench_now();
    for (int i = 0; i < t; i++) bench_check(pthread_create(&tids[i], NULL, work, &slots[i]), "pthread_create");
    for (int i = 0; i < t; i++) bench_check(pthread_join(tids[i], NULL), "pthread_join");
    double s = bench_now() - t0;
    uint64_t all = 0;
    for (int i = 0; i < t; i++) all ^= slots[i].result;
    printf("threads_cpu: %d threads x %ld steps -> %016llx\n", t, n, (unsigned long long)all);
    bench_report(s, s * 1e9 / n, "ns/step");   /* per step of one thread (wall / N) */
    return 0;
}
