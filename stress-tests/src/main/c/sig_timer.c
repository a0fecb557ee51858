/* sig_timer: interval timers and POSIX timers. argv[1]:
 *   itimer  setitimer(ITIMER_REAL) periodic 10 ms: SIGALRMs arrive (counted via sigsuspend),
 *           getitimer reports the interval, disarming stops them
 *   posix   timer_create(CLOCK_MONOTONIC, SIGEV_SIGNAL, SIGRTMIN+3, value 99): si_code SI_TIMER,
 *           si_value, si_timerid; one-shot expiry; periodic with the signal blocked counts
 *           overruns (si_overrun == timer_getoverrun > 0); SIGEV_THREAD_ID reaches the chosen
 *           thread; TIMER_ABSTIME; SIGEV_NONE; timer_delete
 *   prof    setitimer(ITIMER_PROF) and ITIMER_VIRTUAL fire while the process computes, and not
 *           while it sleeps
 * Prints only invariants. */
#include "guest.h"
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static volatile int count;
static volatile siginfo_t last;
static volatile pid_t handler_tid;

static void handler(int sig, siginfo_t *si, void *uc) {
    /* count last: another thread waits for it and then reads what the handler recorded */
    memcpy((void *)&last, si, sizeof *si);
    handler_tid = gettid();
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    count++;
}

static void install(int sig) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = handler;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigaction(sig, &sa, NULL);
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int itimer(void) {
    install(SIGALRM);
    sigset_t b, old;
    sigemptyset(&b);
    sigaddset(&b, SIGALRM);
    sigprocmask(SIG_BLOCK, &b, &old);
    struct itimerval it = {{0, 10000}, {0, 10000}}, cur;
    /* the clock starts before arming: the 10th expiry is 100 ms after setitimer, whatever the
     * scheduler does to this thread between setitimer and the loop */
    double t0 = now();
    CHECK(setitimer(ITIMER_REAL, &it, NULL) == 0, "setitimer(ITIMER_REAL, 10 ms periodic)");
    CHECK(getitimer(ITIMER_REAL, &cur) == 0 && cur.it_interval.tv_sec == 0 && cur.it_interval.tv_usec == 10000,
          "getitimer: interval 10 ms");
    CHECK(cur.it_value.tv_sec == 0 && cur.it_value.tv_usec > 0 && cur.it_value.tv_usec <= 10000,
          "getitimer: 0 < value <= 10 ms");
    while (count < 10) sigsuspend(&old);
    double dt = now() - t0;
    CHECK(count == 10, "10 SIGALRMs taken with sigsuspend");
    CHECK(last.si_signo == SIGALRM && last.si_code == SI_KERNEL, "si_code SI_KERNEL");
    /* a lower bound only: 10 periods cannot end sooner; an upper bound would test the machine's load */
    CHECK(dt >= 0.09, "10 periods took at least 90 ms");
    struct itimerval off = {{0, 0}, {0, 0}}, prev;
    CHECK(setitimer(ITIMER_REAL, &off, &prev) == 0 && prev.it_interval.tv_usec == 10000, "disarm returns the old interval");
    sigprocmask(SIG_SETMASK, &old, NULL); /* a last pending SIGALRM may be delivered here */
    int after = count;
    struct timespec ts = {0, 100000000};
    nanosleep(&ts, NULL);
    CHECK(count == after, "no SIGALRM after disarming");
    CHECK(getitimer(ITIMER_REAL, &cur) == 0 && cur.it_value.tv_sec == 0 && cur.it_value.tv_usec == 0, "getitimer: disarmed");
    /* alarm and ITIMER_REAL are the same timer */
    alarm(7);
    CHECK(getitimer(ITIMER_REAL, &cur) == 0 && cur.it_value.tv_sec >= 6 && cur.it_value.tv_sec <= 7, "alarm(7) shows in getitimer");
    CHECK(setitimer(ITIMER_REAL, &off, NULL) == 0 && alarm(0) == 0, "setitimer disarms the alarm");
    /* a NULL new value disarms too (Linux reads it as zeros) and still reports the old one */
    alarm(9);
    struct itimerval was;
    CHECK(syscall(SYS_setitimer, ITIMER_REAL, NULL, &was) == 0 && was.it_value.tv_sec >= 8, "setitimer(NULL) returns the old value");
    CHECK(alarm(0) == 0, "setitimer(NULL) disarmed it");
    EXPECT_ERRNO(setitimer(99, &off, NULL), EINVAL, "setitimer(99)");
    return guest_done();
}

/* Waits for signals with `sig` blocked between waits: a `while (!flag) pause()` loop hangs when
 * the signal lands after the test of the flag but before pause (the handler runs in that window
 * and pause then waits for a signal that already came). sigsuspend unblocks and waits atomically. */
