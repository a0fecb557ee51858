/* readlink: /proc/self/exe names this program; /proc/self is the pid, /proc/thread-self
 * PID/task/TID; /proc/self/fd/N names the file behind fd N (a path, or pipe:[inode]); a closed fd
 * is ENOENT. */
#include "guest.h"
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv) {
    char exe[PATH_MAX + 1];
    ssize_t n = readlink("/proc/self/exe", exe, PATH_MAX);
    CHECK(n > 0, "readlink /proc/self/exe");
    if (n < 0) n = 0;
    exe[n] = 0;
    const char *base = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
    size_t bl = strlen(base);
    CHECK((size_t)n > bl && exe[n - bl - 1] == '/' && strcmp(exe + n - bl, base) == 0, "ends with /%s", base);
    CHECK(exe[0] == '/', "is absolute");
    char small[4];
    CHECK(readlink("/proc/self/exe", small, sizeof small) == sizeof small, "truncates to the buffer size");

    char link[PATH_MAX + 1], want[64];
    n = readlink("/proc/self", link, PATH_MAX);
    link[n > 0 ? n : 0] = 0;
    snprintf(want, sizeof want, "%d", getpid());
    CHECK(n > 0 && strcmp(link, want) == 0, "/proc/self is the pid");
    n = readlink("/proc/thread-self", link, PATH_MAX);
    link[n > 0 ? n : 0] = 0;
    snprintf(want, sizeof want, "%d/task/%d", getpid(), gettid());
    CHECK(n > 0 && strcmp(link, want) == 0, "/proc/thread-self is PID/task/TID");

    char *real = realpath(argv[0], NULL);
    int fd = open(argv[0], O_RDONLY);
    /* a high fd number, free in the guest and, under an emulator, likely used by the emulator */
    int hi = fcntl(fd, F_DUPFD, 40);
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", hi);
    n = readlink(path, link, PATH_MAX);
    link[n > 0 ? n : 0] = 0;
    CHECK(real && n > 0 && strcmp(link, real) == 0, "/proc/self/fd/N names the open file");
    snprintf(path, sizeof path, "/proc/%d/fd/%d", getpid(), hi);
    n = readlink(path, link, PATH_MAX);
    link[n > 0 ? n : 0] = 0;
    CHECK(real && n > 0 && strcmp(link, real) == 0, "/proc/PID/fd/N too");
    int p[2];
    pipe(p);
    snprintf(path, sizeof path, "/proc/self/fd/%d", p[0]);
    n = readlink(path, link, PATH_MAX);
    link[n > 0 ? n : 0] = 0;
    CHECK(n > 6 && strncmp(link, "pipe:[", 6) == 0, "a pipe's link is pipe:[inode]");
    close(hi);
    snprintf(path, sizeof path, "/proc/self/fd/%d", hi);
    EXPECT_ERRNO(readlink(path, link, PATH_MAX), ENOENT, "a closed fd's link");
    free(real);
    return guest_done();
}
