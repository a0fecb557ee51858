/* Shared by the thread workloads: a monotonic clock read inside the guest, and the one stderr
 * line that benchmarks/run.sh parses for the in-guest measurement (start-up excluded):
 *
 *   bench: seconds=S per_op=V unit=U
 *
 * S is the measured region in seconds, V the cost of one operation in unit U. stdout carries
 * only deterministic results, which run.sh compares with the native output. */
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

static inline void bench_check(int err, const char *what) {
    if (err) {
        fprintf(stderr, "%s failed: error %d\n", what, err);
        exit(2);
    }
}
#endif
