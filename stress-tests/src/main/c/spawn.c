/* spawn: process creation. Prints what fork() and posix_spawn() return; under herd fork must say
 * ENOSYS (not implemented yet), not a wrong error such as EINVAL, and posix_spawn works (checked
 * by CliTest; natively both succeed, so this is not a differential case). */
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

int main(void) {
    errno = 0;
    pid_t p = fork();
    if (p == 0) _exit(0);
    if (p > 0) waitpid(p, NULL, 0);
    printf("fork: %s\n", p < 0 ? strerrorname_np(errno) : "ok");
    char *argv[] = {"true", NULL};
    pid_t child;
    int r = posix_spawn(&child, "/bin/true", NULL, NULL, argv, environ);
    if (r == 0) waitpid(child, NULL, 0);
    printf("posix_spawn: %s\n", r ? strerrorname_np(r) : "ok");
    return 0;
}
