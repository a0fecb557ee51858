/* The floor under any proxy transport that lets its server sleep when idle, on this machine: two C
 * processes (no Java, no Herd) passing a getppid request and its reply through one futex word each
 * way in shared memory, as the kernel proxy's cells do. Prints Markdown table rows in
 * benchmarks/proxy.sh's format (getppid columns only):
 *   - getppid in this process, hot and after a pause (the in-process reference);
 *   - the round trip through the other process, hot (both sides spin, no futex call) and cold
 *     (a pause before each call, so that the server has parked: one wake-up each way).
 * In the cold regime the requester parks at once after its wake-up, the best policy measured here
 * (spinning first keeps the server off the waker's CPU and costs 2x).
 *
 *   futex_floor [HOT_CALLS [COLD_CALLS [PAUSE_US]]]
 */
#define _GNU_SOURCE
#include <linux/futex.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

struct cell {
    _Alignas(64) atomic_int request;  /* 0 idle, 1 call, -1 quit */
    _Alignas(64) atomic_int reply;    /* 0 none, 1 done */
    _Alignas(64) atomic_int server_spins; /* how long the server spins before it parks */
    long result;
};

static void wait_on(atomic_int *w, int idle) { syscall(SYS_futex, w, FUTEX_WAIT, idle, NULL, NULL, 0); }
static void wake(atomic_int *w) { syscall(SYS_futex, w, FUTEX_WAKE, 1, NULL, NULL, 0); }

static long nanos(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000L + t.tv_nsec;
}

static int by_value(const void *a, const void *b) {
    long x = *(const long *) a, y = *(const long *) b;
    return x < y ? -1 : x > y;
}

static void server(struct cell *c) {
    for (;;) {
        int v;
        for (long k = 0; (v = atomic_load(&c->request)) == 0; k++) {
            if (k >= atomic_load(&c->server_spins)) wait_on(&c->request, 0);
        }
        if (v < 0) _exit(0);
        atomic_store(&c->request, 0);
        c->result = syscall(SYS_getppid);
        atomic_store(&c->reply, 1);
        wake(&c->reply);
    }
}

/* One forwarded getppid; the requester spins `spins` rounds for the reply, then parks. */
static long forwarded(struct cell *c, long spins) {
    atomic_store(&c->request, 1);
    wake(&c->request);
    for (long k = 0; atomic_load(&c->reply) == 0; k++) {
        if (k >= spins) wait_on(&c->reply, 0);
    }
    atomic_store(&c->reply, 0);
    return c->result;
}

static void report(const char *what, long *hot, int nh, long *cold, int nc) {
    qsort(hot, nh, sizeof *hot, by_value);
    qsort(cold, nc, sizeof *cold, by_value);
    printf("| %s | %.2f / %.2f µs | %.2f / %.2f µs | — | — |\n", what, hot[nh / 2] / 1000.0,
           hot[(int) (nh * 0.99)] / 1000.0, cold[nc / 2] / 1000.0, cold[(int) (nc * 0.99)] / 1000.0);
}

int main(int argc, char **argv) {
    int nh = argc > 1 ? atoi(argv[1]) : 200000, nc = argc > 2 ? atoi(argv[2]) : 2000;
    long pause_us = argc > 3 ? atol(argv[3]) : 2000;
    struct timespec pause = {pause_us / 1000000, pause_us % 1000000 * 1000};
    long *hot = malloc(nh * sizeof *hot), *cold = malloc(nc * sizeof *cold);
    struct cell *c = mmap(NULL, sizeof *c, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (!hot || !cold || c == MAP_FAILED) return 1;

    for (int i = 0; i < nh; i++) { long t = nanos(); syscall(SYS_getppid); hot[i] = nanos() - t; }
    for (int i = 0; i < nc; i++) { nanosleep(&pause, NULL); long t = nanos(); syscall(SYS_getppid); cold[i] = nanos() - t; }
    report("C, in this process (reference)", hot, nh, cold, nc);

    atomic_store(&c->server_spins, 1L << 30);
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        server(c);
    }
    long spin = 1L << 30;
    for (int i = 0; i < nh; i++) forwarded(c, spin);
    for (int i = 0; i < nh; i++) { long t = nanos(); forwarded(c, spin); hot[i] = nanos() - t; }
    atomic_store(&c->server_spins, 0);
    forwarded(c, spin); /* the server sees its new policy */
    for (int i = 0; i < nc; i++) {
        nanosleep(&pause, NULL);
        long t = nanos();
        forwarded(c, 0);
        cold[i] = nanos() - t;
    }
    atomic_store(&c->request, -1);
    wake(&c->request);
    waitpid(pid, NULL, 0);
    report("C, two processes, one futex word each way (floor, no Java)", hot, nh, cold, nc);
    return 0;
}
