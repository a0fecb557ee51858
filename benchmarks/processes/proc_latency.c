/* proc_latency MODE ROUNDS PAUSE_MS: the latency of making a process, measured inside the guest.
 *   fork       fork, the child _exits, waitpid
 *   forkexec   fork, the child execs /bin/true, waitpid
 *   vfork      vfork, the child execs /bin/true, waitpid
 *   spawn      posix_spawn of /bin/true, waitpid
 * PAUSE_MS between rounds (outside the measurement: a warm spare has time to boot). Prints
 * "MODE: median M ms, min A ms, max B ms (N rounds)". */
#define _GNU_SOURCE
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *) a, y = *(const double *) b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: proc_latency fork|forkexec|vfork|spawn ROUNDS PAUSE_MS\n");
        return 2;
    }
    const char *mode = argv[1];
    int n = atoi(argv[2]), pause_ms = atoi(argv[3]);
    char *true_argv[] = {"true", NULL};
    double *t = calloc(n, sizeof *t);
    for (int i = 0; i < n; i++) {
        if (pause_ms > 0) usleep(pause_ms * 1000);
        double t0 = now();
        pid_t p;
        if (strcmp(mode, "fork") == 0) {
            p = fork();
            if (p == 0) _exit(0);
        } else if (strcmp(mode, "forkexec") == 0) {
            p = fork();
            if (p == 0) {
                execv("/bin/true", true_argv);
                _exit(127);
            }
        } else if (strcmp(mode, "vfork") == 0) {
            p = vfork();
            if (p == 0) {
                execv("/bin/true", true_argv);
                _exit(127);
            }
        } else if (strcmp(mode, "spawn") == 0) {
            if (posix_spawn(&p, "/bin/true", NULL, NULL, true_argv, environ) != 0) p = -1;
        } else {
            return 2;
        }
        int st;
        if (p < 0 || waitpid(p, &st, 0) != p || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            fprintf(stderr, "proc_latency: round %d failed\n", i);
            return 1;
        }
        t[i] = now() - t0;
    }
    qsort(t, n, sizeof *t, cmp);
    printf("%s: median %.1f ms, min %.1f ms, max %.1f ms (%d rounds)\n", mode, t[n / 2] * 1e3, t[0] * 1e3, t[n - 1] * 1e3, n);
    return 0;
}
