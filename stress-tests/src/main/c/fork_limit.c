/* fork_limit limit: forks children that wait until fork fails (at most 256), prints how many it
 * made and the errno. ForkProgramsTest runs it under a small HERD_MAX_PROCESSES (not
 * a differential case: natively the limit is the machine's). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "limit") == 0) {
        int fds[2], n = 0, err = 0;
        if (pipe(fds) != 0) return 2;
        pid_t kids[256];
        while (n < 256) {
            pid_t p = fork();
            if (p < 0) {
                err = errno;
                break;
            }
            if (p == 0) {
                char c;
                close(fds[1]);
                read(fds[0], &c, 1); /* until the parent closes its end */
                _exit(0);
            }
            kids[n++] = p;
        }
        close(fds[1]);
        for (int i = 0; i < n; i++) waitpid(kids[i], NULL, 0);
        printf("forked %d then %s\n", n, err ? strerrorname_np(err) : "none");
        return 0;
    }
    return 2;
}
