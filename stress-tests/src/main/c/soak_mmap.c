/* soak_mmap [WARMUP] [ROUNDS] [THREADS]: THREADS (default 4) threads each map 1-16 anonymous
 * pages, write them, mprotect them read-only and back, unmap them, ROUNDS times (default 5000,
 * after WARMUP 200 rounds), concurrently. Checks the bytes read back. See soak.h. */
#include <pthread.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include "soak.h"

static long rounds;
static atomic_int_fast32_t failures;

static void *churn(void *arg) {
    unsigned seed = (unsigned) (long) arg * 2654435761u + 1;
    for (long r = 0; r < rounds; r++) {
        seed = seed * 1103515245u + 12345u;
        size_t pages = 1 + (seed >> 16) % 16, len = pages * 4096;
        unsigned char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) { failures++; continue; }
        for (size_t i = 0; i < len; i += 4096) p[i] = (unsigned char) (r + i);
        if (mprotect(p, len, PROT_READ) != 0) failures++;
        for (size_t i = 0; i < len; i += 4096) if (p[i] != (unsigned char) (r + i)) failures++;
        if (mprotect(p, len, PROT_READ | PROT_WRITE) != 0) failures++;
        p[len - 1] = 1;
        if (munmap(p, len) != 0) failures++;
    }
    return NULL;
}

static void run(long n, int nt) {
    pthread_t t[64];
    rounds = n;
    for (long i = 0; i < nt; i++) pthread_create(&t[i], NULL, churn, (void *) i);
    for (int i = 0; i < nt; i++) pthread_join(t[i], NULL);
}

int main(int argc, char **argv) {
    long warm = soak_arg(argc, argv, 1, 200), total = soak_arg(argc, argv, 2, 5000);
    int nt = (int) soak_arg(argc, argv, 3, 4);
    if (nt < 1 || nt > 64) nt = 4;
    run(warm, nt);
    soak_pause("READY");
    run(total, nt);
    printf("map/protect/unmap rounds: %ld x %d threads, failures: %d\n", total, nt, (int) failures);
    soak_pause("DONE");
    return failures == 0 ? 0 : 1;
}
