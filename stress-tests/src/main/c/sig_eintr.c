/* sig_eintr: a blocking call interrupted by a handled signal (a helper thread sends it with
 * pthread_kill once main is asleep in the call). Without SA_RESTART read and sem_wait fail with
 * EINTR; with SA_RESTART they resume transparently and return what arrives later; a mutex lock
 * and a condition wait are never visibly interrupted; poll, select, epoll_wait and nanosleep
 * fail with EINTR even with SA_RESTART; recv/read on a socket and read on a pseudo-terminal like
 * read on a pipe; the masks of epoll_pwait, ppoll and pselect are in force during the wait
 * only; an ignored signal interrupts nothing.
 * argv[1]: rounds (default 1). */
#include "guest.h"
#include <fcntl.h>
#include <stdlib.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static volatile int handled;
static void handler(int sig) { handled++; }

static pid_t main_tid;
static pthread_t main_thread;
static int pfd[2], sv[2], pty_master = -1, pty_slave = -1;
static sem_t sem;
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER, held = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static volatile int predicate, done;

enum after { NOTHING, WRITE_PIPE, WRITE_SOCK, WRITE_PTY, SEM_POST, COND, UNLOCK };
struct job { int sig; enum after after; int repeat; };
static volatile int helper_locked;

static void sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {}
}

/* Waits until main is blocked (state S in /proc), so the signal most likely lands inside the call. */
static void wait_main_asleep(void) {
    char path[64], buf[256];
    snprintf(path, sizeof path, "/proc/self/task/%d/stat", main_tid);
    for (int i = 0; i < 200; i++) {
        int fd = open(path, O_RDONLY);
        if (fd < 0) break;
        ssize_t n = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (n > 0) {
            buf[n] = 0;
            char *p = strrchr(buf, ')');
            if (p && p[1] == ' ' && p[2] == 'S') break;
        }
        sleep_ms(1);
    }
    sleep_ms(10);
}

static void *helper(void *arg) {
    struct job *j = arg;
    if (j->after == UNLOCK) {
        pthread_mutex_lock(&held);
        helper_locked = 1;
    }
    wait_main_asleep();
    pthread_kill(main_thread, j->sig);
    /* a signal that landed just before main blocked interrupts nothing: send again */
    for (int i = 0; j->repeat && !done && i < 100; i++) {
        sleep_ms(50);
        if (!done) pthread_kill(main_thread, j->sig);
    }
    if (j->after != NOTHING) {
        if (j->sig == SIGUSR1) while (!handled) sleep_ms(1); /* SIGUSR2, SIGWINCH: ignored */
        sleep_ms(20);
    }
    switch (j->after) {
    case WRITE_PIPE: if (write(pfd[1], "x", 1) != 1) abort(); break;
    case WRITE_SOCK: if (send(sv[1], "y", 1, 0) != 1) abort(); break;
    case WRITE_PTY: if (write(pty_master, "z\n", 2) != 2) abort(); break;
    case SEM_POST: sem_post(&sem); break;
    case COND:
        pthread_mutex_lock(&m);
        predicate = 1;
        pthread_cond_signal(&cv);
        pthread_mutex_unlock(&m);
        break;
    case UNLOCK: pthread_mutex_unlock(&held); break;
    default: break;
    }
    return NULL;
}

static pthread_t start(int sig, enum after after, int repeat) {
    static struct job j;
    j.sig = sig;
    j.after = after;
    j.repeat = repeat;
    handled = 0;
    done = 0;
    predicate = 0;
    pthread_t t;
    pthread_create(&t, NULL, helper, &j);
    return t;
}

static void install(int sig, int flags) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sa.sa_flags = flags;
    sigemptyset(&sa.sa_mask);
    sigaction(sig, &sa, NULL);
}

static void finish(pthread_t t) {
    done = 1;
    pthread_join(t, NULL);
}