static void wait_until(volatile int *flag, int expect, int sig) {
    sigset_t b, old;
    sigemptyset(&b);
    sigaddset(&b, sig);
    sigprocmask(SIG_BLOCK, &b, &old);
    while (*flag == expect) sigsuspend(&old);
    sigprocmask(SIG_SETMASK, &old, NULL);
}

static volatile pid_t other_tid;
static volatile int other_stop;
static void *other(void *arg) {
    other_tid = gettid();
    wait_until(&other_stop, 0, (int)(intptr_t)arg);
    return NULL;
}

static int posix(void) {
    int sig = SIGRTMIN + 3;
    install(sig);
    timer_t t;
    struct sigevent ev;
    memset(&ev, 0, sizeof ev);
    ev.sigev_notify = SIGEV_SIGNAL;
    ev.sigev_signo = sig;
    ev.sigev_value.sival_int = 99;
    CHECK(timer_create(CLOCK_MONOTONIC, &ev, &t) == 0, "timer_create(CLOCK_MONOTONIC, SIGEV_SIGNAL)");
    struct itimerspec its = {{0, 0}, {0, 300000000}}, cur; /* long enough for a slow first run */
    CHECK(timer_settime(t, 0, &its, NULL) == 0, "timer_settime one-shot 300 ms");
    CHECK(timer_gettime(t, &cur) == 0 && cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec > 0, "timer_gettime: armed");
    struct timespec ts = {5, 0};
    int r = nanosleep(&ts, NULL);
    CHECK(r == -1 && errno == EINTR && count == 1, "the expiry interrupts nanosleep");
    CHECK(last.si_signo == sig && last.si_code == SI_TIMER, "si_code SI_TIMER");
    CHECK(last.si_value.sival_int == 99, "si_value 99");
    CHECK(last.si_timerid == (int)(intptr_t)t, "si_timerid is the timer id");
    CHECK(last.si_overrun == 0, "si_overrun 0");
    CHECK(timer_gettime(t, &cur) == 0 && cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec == 0, "timer_gettime: expired");

    /* periodic 1 ms with the signal blocked for 100 ms: one queued signal, the rest overruns */
    sigset_t b, old;
    sigemptyset(&b);
    sigaddset(&b, sig);
    sigprocmask(SIG_BLOCK, &b, &old);
    struct itimerspec per = {{0, 1000000}, {0, 1000000}};
    timer_settime(t, 0, &per, NULL);
    struct timespec w = {0, 100000000};
    nanosleep(&w, NULL);
    /* a marker queued behind whatever the timer queued: it comes second iff the timer queued one */
    union sigval marker = {.sival_int = 1234};
    sigqueue(getpid(), sig, marker);
    siginfo_t si;
    struct timespec zero = {0, 0};
    r = sigtimedwait(&b, &si, &zero);
    int overrun = timer_getoverrun(t);
    CHECK(r == sig && si.si_code == SI_TIMER, "periodic, blocked: the timer's signal first");
    CHECK(si.si_overrun >= 20, "si_overrun counts the missed expiries (>= 20 of ~100)");
    CHECK(overrun == si.si_overrun, "timer_getoverrun == si_overrun");
    r = sigtimedwait(&b, &si, &zero);
    CHECK(r == sig && si.si_code == SI_QUEUE && si.si_value.sival_int == 1234,
          "then the marker: no second instance was queued for the same timer");
    struct itimerspec off = {{0, 0}, {0, 0}};
    timer_settime(t, 0, &off, NULL);
    while (sigtimedwait(&b, &si, &zero) == sig) {} /* one more may have been queued before the disarm */
    sigprocmask(SIG_SETMASK, &old, NULL);

    /* TIMER_ABSTIME: an absolute expiry 30 ms from now */
    count = 0;
    struct timespec abs;
    clock_gettime(CLOCK_MONOTONIC, &abs);
    abs.tv_nsec += 30000000;
    if (abs.tv_nsec >= 1000000000) { abs.tv_sec++; abs.tv_nsec -= 1000000000; }
    struct itimerspec at = {{0, 0}, abs};
    CHECK(timer_settime(t, TIMER_ABSTIME, &at, NULL) == 0, "timer_settime TIMER_ABSTIME");
    wait_until(&count, 0, sig);
    struct timespec done;
    clock_gettime(CLOCK_MONOTONIC, &done);
    CHECK(done.tv_sec > abs.tv_sec || (done.tv_sec == abs.tv_sec && done.tv_nsec >= abs.tv_nsec),
          "absolute expiry not before the requested time");
    CHECK(timer_delete(t) == 0, "timer_delete");
    EXPECT_ERRNO(timer_settime(t, 0, &its, NULL), EINVAL, "timer_settime on a deleted timer");

    /* SIGEV_THREAD_ID: the signal goes to the named thread */
    pthread_t th;
    pthread_create(&th, NULL, other, (void *)(intptr_t)sig);
    while (!other_tid) sched_yield();
    memset(&ev, 0, sizeof ev);
    ev.sigev_notify = SIGEV_THREAD_ID;
    ev.sigev_signo = sig;
    ev.sigev_value.sival_int = 7;
    ev._sigev_un._tid = other_tid;
    count = 0;
    handler_tid = 0;
    int kid = -1; /* glibc's timer_create does not pass SIGEV_THREAD_ID on: use the system call */
    CHECK(syscall(SYS_timer_create, CLOCK_MONOTONIC, &ev, &kid) == 0, "timer_create(SIGEV_THREAD_ID)");
    struct itimerspec ten = {{0, 0}, {0, 10000000}};
    syscall(SYS_timer_settime, kid, 0, &ten, NULL);
    double t0 = now();
    while (count == 0 && now() - t0 < 10) sched_yield();
    CHECK(handler_tid == other_tid, "SIGEV_THREAD_ID: the handler ran on the chosen thread");
    CHECK(last.si_value.sival_int == 7, "SIGEV_THREAD_ID: si_value 7");
    syscall(SYS_timer_delete, kid);
    other_stop = 1;
    pthread_kill(th, sig);
    pthread_join(th, NULL);

    /* SIGEV_NONE: no signal, but timer_gettime counts down */
    memset(&ev, 0, sizeof ev);
    ev.sigev_notify = SIGEV_NONE;
    CHECK(timer_create(CLOCK_REALTIME, &ev, &t) == 0, "timer_create(SIGEV_NONE)");
    struct itimerspec sec = {{0, 0}, {10, 0}};
    timer_settime(t, 0, &sec, NULL);
    timer_gettime(t, &cur);
    CHECK(cur.it_value.tv_sec >= 9 && cur.it_value.tv_sec <= 10, "SIGEV_NONE: timer_gettime counts down");
    timer_delete(t);
    ev.sigev_notify = SIGEV_SIGNAL;
    ev.sigev_signo = 65;
    EXPECT_ERRNO(timer_create(CLOCK_MONOTONIC, &ev, &t), EINVAL, "timer_create with signal 65");
    return guest_done();
}

