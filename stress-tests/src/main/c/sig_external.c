/* sig_external: waits up to 10 s for a signal sent from outside the process (the test sends
 * SIGTERM, SIGINT, SIGUSR2 or SIGRTMIN+3 to bin/herd's pid once "ready" is printed). argv[1]
 * "handle": handlers for those record it and the program exits 7; otherwise the default action
 * ends it.
 * argv[1] "report": prints the signals ignored at start (inherited through execve) and exits. */
#include <stdio.h>
#include <string.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

static volatile int got;
static void handler(int sig) { got = sig; }

int main(int argc, char **argv) {
    if (argc > 1 && !strcmp(argv[1], "report")) {
        printf("ignored at start:");
        for (int sig = 1; sig < 32; sig++) {
            struct sigaction old;
            if (sigaction(sig, NULL, &old) == 0 && old.sa_handler == SIG_IGN) printf(" %d", sig);
        }
        printf("\n");
        return 0;
    }
    if (argc > 1 && !strcmp(argv[1], "handle")) {
        signal(SIGTERM, handler);
        signal(SIGINT, handler);
        signal(SIGUSR2, handler);
        signal(SIGRTMIN + 3, handler);
    }
    printf("ready\n");
    fflush(stdout);
    for (int i = 0; i < 100 && !got; i++) {
        struct timespec ts = {0, 100000000};
        nanosleep(&ts, NULL);
    }
    printf("got signal %d\n", got);
    return got ? 7 : 0;
}
