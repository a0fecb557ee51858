/* condvar_pingpong [N]: two threads hand a turn back and forth N times (default 30,000) through
 * one mutex and two condition variables: each round trip is two futex wake-ups and two sleeps.
 * Each round trip is also timed (one clock read per round trip) and their distribution printed
 * (bench.h's dist: line, µs). */
#include "bench.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t to_pong = PTHREAD_COND_INITIALIZER, to_ping = PTHREAD_COND_INITIALIZER;
static int turn;   /* 0: ping's turn, 1: pong's turn, 2: stop */
static long pongs;

static void *pong(void *arg) {
    (void)arg;
    pthread_mutex_lock(&mu);
    for (;;) {
        while (turn == 0) pthread_cond_wait(&to_pong, &mu);
        if (turn == 2) break;
        pongs++;
        turn = 0;
        pthread_cond_signal(&to_ping);
    }
    pthread_mutex_unlock(&mu);
    return NULL;
}

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 30000;
    pthread_t tid;
    bench_check(pthread_create(&tid, NULL, pong, NULL), "pthread_create");
    double *samples = malloc((n > 0 ? n : 1) * sizeof *samples);
    if (!samples) return 2;
    double t0 = bench_now(), prev = t0;
    pthread_mutex_lock(&mu);
    for (long i = 0; i < n; i++) {
        turn = 1;
        pthread_cond_signal(&to_pong);
        while (turn == 1) pthread_cond_wait(&to_ping, &mu);
        double now = bench_now();
        samples[i] = now - prev;
        prev = now;
    }
    turn = 2;
    pthread_cond_signal(&to_pong);
    pthread_mutex_unlock(&mu);
    double s = bench_now() - t0;
    bench_check(pthread_join(tid, NULL), "pthread_join");
    printf("condvar_pingpong: %ld round trips, %ld pongs\n", n, pongs);
    bench_report(s, s * 1e6 / n, "us/round-trip");
    bench_dist(samples, n, 1e6, "us/round-trip");
    return pongs == n ? 0 : 1;
}