static volatile uint64_t sink;
static int prof(void) {
    install(SIGPROF);
    install(SIGVTALRM);
    struct itimerval it = {{0, 5000}, {0, 5000}};
    CHECK(setitimer(ITIMER_PROF, &it, NULL) == 0, "setitimer(ITIMER_PROF, 5 ms)");
    uint64_t x = 1;
    double t0 = now();
    if (!guest_failures) while (count < 5 && now() - t0 < 10) {
        for (int k = 0; k < 100000; k++) x = x * 6364136223846793005ULL + 1;
        sink = x;
    }
    CHECK(count >= 5 && last.si_signo == SIGPROF, "SIGPROF arrives while computing");
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_PROF, &off, NULL);
    count = 0;
    CHECK(setitimer(ITIMER_VIRTUAL, &it, NULL) == 0, "setitimer(ITIMER_VIRTUAL, 5 ms)");
    t0 = now();
    while (count < 5 && now() - t0 < 10 && guest_failures < 3) {
        for (int k = 0; k < 100000; k++) x = x * 6364136223846793005ULL + 1;
        sink = x;
    }
    CHECK(count >= 5 && last.si_signo == SIGVTALRM, "SIGVTALRM arrives while computing");
    setitimer(ITIMER_VIRTUAL, &off, NULL);
    /* CPU time, not wall time: a sleeping process consumes none */
    struct itimerval once = {{0, 0}, {0, 20000}}, cur;
    count = 0;
    setitimer(ITIMER_VIRTUAL, &once, NULL);
    struct timespec nap = {0, 200000000};
    nanosleep(&nap, NULL);
    CHECK(count == 0, "no SIGVTALRM while sleeping 200 ms (20 ms of CPU time armed)");
    CHECK(getitimer(ITIMER_VIRTUAL, &cur) == 0 && cur.it_value.tv_usec > 0 && cur.it_interval.tv_usec == 0,
          "getitimer(ITIMER_VIRTUAL): still armed, one-shot");
    CHECK(setitimer(ITIMER_VIRTUAL, &off, &cur) == 0 && cur.it_value.tv_usec > 0, "disarm returns the remaining time");
    return guest_done();
}

int main(int argc, char **argv) {
    const char *v = argc > 1 ? argv[1] : "itimer";
    if (!strcmp(v, "posix")) return posix();
    if (!strcmp(v, "prof")) return prof();
    return itimer();
}
