/* signalfd: signals read through a file descriptor. Argument checks of signalfd/signalfd4
 * (EINVAL size and flags, EFAULT mask, EBADF/EINVAL for a bad fd to update), then, with SIGUSR1,
 * SIGUSR2 and SIGRTMIN blocked: records of raise (SI_TKILL), kill (SI_USER) and sigqueue
 * (SI_QUEUE with a value), several in one read, a too-small read (EINVAL), a non-blocking read
 * with nothing pending (EAGAIN), readv across two iovecs, poll/select/epoll readiness before and
 * after (level and edge-triggered), updating the mask of an existing fd, dup, thread-directed
 * signals (pthread_kill) to the reading thread and to another thread, process-directed signals
 * from another thread, blocking reads woken by a second thread (kill and pthread_kill), a blocking
 * epoll_wait woken the same way, a blocking read interrupted by a handled signal (EINTR) or
 * restarted (SA_RESTART), and a POSIX timer's signal (SI_TIMER). Only booleans are printed for
 * pids and uids. */
#include "guest.h"
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

static pthread_t main_thread;
static volatile int handler_runs;

static void sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) { }
}

static void on_usr2(int sig) { handler_runs++; }

static void print_record(const char *what, const struct signalfd_siginfo *s) {
    const char *code = s->ssi_code == SI_USER ? "SI_USER" : s->ssi_code == SI_TKILL ? "SI_TKILL"
            : s->ssi_code == SI_QUEUE ? "SI_QUEUE" : "other";
    printf("%s: signo=%s code=%s int=%d ptr=%llu own_pid=%d own_uid=%d\n", what,
           s->ssi_signo == SIGUSR1 ? "SIGUSR1" : s->ssi_signo == SIGUSR2 ? "SIGUSR2"
           : (int)s->ssi_signo == SIGRTMIN ? "SIGRTMIN" : "other", code, s->ssi_int,
           (unsigned long long)s->ssi_ptr, s->ssi_pid == (uint32_t)getpid(), s->ssi_uid == (uint32_t)getuid());
}

/* Reads up to n records; prints each and returns how many (or -1 with errno). */
static int read_records(int fd, int n, const char *what) {
    struct signalfd_siginfo buf[8];
    ssize_t r = read(fd, buf, n * sizeof buf[0]);
    if (r < 0) return -1;
    if (r % sizeof buf[0] != 0) {
        printf("FAIL: %s: odd length %zd\n", what, r);
        guest_failures++;
    }
    for (int i = 0; i < r / (ssize_t)sizeof buf[0]; i++) print_record(what, &buf[i]);
    return (int)(r / sizeof buf[0]);
}

static int poll_in(int fd) {
    struct pollfd p = {fd, POLLIN, 0};
    int r = poll(&p, 1, 0);
    return r == 1 && (p.revents & POLLIN);
}

static int select_in(int fd) {
    fd_set r;
    FD_ZERO(&r);
    FD_SET(fd, &r);
    struct timeval tv = {0, 0};
    return select(fd + 1, &r, NULL, NULL, &tv) == 1 && FD_ISSET(fd, &r);
}

static int epoll_in(int ep, int timeout) {
    struct epoll_event ev;
    int r = epoll_wait(ep, &ev, 1, timeout);
    return r == 1 && (ev.events & EPOLLIN) && ev.data.u32 == 77;
}

/* ---- threads ---- */

enum { SEND_KILL, SEND_PTHREAD_KILL_MAIN, SEND_USR2_THEN_USR1, READ_OWN };
struct job { int what, delay_ms, sfd; int got, signo, code, readable; };

static void *worker(void *arg) {
    struct job *j = arg;
    sleep_ms(j->delay_ms);
    switch (j->what) {
    case SEND_KILL: kill(getpid(), SIGUSR1); break;
    case SEND_PTHREAD_KILL_MAIN: pthread_kill(main_thread, SIGUSR1); break;
    case SEND_USR2_THEN_USR1:
        pthread_kill(main_thread, SIGUSR2);
        sleep_ms(j->delay_ms);
        kill(getpid(), SIGUSR1);
        break;
    case READ_OWN: {
        j->readable = poll_in(j->sfd);
        struct signalfd_siginfo s;
        ssize_t r = read(j->sfd, &s, sizeof s);
        j->got = r == (ssize_t)sizeof s;
        j->signo = s.ssi_signo;
        j->code = s.ssi_code;
        break;
    }
    }
    return NULL;
}

