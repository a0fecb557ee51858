/* clock_set: a privileged guest sets its wall clock (clock_settime, settimeofday). Under herd only
 * the guest's clock moves (the host's never does), so this guest runs under herd only
 * (GuestClockTest), never natively as root. It checks that every wall-clock read follows the new
 * time (clock_gettime REALTIME/REALTIME_COARSE/TAI, gettimeofday, time), CLOCK_MONOTONIC does not
 * jump, and absolute deadlines on the wall clock (pthread_cond_timedwait, sem_timedwait,
 * clock_nanosleep TIMER_ABSTIME) expire after their real distance from the new time. Not root:
 * EPERM, and nothing moves. */
#include "guest.h"
#include <pthread.h>
#include <semaphore.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define DAY 86400L

static double mono(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static long wall(clockid_t c) {
    struct timespec t;
    clock_gettime(c, &t);
    return t.tv_sec;
}

int main(void) {
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    long before = now.tv_sec;
    double m0 = mono();
    struct timespec later = {now.tv_sec + DAY, now.tv_nsec};
    if (geteuid() != 0) {
        EXPECT_ERRNO(clock_settime(CLOCK_REALTIME, &later), EPERM, "clock_settime as a user");
        CHECK(labs(wall(CLOCK_REALTIME) - before) < 60, "the wall clock did not move");
        return guest_done();
    }
    CHECK(clock_settime(CLOCK_REALTIME, &later) == 0, "clock_settime(REALTIME, now + 1 day)");
    long d = wall(CLOCK_REALTIME) - before;
    CHECK(d >= DAY && d < DAY + 60, "CLOCK_REALTIME reads one day later");
    d = wall(CLOCK_REALTIME_COARSE) - before;
    CHECK(d >= DAY - 1 && d < DAY + 60, "CLOCK_REALTIME_COARSE reads one day later");
    d = wall(CLOCK_TAI) - before;
    CHECK(d >= DAY && d < DAY + 100, "CLOCK_TAI reads one day later");
    struct timeval tv;
    gettimeofday(&tv, NULL);
    CHECK(tv.tv_sec - before >= DAY && tv.tv_sec - before < DAY + 60 && tv.tv_usec >= 0 && tv.tv_usec < 1000000,
          "gettimeofday reads one day later");
    CHECK(time(NULL) - before >= DAY, "time() reads one day later");
    CHECK(mono() - m0 < 30, "CLOCK_MONOTONIC did not jump");

    /* absolute deadlines 200 ms after the new wall-clock time */
    pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_nsec += 200000000L;
    if (dl.tv_nsec >= 1000000000L) { dl.tv_sec++; dl.tv_nsec -= 1000000000L; }
    double t0 = mono();
    pthread_mutex_lock(&mu);
    int r = pthread_cond_timedwait(&cv, &mu, &dl);
    pthread_mutex_unlock(&mu);
    double waited = mono() - t0;
    CHECK(r == ETIMEDOUT && waited >= 0.15 && waited < 20, "pthread_cond_timedwait times out after ~200 ms (%s)",
          waited < 0.15 ? "too early" : waited >= 20 ? "too late" : "in time");
    sem_t sem;
    sem_init(&sem, 0, 0);
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_nsec += 200000000L;
    if (dl.tv_nsec >= 1000000000L) { dl.tv_sec++; dl.tv_nsec -= 1000000000L; }
    t0 = mono();
    r = sem_timedwait(&sem, &dl);
    waited = mono() - t0;
    CHECK(r == -1 && errno == ETIMEDOUT && waited >= 0.15 && waited < 20, "sem_timedwait times out after ~200 ms");
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_nsec += 200000000L;
    if (dl.tv_nsec >= 1000000000L) { dl.tv_sec++; dl.tv_nsec -= 1000000000L; }
    t0 = mono();
    r = clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &dl, NULL);
    waited = mono() - t0;
    CHECK(r == 0 && waited >= 0.15 && waited < 20, "clock_nanosleep(TIMER_ABSTIME) sleeps ~200 ms");

    /* back: settimeofday to the original time (+ elapsed) */
    struct timeval back = {before + (long)(mono() - m0), 0};
    CHECK(settimeofday(&back, NULL) == 0, "settimeofday back to the original time");
    d = wall(CLOCK_REALTIME) - before;
    CHECK(d >= -2 && d < 60, "CLOCK_REALTIME reads the original time again");
    return guest_done();
}
