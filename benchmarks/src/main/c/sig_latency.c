/* sig_latency MODE [N]: latency from pthread_kill to the handler running in the target thread,
 * N signals (default 20,000), one at a time. MODE running: the target spins in user code;
 * MODE blocked: the target sleeps in sigsuspend. The sender timestamps just before pthread_kill;
 * the handler timestamps on entry; per_op is the mean of the differences (µs), so the sender's
 * own wait for the handler is not counted. Each signal's latency is also kept and their
 * distribution printed (bench.h's dist: line, µs). */
#include "bench.h"
#include <signal.h>
#include <string.h>
#include <stdatomic.h>

static atomic_long handled;
static double sent_at, total, *samples;
static volatile int stop;
static int blocked_mode;
static long sample_cap;

static void handler(int sig) {
    (void)sig;
    double d = bench_now() - sent_at;
    total += d;
    long k = atomic_load(&handled);
    if (samples && k < sample_cap) samples[k] = d;
    atomic_fetch_add(&handled, 1);
}

static void *target(void *arg) {
    (void)arg;
    sigset_t none;
    sigemptyset(&none);
    if (blocked_mode) {
        while (!stop) sigsuspend(&none);
    } else {
        sigset_t s;
        sigemptyset(&s);
        sigaddset(&s, SIGUSR1);
        pthread_sigmask(SIG_UNBLOCK, &s, NULL);
        volatile unsigned long spin = 0;
        while (!stop) spin++;
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 2 || (strcmp(argv[1], "running") && strcmp(argv[1], "blocked"))) {
        fprintf(stderr, "usage: sig_latency running|blocked [N]\n");
        return 2;
    }
    blocked_mode = !strcmp(argv[1], "blocked");
    long n = argc > 2 ? atol(argv[2]) : 20000;
    samples = malloc((n > 0 ? n : 1) * sizeof *samples);
    sample_cap = samples ? n : 0;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sigaction(SIGUSR1, &sa, NULL);
    /* only the target takes SIGUSR1: the sender blocks it */
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &s, NULL);
    pthread_t tid;
    bench_check(pthread_create(&tid, NULL, target, NULL), "pthread_create");
    struct timespec settle = {0, 20000000};
    nanosleep(&settle, NULL);
    double t0 = bench_now();
    for (long i = 0; i < n; i++) {
        sent_at = bench_now();
        pthread_kill(tid, SIGUSR1);
        while (atomic_load(&handled) == i) {}
    }
    double s_total = bench_now() - t0;
    stop = 1;
    pthread_kill(tid, SIGUSR1);
    bench_check(pthread_join(tid, NULL), "pthread_join");
    printf("sig_latency %s: %ld signals handled\n", argv[1], n);
    bench_report(s_total, total * 1e6 / n, "us/signal");
    bench_dist(samples, n < sample_cap ? n : sample_cap, 1e6, "us/signal");
    return atomic_load(&handled) >= n ? 0 : 1;
}
