/* shared_atomics: atomics stay exact when a process stops being alone on its memory. A process
 * with one thread and no writable shared mapping may run its atomics as plain accesses (QEMU
 * linux-user does, and so does Herd); these cases make it stop being alone *after* its atomic code
 * ran (and was translated) alone, then hammer the same code from two places at once:
 *  - thread: the main thread counts alone, then creates a thread and both count at once;
 *  - spinlock: the same with an xchg spinlock around a plain increment;
 *  - fork: the counting code runs alone on private memory, then on a MAP_SHARED anonymous counter
 *    from parent and child at once (the shared mapping is what ends "alone").
 * Each case runs in a child process of its own, so that each starts alone. The two sides start
 * together (a ready/go handshake through the shared memory), so their loops overlap even when a
 * child process takes long to start. Usage: shared_atomics [N]. */
#include "guest.h"
#include <pthread.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static long n;

struct shared {
    uint64_t counter;
    uint64_t plain;
    uint32_t lock;
    uint32_t ready, go;
};

static __attribute__((noinline)) void count(struct shared *s, long times) {
    for (long i = 0; i < times; i++) __atomic_fetch_add(&s->counter, 1, __ATOMIC_SEQ_CST);
}

static __attribute__((noinline)) void count_locked(struct shared *s, long times) {
    for (long i = 0; i < times; i++) {
        while (__atomic_exchange_n(&s->lock, 1, __ATOMIC_ACQUIRE)) {
            while (__atomic_load_n(&s->lock, __ATOMIC_RELAXED)) {}
        }
        s->plain++;
        __atomic_store_n(&s->lock, 0, __ATOMIC_RELEASE);
    }
}

/* The second side: says it is ready, waits for go. */
static void await_go(struct shared *s) {
    __atomic_store_n(&s->ready, 1, __ATOMIC_SEQ_CST);
    while (!__atomic_load_n(&s->go, __ATOMIC_SEQ_CST)) {}
}

/* The first side: waits for the second to be ready, says go. */
static void give_go(struct shared *s) {
    while (!__atomic_load_n(&s->ready, __ATOMIC_SEQ_CST)) {}
    __atomic_store_n(&s->go, 1, __ATOMIC_SEQ_CST);
}

static struct shared in_memory;
static int locked_case;

static void *second_thread(void *arg) {
    struct shared *s = arg;
    await_go(s);
    if (locked_case) count_locked(s, n); else count(s, n);
    return NULL;
}

static void threads_case(int locked) {
    struct shared *s = &in_memory;
    memset(s, 0, sizeof *s);
    locked_case = locked;
    if (locked) count_locked(s, n); else count(s, n); /* alone: translated while the process has one thread */
    pthread_t t;
    CHECK(pthread_create(&t, NULL, second_thread, s) == 0, "%s: a second thread", locked ? "spinlock" : "thread");
    give_go(s);
    if (locked) count_locked(s, n); else count(s, n);
    pthread_join(t, NULL);
    uint64_t got = locked ? s->plain : s->counter;
    CHECK(got == (uint64_t)(3 * n), "%s: alone, then two threads at once: 3N counted", locked ? "spinlock" : "thread");
}

static void fork_case(void) {
    memset(&in_memory, 0, sizeof in_memory);
    count(&in_memory, n); /* alone, on private memory: translated before any shared mapping exists */
    struct shared *s = mmap(NULL, sizeof *s, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    CHECK(s != MAP_FAILED, "fork: a shared anonymous mapping");
    if (s == MAP_FAILED) return;
    s->counter = in_memory.counter;
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        await_go(s);
        count(s, n);
        _exit(0);
    }
    CHECK(pid > 0, "fork: a child");
    if (pid < 0) return;
    give_go(s);
    count(s, n);
    int st;
    CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0, "fork: the child counted and exited 0");
    uint64_t got = __atomic_load_n(&s->counter, __ATOMIC_SEQ_CST);
    CHECK(got == (uint64_t)(3 * n), "fork: alone, then parent and child at once: 3N counted");
    munmap(s, sizeof *s);
}

static void thread_case(void) { threads_case(0); }
static void spinlock_case(void) { threads_case(1); }

/* Runs one case in a child process that starts alone (one thread, no shared mapping). */
static void run_alone(const char *name, void (*fn)(void)) {
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        fn();
        fflush(stdout);
        _exit(guest_failures ? 1 : 0);
    }
    int st = 0;
    CHECK(pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s: its process exited 0", name);
}

int main(int argc, char **argv) {
    n = argc > 1 ? atol(argv[1]) : 2000000;
    setvbuf(stdout, NULL, _IOLBF, 0);
    run_alone("thread", thread_case);
    run_alone("spinlock", spinlock_case);
    run_alone("fork", fork_case);
    return guest_done();
}
