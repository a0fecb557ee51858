/* errno: system calls that fail, with the errno name and strerror text they set. Bad guest
 * pointers must come back as EFAULT, never crash the runtime. */
#include "guest.h"
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void) {
    char buf[16];
    int p[2];
    EXPECT_ERRNO(open("/nonexistent-herd/file", O_RDONLY), ENOENT, "open missing file");
    EXPECT_ERRNO(read(-1, buf, 1), EBADF, "read fd -1");
    EXPECT_ERRNO(read(987, buf, 1), EBADF, "read unopened fd 987");
    EXPECT_ERRNO(close(987), EBADF, "close unopened fd");
    EXPECT_ERRNO(dup2(987, 5), EBADF, "dup2 from unopened fd");
    EXPECT_ERRNO(open("/", O_WRONLY), EISDIR, "open / for writing");
    EXPECT_ERRNO(mkdir("/", 0755), EEXIST, "mkdir /");
    EXPECT_ERRNO(rmdir("/nonexistent-herd"), ENOENT, "rmdir missing");
    EXPECT_ERRNO(chdir("/nonexistent-herd"), ENOENT, "chdir missing");
    {
        static char longname[PATH_MAX + 100];
        memset(longname, 'a', sizeof longname - 1);
        longname[0] = '/';
        EXPECT_ERRNO(open(longname, O_RDONLY), ENAMETOOLONG, "open path longer than PATH_MAX");
    }
    EXPECT_ERRNO(open("/etc/passwd/x", O_RDONLY), ENOTDIR, "path through a regular file");
    int fd = open("/dev/null", O_RDONLY);
    CHECK(fd >= 0, "open /dev/null read-only");
    EXPECT_ERRNO(write(fd, "x", 1), EBADF, "write to a read-only fd");
    close(fd);
    CHECK(pipe(p) == 0, "pipe");
    EXPECT_ERRNO(lseek(p[0], 0, SEEK_SET), ESPIPE, "lseek on a pipe");
    /* Bad pointers: the kernel reports EFAULT. */
    EXPECT_ERRNO(write(p[1], (void *)guest_bad_ptr(16), 10), EFAULT, "write from address 16");
    EXPECT_ERRNO(write(p[1], (void *)guest_bad_ptr(0xffff800000000000ULL), 10), EFAULT, "write from a kernel address");
    fd = open("/dev/zero", O_RDONLY);
    EXPECT_ERRNO(read(fd, (void *)guest_bad_ptr(8), 10), EFAULT, "read into address 8");
    close(fd);
    EXPECT_ERRNO(open((const char *)guest_bad_ptr(24), O_RDONLY), EFAULT, "open with a bad path pointer");
    EXPECT_ERRNO(stat("/", (struct stat *)guest_bad_ptr(40)), EFAULT, "stat into a bad buffer");
    EXPECT_ERRNO(pipe((int *)guest_bad_ptr(64)), EFAULT, "pipe into a bad array");
    EXPECT_ERRNO(syscall(SYS_getcwd, (char *)guest_bad_ptr(72), 100), EFAULT, "getcwd into a bad buffer");
    EXPECT_ERRNO(syscall(SYS_getcwd, buf, 1), ERANGE, "getcwd into a 1-byte buffer");
    EXPECT_ERRNO(fcntl(p[0], 99999), EINVAL, "fcntl unknown command");
    EXPECT_ERRNO(lseek(0x7fff, 0, SEEK_SET), EBADF, "lseek unopened fd");
    fd = open("/proc/self/exe", O_RDONLY);
    CHECK(fd >= 0, "open /proc/self/exe");
    EXPECT_ERRNO(lseek(fd, -1, SEEK_SET), EINVAL, "lseek a file to a negative offset");
    close(fd);
    for (int e = 1; e <= 40; e++)
        printf("strerror(%d)=%s\n", e, strerror(e));
    return guest_done();
}