static pthread_t start(struct job *j) {
    pthread_t t;
    pthread_create(&t, NULL, worker, j);
    return t;
}

int main(void) {
    main_thread = pthread_self();
    setvbuf(stdout, NULL, _IOLBF, 0);
    sigset_t mask, usr2;
    sigemptyset(&mask);
    sigaddset(&mask, SIGUSR1);
    sigaddset(&mask, SIGRTMIN);
    sigemptyset(&usr2);
    sigaddset(&usr2, SIGUSR2);

    /* argument checks */
    EXPECT_ERRNO(syscall(SYS_signalfd4, -1, &mask, 4, 0), EINVAL, "signalfd4 sizemask 4");
    EXPECT_ERRNO(syscall(SYS_signalfd4, -1, &mask, 16, 0), EINVAL, "signalfd4 sizemask 16");
    EXPECT_ERRNO(syscall(SYS_signalfd4, -1, &mask, 8, 1), EINVAL, "signalfd4 unknown flag");
    EXPECT_ERRNO(syscall(SYS_signalfd4, -1, &mask, 8, O_APPEND), EINVAL, "signalfd4 O_APPEND flag");
    EXPECT_ERRNO(syscall(SYS_signalfd4, -1, guest_bad_ptr(8), 8, 0), EFAULT, "signalfd4 bad mask pointer");
    EXPECT_ERRNO(syscall(SYS_signalfd, -1, &mask, 4), EINVAL, "signalfd sizemask 4");
    EXPECT_ERRNO(syscall(SYS_signalfd, -1, guest_bad_ptr(8), 8), EFAULT, "signalfd bad mask pointer");
    EXPECT_ERRNO(syscall(SYS_signalfd4, 999, &mask, 8, 0), EBADF, "signalfd4 update of a closed fd");
    EXPECT_ERRNO(syscall(SYS_signalfd4, -2, &mask, 8, 0), EBADF, "signalfd4 fd -2");
    int pfd[2];
    CHECK(pipe(pfd) == 0, "pipe");
    EXPECT_ERRNO(syscall(SYS_signalfd4, pfd[0], &mask, 8, 0), EINVAL, "signalfd4 update of a pipe");
    close(pfd[0]);
    close(pfd[1]);

    sigset_t all = mask;
    sigaddset(&all, SIGUSR2);
    CHECK(sigprocmask(SIG_BLOCK, &all, NULL) == 0, "block SIGUSR1, SIGUSR2, SIGRTMIN");

    int sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    CHECK(sfd >= 0, "signalfd(-1, {SIGUSR1, SIGRTMIN}, SFD_NONBLOCK|SFD_CLOEXEC)");
    {
        /* what a signalfd answers that a pipe would not */
        char w[8] = {0};
        struct iovec wv = {w, sizeof w};
        EXPECT_ERRNO(write(sfd, w, sizeof w), EINVAL, "write(signalfd): no write operation");
        EXPECT_ERRNO(write(sfd, guest_bad_ptr(8), 8), EINVAL, "write(signalfd, bad buffer): EINVAL first");
        EXPECT_ERRNO(writev(sfd, &wv, 1), EINVAL, "writev(signalfd)");
        CHECK(lseek(sfd, 0, SEEK_SET) == 0, "lseek(signalfd) is a no-op at 0");
        int fl = fcntl(sfd, F_GETFL);
        CHECK((fl & O_ACCMODE) == O_RDWR && (fl & O_NONBLOCK), "F_GETFL: O_RDWR|O_NONBLOCK");
    }
    CHECK(fcntl(sfd, F_GETFD) == FD_CLOEXEC, "SFD_CLOEXEC sets FD_CLOEXEC");
    CHECK(fcntl(sfd, F_GETFL) & O_NONBLOCK, "SFD_NONBLOCK sets O_NONBLOCK");
    int raw = syscall(SYS_signalfd, -1, &mask, 8);
    CHECK(raw >= 0, "raw signalfd (nr 282) creates an fd");
    CHECK(fcntl(raw, F_GETFD) == 0, "raw signalfd: no FD_CLOEXEC");
    close(raw);

    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = 77};
    CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ev) == 0, "epoll_ctl ADD signalfd");

    struct signalfd_siginfo one;
    EXPECT_ERRNO(read(sfd, &one, sizeof one), EAGAIN, "non-blocking read, nothing pending");
    CHECK(!poll_in(sfd), "poll: not readable before a signal");
    CHECK(!select_in(sfd), "select: not readable before a signal");
    CHECK(!epoll_in(ep, 0), "epoll: not readable before a signal");

    /* raise: thread-directed to the caller (tgkill) */
    CHECK(raise(SIGUSR1) == 0, "raise(SIGUSR1)");
    CHECK(poll_in(sfd), "poll: readable with SIGUSR1 pending");
    CHECK(select_in(sfd), "select: readable with SIGUSR1 pending");
    CHECK(epoll_in(ep, 0), "epoll: readable with SIGUSR1 pending");
    EXPECT_ERRNO(read(sfd, &one, sizeof one - 1), EINVAL, "read of 127 bytes");
    EXPECT_ERRNO(read(sfd, &one, 0), EINVAL, "read of 0 bytes");
    CHECK(read_records(sfd, 4, "raise") == 1, "one record for raise");
    CHECK(!poll_in(sfd), "poll: not readable after the read");
    CHECK(!epoll_in(ep, 0), "epoll: not readable after the read");
    EXPECT_ERRNO(read(sfd, &one, sizeof one), EAGAIN, "non-blocking read after draining");

    /* kill + sigqueue: several records in one read, in the kernel's order */
    CHECK(kill(getpid(), SIGUSR1) == 0, "kill(getpid(), SIGUSR1)");
    CHECK(kill(getpid(), SIGUSR1) == 0, "kill(getpid(), SIGUSR1) again (coalesces)");
    CHECK(sigqueue(getpid(), SIGRTMIN, (union sigval){.sival_int = 42}) == 0, "sigqueue(SIGRTMIN, 42)");
    CHECK(sigqueue(getpid(), SIGRTMIN, (union sigval){.sival_int = 43}) == 0, "sigqueue(SIGRTMIN, 43)");
    CHECK(poll_in(sfd), "poll: readable with three pending");
    CHECK(read_records(sfd, 2, "batch") == 2, "a read of two records returns two");
    CHECK(poll_in(sfd), "poll: still readable with one left");
    CHECK(read_records(sfd, 8, "batch") == 1, "the next read returns the last one");
    CHECK(!poll_in(sfd), "poll: not readable when all are read");

    /* a blocked signal outside the mask does not make the fd readable; updating the mask does */
    CHECK(kill(getpid(), SIGUSR2) == 0, "kill(getpid(), SIGUSR2) (not in the mask)");
    CHECK(!poll_in(sfd), "poll: SIGUSR2 does not make it readable");
    EXPECT_ERRNO(read(sfd, &one, sizeof one), EAGAIN, "read: SIGUSR2 is not read");
    sigset_t upd = usr2;
    sigaddset(&upd, SIGKILL);
    sigaddset(&upd, SIGSTOP);
    CHECK(signalfd(sfd, &upd, 0) == sfd, "update the mask to {SIGUSR2, SIGKILL, SIGSTOP} returns the fd");
    CHECK(poll_in(sfd), "poll: readable after the update");
    CHECK(epoll_in(ep, 0), "epoll: readable after the update");
    CHECK(read_records(sfd, 1, "updated") == 1, "SIGUSR2 read after the update");
    CHECK(fcntl(sfd, F_GETFL) & O_NONBLOCK, "update keeps O_NONBLOCK (flags of an update are ignored)");
    CHECK(signalfd(sfd, &mask, 0) == sfd, "mask back to {SIGUSR1, SIGRTMIN}");

    /* readv: a record may span two iovecs; fewer than 128 bytes in all is EINVAL */
    {
        unsigned char rec[256];
        struct iovec iov[2] = {{rec, 100}, {rec + 100, 156}};
        CHECK(sigqueue(getpid(), SIGRTMIN, (union sigval){.sival_int = 9}) == 0, "sigqueue(SIGRTMIN, 9)");
        struct iovec small[2] = {{rec, 60}, {rec + 60, 60}};
        EXPECT_ERRNO(readv(sfd, small, 2), EINVAL, "readv of 120 bytes in two iovecs");
        ssize_t r = readv(sfd, iov, 2);
        struct signalfd_siginfo s;
        memcpy(&s, rec, sizeof s);
        CHECK(r == 128, "readv of 256 bytes in two iovecs returns one record");
        print_record("readv", &s);
        EXPECT_ERRNO(readv(sfd, iov, 2), EAGAIN, "readv with nothing pending");
    }

    /* edge-triggered epoll: a new event for every signal queued, none without one */
    int et = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event eev = {.events = EPOLLIN | EPOLLET, .data.u32 = 77};
    CHECK(epoll_ctl(et, EPOLL_CTL_ADD, sfd, &eev) == 0, "epoll_ctl ADD signalfd, EPOLLET");
    CHECK(!epoll_in(et, 0), "EPOLLET: no event before a signal");
    CHECK(kill(getpid(), SIGUSR1) == 0, "kill(SIGUSR1)");
    CHECK(epoll_in(et, 0), "EPOLLET: an event for the first signal");
    CHECK(!epoll_in(et, 0), "EPOLLET: no second event without a new signal");
    CHECK(sigqueue(getpid(), SIGRTMIN, (union sigval){.sival_int = 7}) == 0, "sigqueue(SIGRTMIN, 7)");
    CHECK(epoll_in(et, 0), "EPOLLET: an event for the second signal while readable");
    CHECK(read_records(sfd, 8, "EPOLLET") == 2, "both read");
    CHECK(!epoll_in(et, 0), "EPOLLET: no event after the read");
    close(et);

    /* dup: the same signalfd; it survives closing the original */
    int d = dup(sfd);
    CHECK(d >= 0, "dup");
    CHECK(kill(getpid(), SIGUSR1) == 0, "kill(SIGUSR1)");
    CHECK(poll_in(d), "poll: the dup is readable");
    CHECK(read_records(d, 1, "dup") == 1, "read through the dup");
    CHECK(!poll_in(sfd), "poll: the original is drained too");

    /* another thread sends to main (pthread_kill) and to the process (kill) */
    struct job j = {.what = SEND_PTHREAD_KILL_MAIN, .delay_ms = 0};
    pthread_join(start(&j), NULL);
    CHECK(read_records(sfd, 1, "pthread_kill(main) from a thread") == 1, "main reads a signal sent to it");
    j = (struct job){.what = SEND_KILL, .delay_ms = 0};
    pthread_join(start(&j), NULL);
    CHECK(read_records(sfd, 1, "kill from a thread") == 1, "main reads a process-directed signal");

    /* a signal directed at another thread is that thread's to read */
    j = (struct job){.what = READ_OWN, .delay_ms = 200, .sfd = sfd};
    pthread_t t = start(&j);
    CHECK(pthread_kill(t, SIGUSR1) == 0, "pthread_kill(worker, SIGUSR1)");
    EXPECT_ERRNO(read(sfd, &one, sizeof one), EAGAIN, "main cannot read the worker's signal");
    pthread_join(t, NULL);
    CHECK(j.readable, "worker: poll says readable");
    CHECK(j.got && j.signo == SIGUSR1 && j.code == SI_TKILL, "worker reads its own SIGUSR1 (SI_TKILL)");
    EXPECT_ERRNO(read(sfd, &one, sizeof one), EAGAIN, "nothing left afterwards");

    /* blocking reads on a blocking signalfd, woken by another thread */
    close(sfd);
    sfd = signalfd(-1, &mask, 0);
    CHECK(sfd >= 0 && !(fcntl(sfd, F_GETFL) & O_NONBLOCK), "a blocking signalfd");
    j = (struct job){.what = SEND_KILL, .delay_ms = 100};
    t = start(&j);
    CHECK(read_records(sfd, 4, "blocking read, kill") == 1, "blocking read woken by kill from a thread");
    pthread_join(t, NULL);
    j = (struct job){.what = SEND_PTHREAD_KILL_MAIN, .delay_ms = 100};
    t = start(&j);
    CHECK(read_records(sfd, 4, "blocking read, pthread_kill") == 1, "blocking read woken by pthread_kill(main)");
    pthread_join(t, NULL);
    j = (struct job){.what = SEND_KILL, .delay_ms = 100};
    t = start(&j);
    CHECK(epoll_in(ep, 5000), "blocking epoll_wait on the dup woken by kill from a thread");
    CHECK(read_records(sfd, 1, "after epoll_wait") == 1, "read after epoll_wait");
    pthread_join(t, NULL);
    close(d);
    close(ep);

    /* a handled signal interrupts a blocking read (EINTR), or restarts it (SA_RESTART) */
    struct sigaction sa = {.sa_handler = on_usr2};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR2, &sa, NULL);
    pthread_sigmask(SIG_UNBLOCK, &usr2, NULL);
    j = (struct job){.what = SEND_USR2_THEN_USR1, .delay_ms = 100};
    t = start(&j);
    EXPECT_ERRNO(read(sfd, &one, sizeof one), EINTR, "blocking read interrupted by a handler");
    CHECK(handler_runs == 1, "the handler ran once");
    pthread_join(t, NULL);
    CHECK(read_records(sfd, 1, "after EINTR") == 1, "the later SIGUSR1 is read");
    sa.sa_flags = SA_RESTART;
    sigaction(SIGUSR2, &sa, NULL);
    j = (struct job){.what = SEND_USR2_THEN_USR1, .delay_ms = 100};
    t = start(&j);
    CHECK(read_records(sfd, 1, "SA_RESTART") == 1, "blocking read restarted after a SA_RESTART handler");
    CHECK(handler_runs == 2, "the handler ran again");
    pthread_join(t, NULL);

    /* a bad buffer: the dequeued signal is lost, as on Linux */
    CHECK(kill(getpid(), SIGUSR1) == 0, "kill(SIGUSR1)");
    EXPECT_ERRNO(read(sfd, guest_bad_ptr(8), 128), EFAULT, "read into a bad buffer");
    CHECK(!poll_in(sfd), "the signal is gone");

    /* a POSIX timer's signal: SI_TIMER with the timer id and value */
    {
        sigset_t tm;
        sigemptyset(&tm);
        sigaddset(&tm, SIGRTMIN + 1);
        CHECK(sigprocmask(SIG_BLOCK, &tm, NULL) == 0, "block SIGRTMIN+1");
        int tf = signalfd(-1, &tm, SFD_CLOEXEC);
        struct sigevent sev = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGRTMIN + 1, .sigev_value.sival_int = 5};
        timer_t tid;
        CHECK(timer_create(CLOCK_MONOTONIC, &sev, &tid) == 0, "timer_create(SIGRTMIN+1, value 5)");
        struct itimerspec its = {.it_value = {0, 20000000}};
        CHECK(timer_settime(tid, 0, &its, NULL) == 0, "timer_settime(20 ms, one shot)");
        struct signalfd_siginfo s;
        CHECK(read(tf, &s, sizeof s) == sizeof s, "blocking read of the timer's signal");
        printf("timer: signo_ok=%d code_is_SI_TIMER=%d int=%d ptr=%llu tid_is_timer=%d overrun=%u\n",
               (int)s.ssi_signo == SIGRTMIN + 1, s.ssi_code == SI_TIMER, s.ssi_int, (unsigned long long)s.ssi_ptr,
               s.ssi_tid == (uint32_t)(intptr_t)tid, s.ssi_overrun);
        timer_delete(tid);
        close(tf);
    }

    /* many fds made and closed */
    for (int i = 0; i < 40; i++) {
        int f = signalfd(-1, &mask, SFD_NONBLOCK);
        if (f < 0) { CHECK(0, "signalfd #%d", i); break; }
        close(f);
    }
    CHECK(kill(getpid(), SIGUSR1) == 0, "kill(SIGUSR1)");
    CHECK(read_records(sfd, 1, "after churn") == 1, "the signalfd still works after 40 others came and went");
    close(sfd);
    return guest_done();
}