int main(int argc, char **argv) {
    int rounds = argc > 1 ? atoi(argv[1]) : 1;
    main_tid = gettid();
    main_thread = pthread_self();
    if (pipe(pfd) != 0) return 2;
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) return 2;
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event want = {.events = EPOLLIN, .data.u64 = 7};
    if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, pfd[0], &want) != 0) return 2;
    /* a terminal: a pseudo-terminal pair, read on the slave side (canonical mode: a line) */
    pty_master = posix_openpt(O_RDWR | O_NOCTTY);
    if (pty_master >= 0 && unlockpt(pty_master) == 0 && ptsname(pty_master))
        pty_slave = open(ptsname(pty_master), O_RDWR | O_NOCTTY);
    if (pty_slave < 0) printf("no pseudo-terminal here: terminal cases skipped\n");
    sem_init(&sem, 0, 0);
    char c;
    int fails = 0;
    for (int r = 0; r < rounds; r++) {
        int before = guest_failures;
        pthread_t t;
        long n;

        install(SIGUSR1, 0);
        t = start(SIGUSR1, NOTHING, 1);
        errno = 0;
        n = read(pfd[0], &c, 1);
        finish(t);
        CHECK(n == -1 && errno == EINTR && handled >= 1, "read, no SA_RESTART: EINTR after the handler");

        install(SIGUSR1, SA_RESTART);
        t = start(SIGUSR1, WRITE_PIPE, 0);
        errno = 0;
        n = read(pfd[0], &c, 1);
        finish(t);
        CHECK(n == 1 && c == 'x' && handled == 1, "read, SA_RESTART: resumed, returns the byte written later");

        install(SIGUSR1, 0);
        t = start(SIGUSR1, NOTHING, 1);
        errno = 0;
        n = sem_wait(&sem);
        finish(t);
        CHECK(n == -1 && errno == EINTR && handled >= 1, "sem_wait, no SA_RESTART: EINTR");

        install(SIGUSR1, SA_RESTART);
        t = start(SIGUSR1, SEM_POST, 0);
        errno = 0;
        n = sem_wait(&sem);
        finish(t);
        CHECK(n == 0 && handled == 1, "sem_wait (futex), SA_RESTART: resumed, returns after sem_post");

        for (int flags = 0; flags <= SA_RESTART; flags += SA_RESTART) {
            install(SIGUSR1, flags);
            t = start(SIGUSR1, COND, 0);
            pthread_mutex_lock(&m);
            while (!predicate) n = pthread_cond_wait(&cv, &m);
            pthread_mutex_unlock(&m);
            finish(t);
            CHECK(n == 0 && handled == 1, "condition wait (%s): transparent", flags ? "SA_RESTART" : "no SA_RESTART");

            helper_locked = 0;
            t = start(SIGUSR1, UNLOCK, 0);
            while (!helper_locked) sched_yield();
            n = pthread_mutex_lock(&held); /* contended: a futex wait until the helper unlocks */
            pthread_mutex_unlock(&held);
            CHECK(n == 0 && handled == 1, "contended mutex lock (%s): transparent", flags ? "SA_RESTART" : "no SA_RESTART");
            finish(t);
        }

        install(SIGUSR1, SA_RESTART);
        t = start(SIGUSR1, NOTHING, 1);
        struct pollfd pf = {pfd[0], POLLIN, 0};
        errno = 0;
        n = poll(&pf, 1, -1);
        finish(t);
        CHECK(n == -1 && errno == EINTR, "poll, SA_RESTART: EINTR (never restarted)");

        t = start(SIGUSR1, NOTHING, 1);
        fd_set rs;
        FD_ZERO(&rs);
        FD_SET(pfd[0], &rs);
        errno = 0;
        n = select(pfd[0] + 1, &rs, NULL, NULL, NULL);
        finish(t);
        CHECK(n == -1 && errno == EINTR, "select, SA_RESTART: EINTR");

        t = start(SIGUSR1, NOTHING, 1);
        struct timespec ts = {30, 0}, rem = {0, 0};
        errno = 0;
        n = nanosleep(&ts, &rem);
        finish(t);
        CHECK(n == -1 && errno == EINTR && rem.tv_sec > 0 && rem.tv_sec <= 30,
              "nanosleep, SA_RESTART: EINTR with 0 < rem <= 30 s");

        install(SIGUSR1, 0);
        t = start(SIGUSR1, NOTHING, 1);
        errno = 0;
        n = recv(sv[0], &c, 1, 0);
        finish(t);
        CHECK(n == -1 && errno == EINTR && handled >= 1, "recv on a socket, no SA_RESTART: EINTR");

        install(SIGUSR1, SA_RESTART);
        t = start(SIGUSR1, WRITE_SOCK, 0);
        errno = 0;
        n = read(sv[0], &c, 1);
        finish(t);
        CHECK(n == 1 && c == 'y' && handled == 1, "read on a socket, SA_RESTART: resumed, returns the byte sent later");

        t = start(SIGUSR1, NOTHING, 1);
        struct epoll_event got;
        errno = 0;
        n = epoll_wait(ep, &got, 1, -1);
        finish(t);
        CHECK(n == -1 && errno == EINTR, "epoll_wait, SA_RESTART: EINTR (never restarted)");

        if (pty_slave >= 0) {
            char line[8];
            install(SIGUSR1, 0);
            t = start(SIGUSR1, NOTHING, 1);
            errno = 0;
            n = read(pty_slave, line, sizeof line);
            finish(t);
            CHECK(n == -1 && errno == EINTR && handled >= 1, "read on a terminal, no SA_RESTART: EINTR");
            install(SIGUSR1, SA_RESTART);
            t = start(SIGUSR1, WRITE_PTY, 0);
            errno = 0;
            n = read(pty_slave, line, sizeof line);
            finish(t);
            CHECK(n == 2 && line[0] == 'z' && handled == 1, "read on a terminal, SA_RESTART: resumed, returns the line typed later");
        }

        /* epoll_pwait: SIGUSR1 blocked outside, allowed by the call's mask only */
        sigset_t usr1, during, saved;
        sigemptyset(&usr1);
        sigaddset(&usr1, SIGUSR1);
        pthread_sigmask(SIG_BLOCK, &usr1, &saved);
        sigemptyset(&during);
        t = start(SIGUSR1, NOTHING, 1);
        errno = 0;
        n = epoll_pwait(ep, &got, 1, -1, &during);
        finish(t);
        int e = errno;
        sigset_t now;
        pthread_sigmask(SIG_SETMASK, NULL, &now);
        CHECK(n == -1 && e == EINTR && handled >= 1, "epoll_pwait: a signal its mask allows interrupts it");
        CHECK(sigismember(&now, SIGUSR1), "epoll_pwait: the old mask is back afterwards");

        /* the same for ppoll and pselect */
        t = start(SIGUSR1, NOTHING, 1);
        struct pollfd ppf = {pfd[0], POLLIN, 0};
        errno = 0;
        n = ppoll(&ppf, 1, NULL, &during);
        finish(t);
        e = errno;
        pthread_sigmask(SIG_SETMASK, NULL, &now);
        CHECK(n == -1 && e == EINTR && handled >= 1 && sigismember(&now, SIGUSR1),
              "ppoll: interrupted under its mask, the old mask back afterwards");
        t = start(SIGUSR1, NOTHING, 1);
        fd_set prs;
        FD_ZERO(&prs);
        FD_SET(pfd[0], &prs);
        errno = 0;
        n = pselect(pfd[0] + 1, &prs, NULL, NULL, NULL, &during);
        finish(t);
        e = errno;
        pthread_sigmask(SIG_SETMASK, NULL, &now);
        CHECK(n == -1 && e == EINTR && handled >= 1 && sigismember(&now, SIGUSR1),
              "pselect: interrupted under its mask, the old mask back afterwards");
        pthread_sigmask(SIG_SETMASK, &saved, NULL);

        /* ignored signals: SIG_IGN, and SIG_DFL whose default is to ignore */
        signal(SIGUSR2, SIG_IGN);
        t = start(SIGUSR2, WRITE_PIPE, 0);
        errno = 0;
        n = read(pfd[0], &c, 1);
        finish(t);
        CHECK(n == 1 && c == 'x', "read, SIG_IGN signal: not interrupted");
        signal(SIGWINCH, SIG_DFL);
        t = start(SIGWINCH, WRITE_PIPE, 0);
        errno = 0;
        n = read(pfd[0], &c, 1);
        finish(t);
        CHECK(n == 1 && c == 'x', "read, SIGWINCH with SIG_DFL: not interrupted");
        /* a blocked signal interrupts nothing either; it stays pending */
        install(SIGUSR1, 0);
        sigset_t b, old;
        sigemptyset(&b);
        sigaddset(&b, SIGUSR1);
        pthread_sigmask(SIG_BLOCK, &b, &old);
        t = start(SIGUSR1, NOTHING, 0);
        pthread_join(t, NULL);
        handled = 0;
        struct job j2 = {SIGUSR2, WRITE_PIPE, 0};
        signal(SIGUSR2, SIG_IGN);
        t = 0;
        pthread_create(&t, NULL, helper, &j2);
        n = read(pfd[0], &c, 1);
        pthread_join(t, NULL);
        CHECK(n == 1 && handled == 0, "read with SIGUSR1 blocked and pending: not interrupted");
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        CHECK(handled == 1, "the pending SIGUSR1 is delivered at unblock");
        if (guest_failures != before) fails++;
    }
    CHECK(fails == 0, "all %d rounds passed", rounds);
    return guest_done();
}
