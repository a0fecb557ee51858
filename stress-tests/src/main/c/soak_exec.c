/* soak_exec N: execs itself N times counting down (argv[1] = N, N-1, ..., 0); the first image
 * pauses at READY, the last at DONE (see soak.h), so scripts/soak.sh samples the herd process
 * before the first and after the last execve. */
#include <string.h>
#include "soak.h"

int main(int argc, char **argv) {
    long n = soak_arg(argc, argv, 1, 10);
    int first = argc < 3;   /* the images after the first get a marker argument */
    if (first) soak_pause("READY");
    if (n <= 0) {
        printf("execve chain done\n");
        soak_pause("DONE");
        return 0;
    }
    char num[32];
    snprintf(num, sizeof num, "%ld", n - 1);
    char *args[] = {argv[0], num, "again", NULL};
    execv("/proc/self/exe", args);
    perror("execv");
    return 1;
}
