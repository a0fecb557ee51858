/* thr_exit: a secondary thread ends the process while other threads run or wait. argv[1]:
 *   spin     3 threads and main spin in pure computation (no syscalls); a 4th calls _exit(42)
 *            (exit_group) once they all run
 *   block    threads blocked in a condition wait, nanosleep and pthread_join; one calls _exit(43)
 *   exit     3 threads spin; a 4th calls exit(44) (atexit handler and stdio flush run first)
 *   main     3 threads spin; main returns 45 from main
 * Only lines printed (and flushed) before the exit appear; the status is the exit code. */
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int running;
static volatile uint64_t sink[8];
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t never = PTHREAD_COND_INITIALIZER;
static pthread_t sleeper;

static void *spinner(void *arg) {
    uintptr_t id = (uintptr_t)arg;
    uint64_t x = id + 1;
    __atomic_add_fetch(&running, 1, __ATOMIC_SEQ_CST);
    for (;;) {
        for (int k = 0; k < 1000; k++) x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        sink[id] = x;
    }
    return NULL;
}

static void *waiter(void *arg) {
    pthread_mutex_lock(&m);
    __atomic_add_fetch(&running, 1, __ATOMIC_SEQ_CST);
    for (;;) pthread_cond_wait(&never, &m);
    return NULL;
}

static void *napper(void *arg) {
    __atomic_add_fetch(&running, 1, __ATOMIC_SEQ_CST);
    for (;;) {
        struct timespec ts = {3600, 0};
        nanosleep(&ts, NULL);
    }
    return NULL;
}

static void at_exit_handler(void) {
    printf("atexit handler ran\n");
}

static void wait_running(int n) {
    while (__atomic_load_n(&running, __ATOMIC_SEQ_CST) < n) sched_yield();
}

static void *exiter(void *arg) {
    int code = (int)(intptr_t)arg;
    wait_running(code == 43 ? 2 : 3);
    struct timespec ts = {0, 50 * 1000000};
    nanosleep(&ts, NULL); /* the others are well into their loops / waits */
    printf("thread exits the process with %d\n", code);
    fflush(stdout);
    if (code == 44) exit(code);
    _exit(code);
}

int main(int argc, char **argv) {
    const char *v = argc > 1 ? argv[1] : "spin";
    pthread_t t;
    printf("variant %s\n", v);
    fflush(stdout);
    if (strcmp(v, "block") == 0) {
        pthread_create(&t, NULL, waiter, NULL);
        pthread_create(&sleeper, NULL, napper, NULL);
        pthread_create(&t, NULL, exiter, (void *)43);
        pthread_join(sleeper, NULL);
        printf("FAIL: main returned from joining a sleeper\n");
        return 1;
    }
    for (uintptr_t i = 0; i < 3; i++) pthread_create(&t, NULL, spinner, (void *)i);
    if (strcmp(v, "main") == 0) {
        wait_running(3);
        printf("main returns 45\n");
        return 45;
    }
    if (strcmp(v, "exit") == 0) {
        atexit(at_exit_handler);
        printf("buffered line\n"); /* stays in the stdio buffer (stdout is not a terminal) */
        pthread_create(&t, NULL, exiter, (void *)44);
        spinner((void *)3);
    }
    pthread_create(&t, NULL, exiter, (void *)42);
    spinner((void *)4);
    return 1;
}
