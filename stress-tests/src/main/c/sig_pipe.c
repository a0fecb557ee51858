/* sig_pipe: a write to a pipe without readers raises SIGPIPE in the writing thread (si_code
 * SI_USER, si_pid the process itself) and fails with EPIPE; ignored, only EPIPE; a stream socket
 * whose peer is gone does the same for send, and MSG_NOSIGNAL suppresses the signal.
 * argv[1]: "checks" (exit 0) or "default" (the unhandled SIGPIPE ends the process: 141). */
#include "guest.h"
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

static volatile int got, code, from;
static void handler(int sig, siginfo_t *si, void *uc) {
    got = sig;
    code = si->si_code;
    from = si->si_pid;
}

int main(int argc, char **argv) {
    int p[2];
    if (argc > 1 && !strcmp(argv[1], "default")) {
        pipe(p);
        close(p[0]);
        printf("writing to a pipe without readers\n");
        fflush(stdout);
        write(p[1], "x", 1);
        printf("still alive\n");
        return 3;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = handler;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGPIPE, &sa, NULL);
    pipe(p);
    close(p[0]);
    errno = 0;
    long r = write(p[1], "x", 1);
    CHECK(r == -1 && errno == EPIPE, "write without readers: EPIPE");
    CHECK(got == SIGPIPE && code == SI_USER && from == getpid(), "and SIGPIPE, SI_USER, from this process");
    got = 0;
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    close(sv[1]);
    errno = 0;
    r = send(sv[0], "y", 1, MSG_NOSIGNAL);
    CHECK(r == -1 && errno == EPIPE && got == 0, "send(MSG_NOSIGNAL) to a closed peer: EPIPE, no signal");
    errno = 0;
    r = send(sv[0], "y", 1, 0);
    CHECK(r == -1 && errno == EPIPE && got == SIGPIPE, "send to a closed peer: EPIPE and SIGPIPE");
    signal(SIGPIPE, SIG_IGN);
    got = 0;
    errno = 0;
    r = write(p[1], "x", 1);
    CHECK(r == -1 && errno == EPIPE && got == 0, "SIGPIPE ignored: only EPIPE");
    return guest_done();
}
