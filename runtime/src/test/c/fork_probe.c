/* fork_probe N: N forks one after another; each child writes to shared memory and exits with its
 * index, the parent checks every status. For ForkApiTest (nothing left behind in the JVM). */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 1, bad = 0;
    int *shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    for (int i = 0; i < n; i++) {
        pid_t p = fork();
        if (p == 0) {
            shared[0]++;
            _exit(i & 0x7f);
        }
        int st;
        if (p < 0 || waitpid(p, &st, 0) != p || !WIFEXITED(st) || WEXITSTATUS(st) != (i & 0x7f)) bad++;
    }
    printf("forks %d bad %d shared %d\n", n, bad, shared[0]);
    return bad != 0;
}
