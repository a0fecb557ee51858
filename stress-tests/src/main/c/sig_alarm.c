/* sig_alarm: alarm(1) interrupts nanosleep(3 s): EINTR after about a second, with the remaining
 * time 0 < rem < 3 s (even with SA_RESTART); alarm returns the seconds left of the previous
 * alarm; a cancelled alarm never fires; clock_nanosleep returns EINTR. Prints only invariants. */
#include "guest.h"
#include <signal.h>
#include <time.h>
#include <unistd.h>

static volatile int alarms;
static volatile int alarm_code;
static void on_alarm(int sig, siginfo_t *si, void *uc) {
    alarms++;
    alarm_code = si->si_code;
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_alarm;
    sa.sa_flags = SA_SIGINFO | SA_RESTART; /* nanosleep is never restarted after a handler */
    sigaction(SIGALRM, &sa, NULL);

    CHECK(alarm(0) == 0, "alarm(0) with no alarm pending returns 0");
    CHECK(alarm(5) == 0, "alarm(5) returns 0");
    double t0 = now(); /* before arming: the alarm fires 1 s after alarm(1), whatever the scheduler does */
    unsigned left = alarm(1);
    CHECK(left == 5 || left == 4, "alarm(1) returns the 5 s left of the previous alarm (rounded)");

    struct timespec req = {3, 0}, rem = {-1, -1};
    errno = 0;
    int r = nanosleep(&req, &rem);
    double dt = now() - t0;
    CHECK(r == -1 && errno == EINTR, "nanosleep(3 s) interrupted by SIGALRM: EINTR");
    CHECK(alarms == 1, "the handler ran once");
    CHECK(alarm_code == SI_KERNEL, "SIGALRM from alarm has si_code SI_KERNEL");
    /* a bound from semantics, not speed: not before the alarm (EINTR above shows the sleep did not end) */
    CHECK(dt >= 0.99, "interrupted no sooner than the 1 s alarm");
    CHECK((rem.tv_sec > 0 || rem.tv_nsec > 0) && rem.tv_sec < 3 && rem.tv_nsec >= 0 && rem.tv_nsec < 1000000000,
          "0 < rem < requested");
    double remd = rem.tv_sec + rem.tv_nsec / 1e9;
    CHECK(remd > 0.5 && remd < 2.05, "rem is about 2 s");
    CHECK(alarm(0) == 0, "no alarm left after it fired");

    /* an alarm cancelled before it fires never comes */
    alarm(1);
    CHECK(alarm(0) >= 1, "alarm(0) cancels and returns the time left");
    struct timespec s2 = {1, 200000000};
    CHECK(nanosleep(&s2, NULL) == 0, "nanosleep(1.2 s) completes: the cancelled alarm never fired");
    CHECK(alarms == 1, "still one SIGALRM");

    /* clock_nanosleep returns the error number instead of setting errno */
    alarm(1);
    struct timespec s3 = {5, 0}, rem3;
    int e = clock_nanosleep(CLOCK_MONOTONIC, 0, &s3, &rem3);
    CHECK(e == EINTR && alarms == 2, "clock_nanosleep(5 s) interrupted: returns EINTR");
    CHECK(rem3.tv_sec >= 3 && rem3.tv_sec < 5, "clock_nanosleep rem about 4 s");
    return guest_done();
}
