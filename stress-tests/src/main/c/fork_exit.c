/* fork_exit: what a parent may see of a child the moment waitpid has returned its exit. The child
 * writes to a pipe (its stdout, and another fd) and exits; after the wait the pipe has the bytes
 * and then EOF at once (every write end the child held is closed), and the child's pid is gone
 * (kill(pid, 0) is ESRCH). Several rounds a second apart, so that an emulator that keeps a warm
 * process ready for the next fork (Herd's spare) has one for the later rounds. */
#include "guest.h"
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    for (int round = 1; round <= 4; round++) {
        int p[2];
        if (pipe(p) != 0) return 2;
        pid_t pid = fork();
        if (pid == 0) {
            close(p[0]);
            dup2(p[1], 1);
            if (write(p[1], "ab", 2) != 2 || write(1, "c", 1) != 1) _exit(9);
            _exit(round);
        }
        close(p[1]);
        int st;
        CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == round, "round %d: exit status", round);
        fcntl(p[0], F_SETFL, O_NONBLOCK);
        char buf[8];
        ssize_t n = read(p[0], buf, sizeof buf);
        ssize_t eof = read(p[0], buf + 4, 4);
        int killed = kill(pid, 0), kill_errno = errno;
        CHECK(n == 3 && memcmp(buf, "abc", 3) == 0, "round %d: the child's bytes", round);
        CHECK(eof == 0, "round %d: then EOF, not EAGAIN: the child's write ends are closed", round);
        CHECK(killed == -1 && kill_errno == ESRCH, "round %d: the reaped pid is gone (ESRCH)", round);
        close(p[0]);
        usleep(1000000);
    }
    return guest_done();
}
