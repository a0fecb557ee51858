/* sig_before_block: a signal that arrives just before a thread enters a blocking call is not
 * lost. A worker acknowledges each round on a pipe, runs a few instructions (a varying spin) and
 * blocks in read on a pipe nobody writes; main sends it SIGUSR1 the moment the acknowledgement
 * arrives, so over the rounds the signal lands before, at and after the read's entry. The
 * handler siglongjmps out, so natively every round ends whether the signal came before the read
 * (the handler runs on the way back to user mode) or during it. Under Herd a signal that came
 * while the worker was still in guest code, past the last block boundary before its syscall
 * instruction, once left the worker blocked in read for ever: the engine stop it asked for
 * comes only at the next block, and the syscall was already on its way.
 * argv[1]: rounds (default 3000). */
#include "guest.h"
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

static sigjmp_buf jump;
static int never[2], ack[2];
static volatile int rounds;

static void on_usr1(int sig) {
    (void) sig;
    siglongjmp(jump, 1);
}

static void *worker(void *arg) {
    (void) arg;
    static volatile unsigned spin_sink;
    for (volatile int i = 0; i < rounds; i++) {
        if (sigsetjmp(jump, 1) == 0) {
            char c = 'a';
            if (write(ack[1], &c, 1) != 1) return (void *) 1;
            for (unsigned k = 0; k < (unsigned) (i % 64) * 8; k++) spin_sink += k;
            char b;
            ssize_t r = read(never[0], &b, 1);
            (void) r;
            return (void *) 2; /* read returned without the handler: not expected */
        }
    }
    return NULL;
}

int main(int argc, char **argv) {
    rounds = argc > 1 ? atoi(argv[1]) : 3000;
    CHECK(pipe(never) == 0 && pipe(ack) == 0, "pipes");
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1; /* no SA_RESTART: irrelevant, the handler never returns */
    sigaction(SIGUSR1, &sa, NULL);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, worker, NULL) == 0, "worker started");
    int delivered = 0, lost_at = -1;
    for (int i = 0; i < rounds; i++) {
        struct pollfd p = {.fd = ack[0], .events = POLLIN};
        if (poll(&p, 1, 10000) != 1) { /* ten seconds: the worker is stuck in read */
            lost_at = i;
            break;
        }
        char c;
        if (read(ack[0], &c, 1) != 1) break;
        pthread_kill(t, SIGUSR1);
        delivered++;
    }
    if (lost_at >= 0) {
        CHECK(0, "the signal of round %d reached the worker", lost_at - 1);
        fflush(stdout);
        _exit(guest_done()); /* the worker is stuck in read: leave without joining */
    }
    void *r;
    CHECK(pthread_join(t, &r) == 0 && r == NULL, "the worker took every signal, before or in its read");
    CHECK(delivered == rounds, "%d rounds", rounds);
    return guest_done();
}
