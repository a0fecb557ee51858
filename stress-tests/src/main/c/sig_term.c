/* sig_term: a secondary thread sends SIGTERM (no handler) to the process while main computes, a
 * thread sleeps and another waits in read: the process dies by SIGTERM (status 143) at once.
 * argv[1]: "kill" (kill(getpid())) or "thread" (pthread_kill of the blocked reader). */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int pfd[2];
static volatile int ready;
static volatile uint64_t sink;
static pthread_t reader_t;

static void *reader(void *arg) {
    char c;
    ready++;
    if (read(pfd[0], &c, 1) >= 0) printf("FAIL: read returned\n");
    return NULL;
}

static void *sleeper(void *arg) {
    ready++;
    struct timespec ts = {3600, 0};
    nanosleep(&ts, NULL);
    printf("FAIL: sleeper woke\n");
    return NULL;
}

static void *killer(void *arg) {
    while (ready < 2) sched_yield();
    struct timespec ts = {0, 50000000};
    nanosleep(&ts, NULL);
    printf("sending SIGTERM\n");
    fflush(stdout);
    if (strcmp(arg, "thread") == 0) pthread_kill(reader_t, SIGTERM);
    else kill(getpid(), SIGTERM);
    nanosleep(&ts, NULL);
    ts.tv_sec = 5;
    nanosleep(&ts, NULL);
    printf("FAIL: still alive after SIGTERM\n");
    fflush(stdout);
    _exit(1);
}

int main(int argc, char **argv) {
    const char *how = argc > 1 ? argv[1] : "kill";
    if (pipe(pfd) != 0) return 2;
    pthread_t t;
    pthread_create(&reader_t, NULL, reader, NULL);
    pthread_create(&t, NULL, sleeper, NULL);
    pthread_create(&t, NULL, killer, (void *)how);
    printf("main computes\n");
    fflush(stdout);
    uint64_t x = 1;
    for (;;) {
        for (int k = 0; k < 1000; k++) x = x * 6364136223846793005ULL + 1;
        sink = x;
    }
}
