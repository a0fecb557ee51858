/* fileio DIR: file-system calls inside an empty directory DIR (created by the test). */
#include "guest.h"
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/xattr.h>
#include <sys/uio.h>
#include <unistd.h>

static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void list(const char *path) {
    DIR *d = opendir(path);
    CHECK(d != NULL, "opendir %s", path);
    if (!d) return;
    char *names[64];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < 64) {
        char type = e->d_type == DT_DIR ? 'd' : e->d_type == DT_REG ? 'f' : e->d_type == DT_LNK ? 'l' : '?';
        char *s;
        if (asprintf(&s, "%s (%c)", e->d_name, type) < 0) abort();
        names[n++] = s;
    }
    closedir(d);
    qsort(names, n, sizeof *names, cmp);
    printf("listing of %s:", strrchr(path, '/') ? strrchr(path, '/') + 1 : path);
    for (int i = 0; i < n; i++) { printf(" %s", names[i]); free(names[i]); }
    printf("\n");
}

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: fileio DIR\n"); return 2; }
    CHECK(chdir(argv[1]) == 0, "chdir DIR");
    char cwd[PATH_MAX];
    CHECK(getcwd(cwd, sizeof cwd) != NULL, "getcwd");

    int fd = open("a.txt", O_CREAT | O_EXCL | O_RDWR, 0640);
    CHECK(fd >= 0, "open O_CREAT|O_EXCL");
    EXPECT_ERRNO(open("a.txt", O_CREAT | O_EXCL | O_RDWR, 0640), EEXIST, "open O_EXCL existing");
    const char *msg = "0123456789abcdefghij";
    CHECK(write(fd, msg, 20) == 20, "write 20 bytes");
    CHECK(lseek(fd, 0, SEEK_CUR) == 20, "lseek SEEK_CUR == 20");
    CHECK(lseek(fd, 5, SEEK_SET) == 5, "lseek SEEK_SET 5");
    char buf[64] = {0};
    CHECK(read(fd, buf, 5) == 5 && memcmp(buf, "56789", 5) == 0, "read 5 after seek");
    CHECK(lseek(fd, -3, SEEK_END) == 17, "lseek SEEK_END -3");
    memset(buf, 0, sizeof buf);
    CHECK(read(fd, buf, sizeof buf) == 3 && strcmp(buf, "hij") == 0, "short read at end");
    CHECK(read(fd, buf, sizeof buf) == 0, "read at EOF returns 0");
    CHECK(pwrite(fd, "XY", 2, 10) == 2, "pwrite at 10");
    memset(buf, 0, sizeof buf);
    CHECK(pread(fd, buf, 4, 9) == 4 && memcmp(buf, "9XYc", 4) == 0, "pread sees pwrite");
    CHECK(lseek(fd, 0, SEEK_CUR) == 20, "pread/pwrite leave the offset");
    struct iovec iov[2] = {{"<<", 2}, {">>", 2}};
    CHECK(writev(fd, iov, 2) == 4, "writev 2+2");
    struct stat st;
    CHECK(fstat(fd, &st) == 0 && st.st_size == 24, "fstat size 24");
    CHECK(S_ISREG(st.st_mode) && (st.st_mode & 07777) == 0640, "fstat mode regular 0640");
    CHECK(ftruncate(fd, 8) == 0, "ftruncate 8");
    CHECK(fstat(fd, &st) == 0 && st.st_size == 8, "size after ftruncate 8");
    CHECK(fsync(fd) == 0, "fsync");
    int fd2 = dup(fd);
    CHECK(fd2 > fd, "dup returns a higher fd");
    CHECK(lseek(fd2, 0, SEEK_SET) == 0 && lseek(fd, 0, SEEK_CUR) == 0, "dup shares the offset");
    CHECK(dup2(fd, 100) == 100, "dup2 to 100");
    CHECK(fcntl(100, F_GETFD) == 0, "dup2 target has no FD_CLOEXEC");
    CHECK(fcntl(100, F_SETFD, FD_CLOEXEC) == 0 && fcntl(100, F_GETFD) == FD_CLOEXEC, "F_SETFD FD_CLOEXEC");
    CHECK((fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDWR, "F_GETFL O_RDWR");
    CHECK(close(100) == 0 && close(fd2) == 0 && close(fd) == 0, "close three fds");
    EXPECT_ERRNO(close(fd), EBADF, "close closed fd");

    fd = open("a.txt", O_WRONLY | O_APPEND);
    CHECK(fd >= 0 && write(fd, "+app", 4) == 4, "O_APPEND write");
    close(fd);
    CHECK(stat("a.txt", &st) == 0 && st.st_size == 12, "stat size 12 after append");
    CHECK(access("a.txt", R_OK | W_OK) == 0, "access R_OK|W_OK");
    EXPECT_ERRNO(access("nope.txt", F_OK), ENOENT, "access missing");

    CHECK(mkdir("sub", 0755) == 0, "mkdir sub");
    EXPECT_ERRNO(mkdir("sub", 0755), EEXIST, "mkdir existing");
    CHECK(rename("a.txt", "sub/b.txt") == 0, "rename into sub");
    CHECK(symlink("sub/b.txt", "link") == 0, "symlink");
    char target[64] = {0};
    CHECK(readlink("link", target, sizeof target - 1) == 9 && strcmp(target, "sub/b.txt") == 0, "readlink");
    CHECK(lstat("link", &st) == 0 && S_ISLNK(st.st_mode), "lstat sees a symlink");
    CHECK(stat("link", &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 12, "stat follows the symlink");
    CHECK(link("sub/b.txt", "hard") == 0, "link");
    CHECK(stat("hard", &st) == 0 && st.st_nlink == 2, "nlink 2");
    int dfd = open("sub", O_RDONLY | O_DIRECTORY);
    CHECK(dfd >= 0, "open directory");
    fd = openat(dfd, "c.txt", O_CREAT | O_WRONLY | O_TRUNC, 0600);
    CHECK(fd >= 0, "openat relative to a directory fd");
    FILE *f = fdopen(fd, "w");
    for (int i = 0; i < 1000; i++) fprintf(f, "line %d\n", i);
    CHECK(fclose(f) == 0, "fclose after 1000 lines");
    CHECK(fstatat(dfd, "c.txt", &st, 0) == 0 && st.st_size == 8890, "fstatat size 8890");
    EXPECT_ERRNO(openat(dfd, "missing", O_RDONLY), ENOENT, "openat missing");
    EXPECT_ERRNO(rmdir("sub"), ENOTEMPTY, "rmdir non-empty");
    EXPECT_ERRNO(open("sub", O_WRONLY), EISDIR, "open directory for writing");
    EXPECT_ERRNO(open("hard/x", O_RDONLY), ENOTDIR, "path through a file");
    list(".");
    list("sub");
    CHECK(chdir("sub") == 0, "chdir sub");
    char cwd2[PATH_MAX];
    CHECK(getcwd(cwd2, sizeof cwd2) && strlen(cwd2) == strlen(cwd) + 4 && strcmp(cwd2 + strlen(cwd), "/sub") == 0,
          "getcwd ends with /sub");
    CHECK(chdir("..") == 0, "chdir ..");
    CHECK(unlinkat(dfd, "c.txt", 0) == 0, "unlinkat");
    close(dfd);
    CHECK(unlink("link") == 0 && unlink("hard") == 0 && unlink("sub/b.txt") == 0, "unlink three names");
    CHECK(rmdir("sub") == 0, "rmdir sub");
    EXPECT_ERRNO(unlink("sub"), ENOENT, "unlink removed");
    list(".");
    /* extended attributes: whatever the filesystem supports, the same answers natively */
    {
        int x = open("x.txt", O_CREAT | O_WRONLY, 0644);
        close(x);
        errno = 0;
        long r = setxattr("x.txt", "user.herd", "42", 2, XATTR_CREATE);
        int supported = r == 0;
        printf("setxattr user.herd: %s\n", r == 0 ? "ok" : strerrorname_np(errno));
        char v[16] = {0};
        if (supported) {
            CHECK(getxattr("x.txt", "user.herd", NULL, 0) == 2, "getxattr size query: 2");
            CHECK(getxattr("x.txt", "user.herd", v, sizeof v) == 2 && !memcmp(v, "42", 2), "getxattr value");
            CHECK(lgetxattr("x.txt", "user.herd", v, sizeof v) == 2, "lgetxattr value");
            char names[64];
            CHECK(listxattr("x.txt", names, sizeof names) >= 10 && !strcmp(names, "user.herd"), "listxattr names it");
            EXPECT_ERRNO(setxattr("x.txt", "user.herd", "7", 1, XATTR_CREATE), EEXIST, "setxattr XATTR_CREATE again");
            EXPECT_ERRNO(getxattr("x.txt", "user.herd", v, 1), ERANGE, "getxattr into a small buffer");
            CHECK(removexattr("x.txt", "user.herd") == 0, "removexattr");
        }
        EXPECT_ERRNO(getxattr("x.txt", "user.none", v, sizeof v), supported ? ENODATA : errno, "getxattr of a missing name");
        EXPECT_ERRNO(getxattr("no-such-file", "user.herd", v, sizeof v), ENOENT, "getxattr of a missing file");
        EXPECT_ERRNO(getxattr("x.txt", "", v, sizeof v), ERANGE, "getxattr with an empty name");
        unlink("x.txt");
    }
    return guest_done();
}
