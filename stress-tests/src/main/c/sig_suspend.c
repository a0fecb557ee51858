/* sig_suspend: sigsuspend replaces the mask for the wait only: a signal blocked outside and
 * allowed by the temporary mask is delivered inside it (the handler sees the temporary mask plus
 * itself), sigsuspend returns -1/EINTR and the old mask is back; a signal that the temporary
 * mask blocks stays pending until later; pending-before-the-call signals end it at once. */
#include "guest.h"
#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

static volatile int got1, got2;
static sigset_t inside;
static void h1(int sig) { got1++; sigprocmask(SIG_BLOCK, NULL, &inside); }
static void h2(int sig) { got2++; }

static void *sender(void *arg) {
    struct timespec ts = {0, 30000000};
    nanosleep(&ts, NULL);
    kill(getpid(), SIGUSR2); /* blocked by the temporary mask: stays pending */
    nanosleep(&ts, NULL);
    kill(getpid(), SIGUSR1); /* allowed: ends the sigsuspend */
    return NULL;
}

int main(void) {
    signal(SIGUSR1, h1);
    signal(SIGUSR2, h2);
    sigset_t block, old, tmp, now;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigaddset(&block, SIGUSR2);
    sigprocmask(SIG_BLOCK, &block, &old);

    /* 1. already pending when sigsuspend starts */
    raise(SIGUSR1);
    sigfillset(&tmp);
    sigdelset(&tmp, SIGUSR1);
    errno = 0;
    int r = sigsuspend(&tmp);
    CHECK(r == -1 && errno == EINTR && got1 == 1, "pending SIGUSR1 ends sigsuspend at once with EINTR");
    CHECK(sigismember(&inside, SIGUSR1) && sigismember(&inside, SIGUSR2) && sigismember(&inside, SIGTERM),
          "handler mask: the temporary mask (all but SIGUSR1) plus SIGUSR1");
    sigprocmask(SIG_BLOCK, NULL, &now);
    CHECK(sigismember(&now, SIGUSR1) && sigismember(&now, SIGUSR2) && !sigismember(&now, SIGTERM),
          "after: the old mask is back");

    /* 2. from another thread, with one signal blocked by the temporary mask (main is the only
     * thread that can take the process-directed signals: the sender blocks them) */
    pthread_t t;
    pthread_create(&t, NULL, sender, NULL); /* inherits the mask blocking both */
    sigemptyset(&tmp);
    sigaddset(&tmp, SIGUSR2);
    errno = 0;
    r = sigsuspend(&tmp);
    pthread_join(t, NULL);
    CHECK(r == -1 && errno == EINTR && got1 == 2, "SIGUSR1 from a thread ends sigsuspend");
    CHECK(got2 == 0, "SIGUSR2 (blocked by the temporary mask) not delivered");
    sigset_t pend;
    sigpending(&pend);
    CHECK(sigismember(&pend, SIGUSR2), "SIGUSR2 still pending");
    sigprocmask(SIG_SETMASK, &old, NULL);
    CHECK(got2 == 1, "SIGUSR2 delivered when unblocked");

    /* 3. pause() ends with EINTR after a handler */
    alarm(1);
    signal(SIGALRM, h2);
    errno = 0;
    r = pause();
    CHECK(r == -1 && errno == EINTR && got2 == 2, "pause ends with EINTR after the SIGALRM handler");
    return guest_done();
}
