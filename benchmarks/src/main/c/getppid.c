/* getppid [N]: N raw getppid system calls (default 1,000,000): the syscall round trip.
 * Also samples the loop in batches of 100 calls (one clock read per batch, so the clock costs
 * about 1% of a call) and prints the distribution of the per-call cost of each batch (ns) on
 * stderr (bench.h's dist: line); stdout is unchanged. */
#include "bench.h"
#include <sys/syscall.h>
#include <unistd.h>

#define BATCH 100

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 1000000;
    long sum = 0, batches = n / BATCH, b = 0;
    double *samples = malloc((batches > 0 ? batches : 1) * sizeof *samples);
    if (!samples) return 2;
    double prev = bench_now();
    for (long i = 0; i < n; i++) {
        sum += syscall(SYS_getppid) > 0;
        if ((i + 1) % BATCH == 0 && b < batches) {
            double now = bench_now();
            samples[b++] = now - prev;
            prev = now;
        }
    }
    printf("getppid: %ld calls, %ld positive\n", n, sum);
    bench_dist(samples, b, 1e9 / BATCH, "ns/call");
    return sum == n ? 0 : 1;
}
