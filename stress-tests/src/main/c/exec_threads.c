/* exec_threads: an execve by the first thread of a process with other threads (blocked in a
 * condition wait, a sleep, a pipe read, and one spinning in user code). Linux ends the others
 * first (de_thread) and the new image keeps the pid: it checks that it is the same process
 * (pid, parent, a kept fd, its thread count) in "image" mode. Prints only invariants. */
#include "guest.h"
#include <fcntl.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t never = PTHREAD_COND_INITIALIZER;
static int pipe_fds[2];
static volatile int started, spin;

static void *waits(void *a) {
    (void) a;
    pthread_mutex_lock(&mu);
    started++;
    for (;;) pthread_cond_wait(&never, &mu);
    return NULL;
}

static void *sleeps(void *a) {
    (void) a;
    __atomic_fetch_add(&started, 1, __ATOMIC_SEQ_CST);
    struct timespec ts = {100, 0};
    nanosleep(&ts, NULL);
    return NULL;
}

static void *reads(void *a) {
    (void) a;
    __atomic_fetch_add(&started, 1, __ATOMIC_SEQ_CST);
    char c;
    read(pipe_fds[0], &c, 1);
    return NULL;
}

static void *spins(void *a) {
    (void) a;
    __atomic_fetch_add(&started, 1, __ATOMIC_SEQ_CST);
    for (;;) spin++;
    return NULL;
}

static long status_field(const char *key) {
    char buf[4096];
    int fd = open("/proc/self/status", O_RDONLY);
    ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
    if (fd >= 0) close(fd);
    if (n <= 0) return -1;
    buf[n] = 0;
    char *p = strstr(buf, key);
    return p ? atol(p + strlen(key) + 1) : -1;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc > 4 && strcmp(argv[1], "image") == 0) {
        CHECK(getpid() == atoi(argv[2]), "the new image has the pid of the process that called execve");
        CHECK(syscall(SYS_gettid) == getpid(), "its thread is the process's first");
        CHECK(getppid() == atoi(argv[3]), "the same parent");
        CHECK(fcntl(atoi(argv[4]), F_GETFD) == 0, "an fd without close-on-exec is still open");
        CHECK(status_field("Threads:") == 1, "one thread: the others ended at the execve");
        return guest_done();
    }
    CHECK(pipe(pipe_fds) == 0, "a pipe");
    void *(*bodies[])(void *) = {waits, sleeps, reads, spins};
    pthread_t t[4];
    for (int i = 0; i < 4; i++) CHECK(pthread_create(&t[i], NULL, bodies[i], NULL) == 0, "thread %d", i);
    while (__atomic_load_n(&started, __ATOMIC_SEQ_CST) < 4) usleep(1000);
    usleep(50000);
    CHECK(status_field("Threads:") == 5, "five threads before the execve");
    char pid[16], ppid[16], fd[16];
    snprintf(pid, sizeof pid, "%d", (int) getpid());
    snprintf(ppid, sizeof ppid, "%d", (int) getppid());
    snprintf(fd, sizeof fd, "%d", pipe_fds[1]);
    char *args[] = {"exec_threads", "image", pid, ppid, fd, NULL};
    execv("/proc/self/exe", args);
    CHECK(0, "execv");
    return guest_done();
}
