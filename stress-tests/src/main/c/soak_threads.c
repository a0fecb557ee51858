/* soak_threads [WARMUP] [TOTAL] [BATCH]: creates and joins TOTAL threads in batches of BATCH
 * (default 10000 in batches of 50) after a warm-up of WARMUP (default 1000). See soak.h. */
#include <pthread.h>
#include "soak.h"

static void *work(void *arg) {
    volatile long x = (long) arg;
    for (int i = 0; i < 100; i++) x += i;
    return (void *) x;
}

static long churn(long total, long batch) {
    pthread_t t[256];
    long done = 0;
    if (batch > 256) batch = 256;
    while (done < total) {
        long n = total - done < batch ? total - done : batch;
        for (long i = 0; i < n; i++)
            if (pthread_create(&t[i], NULL, work, (void *) i) != 0) { perror("pthread_create"); exit(1); }
        for (long i = 0; i < n; i++) pthread_join(t[i], NULL);
        done += n;
    }
    return done;
}

int main(int argc, char **argv) {
    long warm = soak_arg(argc, argv, 1, 1000), total = soak_arg(argc, argv, 2, 10000), batch = soak_arg(argc, argv, 3, 50);
    churn(warm, batch);
    soak_pause("READY");
    printf("threads created and joined: %ld\n", churn(total, batch));
    soak_pause("DONE");
    return 0;
}
