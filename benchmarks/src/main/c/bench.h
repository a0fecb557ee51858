/* Shared by the thread workloads: a monotonic clock read inside the guest, and the one stderr
 * line that benchmarks/run.sh parses for the in-guest measurement (start-up excluded):
 *
 *   bench: seconds=S per_op=V unit=U
 *
 * S is the measured region in seconds, V the cost of one operation in unit U. stdout carries
 * only deterministic results, which run.sh compares with the native output.
 *
 * Workloads that sample single operations also print their distribution on one stderr line,
 *
 *   dist: unit=U n=N q0 q0.5 q1 ... q100
 *
 * the 201 quantiles (every half percentile, nearest rank) of the N samples, in unit U; run.sh keeps
 * it for the latency plots (docs/img). */
#ifndef HERD_BENCH_H
#define HERD_BENCH_H
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static inline double bench_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static inline void bench_report(double seconds, double per_op, const char *unit) {
    fprintf(stderr, "bench: seconds=%.6f per_op=%.6g unit=%s\n", seconds, per_op, unit);
}

static int bench_cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Sorts v[0..n) in place and prints its dist: line, each sample multiplied by scale. */
static inline void bench_dist(double *v, long n, double scale, const char *unit) {
    if (n <= 0) return;
    qsort(v, n, sizeof *v, bench_cmp_double);
    fprintf(stderr, "dist: unit=%s n=%ld", unit, n);
    for (int q = 0; q <= 200; q++) {
        long i = (long)((double)q / 200 * (n - 1) + 0.5);
        fprintf(stderr, " %.6g", v[i] * scale);
    }
    fputc('\n', stderr);
}

static inline void bench_check(int err, const char *what) {
    if (err) {
        fprintf(stderr, "%s failed: error %d\n", what, err);
        exit(2);
    }
}
#endif
