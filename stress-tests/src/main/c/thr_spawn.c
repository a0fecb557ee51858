/* thr_spawn: several threads spawn children at once (posix_spawn, whose vfork child runs on the
 * spawning thread) and each waits for its own; the others keep running. Every child's status
 * arrives at the thread that spawned it; waitpid(-1) finds none left. Prints only invariants. */
#include "guest.h"
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;
#define THREADS 4
#define ROUNDS 4
static int good[THREADS];

static void *spawner(void *arg) {
    int id = (int)(intptr_t)arg;
    for (int i = 0; i < ROUNDS; i++) {
        char code[8];
        snprintf(code, sizeof code, "exit %d", id * 10 + i);
        char *argv[] = {"sh", "-c", code, NULL};
        pid_t pid;
        if (posix_spawn(&pid, "/bin/sh", NULL, NULL, argv, environ) != 0) continue;
        int st = -1;
        pid_t w;
        do w = waitpid(pid, &st, 0); while (w < 0 && errno == EINTR);
        if (w == pid && WIFEXITED(st) && WEXITSTATUS(st) == id * 10 + i) good[id]++;
    }
    return NULL;
}

static volatile int spinning = 1;
static volatile long spins;
static void *spinner(void *arg) {
    (void)arg;
    while (spinning) spins++;
    return NULL;
}

static void on_chld(int sig) { (void)sig; }

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    struct sigaction sa = {.sa_handler = on_chld, .sa_flags = SA_RESTART};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGCHLD, &sa, NULL);
    pthread_t s, t[THREADS];
    pthread_create(&s, NULL, spinner, NULL);
    for (int i = 0; i < THREADS; i++) pthread_create(&t[i], NULL, spawner, (void *)(intptr_t)i);
    for (int i = 0; i < THREADS; i++) pthread_join(t[i], NULL);
    spinning = 0;
    pthread_join(s, NULL);
    int all = 1;
    for (int i = 0; i < THREADS; i++) all &= good[i] == ROUNDS;
    CHECK(all, "%d threads x %d spawns: each status reached its own thread", THREADS, ROUNDS);
    CHECK(spins > 0, "another thread ran meanwhile");
    errno = 0;
    CHECK(waitpid(-1, NULL, WNOHANG) == -1 && errno == ECHILD, "none left: ECHILD");
    return guest_done();
}
