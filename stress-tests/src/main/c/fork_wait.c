/* fork_wait: forks back to back, each child exiting after a different short while, and the parent
 * waits for each as it ends, so that a child's end often meets the parent's wait half-way. Under
 * Herd a child's exit comes as a report on a socket, which a watcher thread (for SIGCHLD) and the
 * waiting thread both read; a wait that lost the report to the watcher once went on waiting for
 * the child's JVM to exit, which a JVM that went on as a spare never does (a hang of bash's
 * nested command substitution, ~1 run in 450 under load). Each child's status is checked. Then
 * waitpid(0) for a child that exits at once, while a sibling is in a group of its own.
 * Usage: fork_wait [ROUNDS] */
#include "guest.h"
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t sigchlds;
static void on_chld(int sig) { (void)sig; sigchlds++; }

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    int rounds = argc > 1 ? atoi(argv[1]) : 200;
    signal(SIGCHLD, on_chld);
    int right = 0;
    for (int round = 0; round < rounds; round++) {
        pid_t pid = fork();
        if (pid == 0) {
            /* 0 to ~3 ms of work: the exit lands anywhere around the parent's wait */
            struct timespec t = {0, (round * 7919L % 3000) * 1000L};
            if (round % 3) nanosleep(&t, NULL);
            _exit(round % 100);
        }
        if (pid < 0) break;
        int st;
        pid_t got;
        do got = waitpid(pid, &st, 0); while (got < 0 && errno == EINTR);
        if (got == pid && WIFEXITED(st) && WEXITSTATUS(st) == round % 100) right++;
        else printf("round %d: waitpid %d, status %#x\n", round, got, st);
    }
    CHECK(right == rounds, "%d of %d children reaped with their status", right, rounds);

    /* waitpid(0) finds a child of the caller's group that exits at once, beside a sibling in a
     * group of its own (under Herd a child's JVM that goes on as a spare leaves the group right
     * after its exit report: a wait once looked the child's group up after that and saw none) */
    int found = 0, tries = rounds < 20 ? rounds : 20;
    for (int round = 0; round < tries; round++) {
        int sync[2];
        char c;
        if (pipe(sync) != 0) break;
        pid_t other = fork();
        if (other == 0) {
            setpgid(0, 0);
            if (write(sync[1], "r", 1) != 1) _exit(1);
            for (;;) pause();
        }
        if (read(sync[0], &c, 1) != 1) break;
        pid_t b = fork();
        if (b == 0) _exit(22);
        int st;
        pid_t got;
        do got = waitpid(0, &st, 0); while (got < 0 && errno == EINTR);
        if (got == b && WIFEXITED(st) && WEXITSTATUS(st) == 22) found++;
        else printf("group round %d: waitpid(0) %d (errno %d), child %d\n", round, got, errno, b);
        kill(other, SIGKILL);
        waitpid(other, &st, 0);
        if (got != b) waitpid(b, &st, 0);
        close(sync[0]);
        close(sync[1]);
    }
    CHECK(found == tries, "waitpid(0): %d of %d children of the group found", found, tries);
    CHECK(sigchlds > 0, "SIGCHLD came");
    return guest_done();
}
