/* thr_create: create n threads at once and join them, for n = 1..16 and then 24, 32, ..., 64
 * (argv[1] "all": every n from 1 to 64); every thread returns a value derived from its argument
 * (sum checked), runs on its own kernel thread (distinct tids) and its own stack. */
#include "guest.h"
#include <pthread.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAXT 64

static pid_t tids[MAXT];
static uintptr_t stacks[MAXT];

static void *work(void *arg) {
    uintptr_t i = (uintptr_t)arg;
    volatile uint64_t s = 0;
    for (uint64_t k = 0; k < 2000; k++) s += (i * k) % 7;
    tids[i] = (pid_t)syscall(SYS_gettid);
    int local;
    stacks[i] = (uintptr_t)&local;
    return (void *)(i * i + 1 + (uintptr_t)s * 0);
}

int main(int argc, char **argv) {
    int all = argc > 1 && strcmp(argv[1], "all") == 0;
    pid_t me = (pid_t)syscall(SYS_gettid);
    int all_sums = 1, all_tids = 1, all_stacks = 1, all_create = 1;
    {
        for (int n = 1; n <= MAXT; n += (all || n < 16) ? 1 : 8) {
            pthread_t th[MAXT];
            memset(tids, 0, sizeof tids);
            for (int i = 0; i < n; i++) all_create &= pthread_create(&th[i], NULL, work, (void *)(uintptr_t)i) == 0;
            uint64_t sum = 0, want = 0;
            for (int i = 0; i < n; i++) {
                void *ret;
                all_create &= pthread_join(th[i], &ret) == 0;
                sum += (uintptr_t)ret;
                want += (uint64_t)i * i + 1;
            }
            if (sum != want) { all_sums = 0; printf("n=%d sum %lu want %lu\n", n, (unsigned long)sum, (unsigned long)want); }
            for (int i = 0; i < n; i++) {
                if (tids[i] <= 0 || tids[i] == me) all_tids = 0;
                for (int j = 0; j < i; j++) {
                    if (tids[i] == tids[j]) all_tids = 0;
                    uintptr_t d = stacks[i] > stacks[j] ? stacks[i] - stacks[j] : stacks[j] - stacks[i];
                    if (d < 4096) all_stacks = 0;
                }
            }
        }
    }
    CHECK(all_create, "pthread_create/pthread_join of 1..%d threads at once succeed", MAXT);
    CHECK(all_sums, "sum of return values exact for every n");
    CHECK(all_tids, "threads alive at once have distinct tids, none the main tid");
    CHECK(all_stacks, "threads alive at once have distinct stacks");
    return guest_done();
}
