/* stdio_closed: a closed fd 0 stays closed for the guest, as the kernel keeps it: in this process
 * (fstat fails with EBADF and the next open takes fd 0), in a child made by posix_spawn, and after an
 * execve. argv[1] "child" (spawned) exits with 1 if fstat(0) fails with EBADF + 2 if open() then
 * returns 0; "image N" (exec'd, N the failures before) checks the same and ends the run. */
#include "guest.h"
#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <stdlib.h>
#include <unistd.h>

extern char **environ;

static int closed_zero(void) {
    struct stat st;
    errno = 0;
    int ebadf = fstat(0, &st) == -1 && errno == EBADF;
    int fd = open("/dev/null", O_RDONLY);
    if (fd >= 0 && fd != 0) close(fd);
    return ebadf | (fd == 0) << 1;
}

int main(int argc, char **argv) {
    if (argc > 1 && !strcmp(argv[1], "child")) return closed_zero();
    if (argc > 2 && !strcmp(argv[1], "image")) {
        setvbuf(stdout, NULL, _IONBF, 0);
        guest_failures = atoi(argv[2]); /* the checks before the execve */
        CHECK(closed_zero() == 3, "after execve: fd 0 is still closed, and the next open takes it");
        return guest_done();
    }
    setvbuf(stdout, NULL, _IONBF, 0);
    CHECK(close(0) == 0, "close(0)");
    struct stat st;
    errno = 0;
    CHECK(fstat(0, &st) == -1 && errno == EBADF, "fstat(0): EBADF");
    pid_t pid;
    char *args[] = {"stdio_closed", "child", NULL};
    CHECK(posix_spawn(&pid, "/proc/self/exe", NULL, NULL, args, environ) == 0, "posix_spawn itself");
    int status = -1;
    CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status), "the spawned child exits");
    CHECK(WEXITSTATUS(status) == 3, "in the spawned child fd 0 is closed too, and its next open takes it");
    char failures[16];
    snprintf(failures, sizeof failures, "%d", guest_failures);
    execl("/proc/self/exe", "stdio_closed", "image", failures, (char *) NULL);
    CHECK(0, "execl of itself");
    return guest_done();
}
