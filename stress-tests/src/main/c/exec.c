/* exec: execve. The errors the kernel gives before the point of no return (ENOENT, EACCES for a
 * directory and for a file without execute permission, ENOEXEC, EFAULT, ELOOP with
 * AT_SYMLINK_NOFOLLOW); then the program re-executes itself as "exec child" through a #! script
 * once and directly once, and the new image checks what execve keeps: argv and envp exactly, fds
 * without FD_CLOEXEC (with their offsets), no FD_CLOEXEC fd, SIG_IGN kept, handlers reset to
 * SIG_DFL, the blocked mask kept, the cwd, the umask, resource limits. The new image's exit
 * status (42) is the process's.
 * argv[1]: a scratch directory (the parent) or "child". */
#include "guest.h"
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

extern char **environ;

static void on_term(int sig) { (void)sig; }

static int child(int argc, char **argv) {
    /* through the script the kernel inserts its path: interpreter, "child", "run.sh", argv[1..] */
    int k = argc == 5 && !strcmp(argv[2], "run.sh");
    printf("child: %s\n", k ? "started by the script's interpreter line" : "started directly");
    CHECK(argc == 4 + k && !strcmp(argv[2 + k], "two words") && !strcmp(argv[3 + k], ""), "argv arrived exactly");
    CHECK(getenv("HERD_EXEC_TEST") && !strcmp(getenv("HERD_EXEC_TEST"), "yes=1"), "envp arrived");
    CHECK(getenv("HOME") == NULL, "only the given envp");
    char buf[8] = {0};
    CHECK(fcntl(5, F_GETFD) == 0 && read(5, buf, 3) == 3 && !memcmp(buf, "llo", 3), "fd 5 open, at its offset");
    errno = 0;
    CHECK(fcntl(6, F_GETFD) == -1 && errno == EBADF, "the FD_CLOEXEC fd 6 is closed");
    struct sigaction sa;
    sigaction(SIGUSR1, NULL, &sa);
    CHECK(sa.sa_handler == SIG_IGN, "SIG_IGN kept");
    sigaction(SIGTERM, NULL, &sa);
    CHECK(sa.sa_handler == SIG_DFL, "a handler becomes SIG_DFL");
    sigset_t m;
    sigprocmask(SIG_BLOCK, NULL, &m);
    CHECK(sigismember(&m, SIGUSR2) && !sigismember(&m, SIGTERM), "the blocked mask kept");
    CHECK(access("marker", F_OK) == 0, "the cwd kept");
    mode_t mask = umask(0);
    CHECK(mask == 053, "the umask kept (%03o)", (unsigned) mask);
    struct rlimit nofile, stack;
    CHECK(getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur == 100 && nofile.rlim_max == 200,
          "RLIMIT_NOFILE kept");
    CHECK(getrlimit(RLIMIT_STACK, &stack) == 0 && stack.rlim_cur == 4u << 20, "RLIMIT_STACK kept");
    printf("child: %s\n", guest_failures ? "FAIL" : "ok");
    fflush(stdout);
    return guest_failures ? 1 : 42;
}

int main(int argc, char **argv) {
    if (argc > 1 && !strcmp(argv[1], "child")) return child(argc, argv);
    const char *dir = argc > 1 ? argv[1] : "/tmp";
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    self[n > 0 ? n : 0] = 0;
    CHECK(chdir(dir) == 0, "chdir to the scratch directory");

    char *none[] = {"x", NULL};
    EXPECT_ERRNO(execve("no-such-program", none, environ), ENOENT, "execve a missing file");
    EXPECT_ERRNO(execve(".", none, environ), EACCES, "execve a directory");
    int f = open("plain", O_CREAT | O_WRONLY | O_TRUNC, 0644);
    write(f, "hello\n", 6);
    close(f);
    chmod("plain", 0644);
    EXPECT_ERRNO(execve("plain", none, environ), EACCES, "execve a file without execute permission");
    chmod("plain", 0755);
    EXPECT_ERRNO(execve("plain", none, environ), ENOEXEC, "execve a file that is no program");
    EXPECT_ERRNO(execve(guest_bad_ptr(16), none, environ), EFAULT, "execve with a bad path pointer");
    EXPECT_ERRNO(execve(self, guest_bad_ptr(16), environ), EFAULT, "execve with a bad argv pointer");
    symlink(self, "link");
    EXPECT_ERRNO(syscall(SYS_execveat, AT_FDCWD, "link", none, environ, AT_SYMLINK_NOFOLLOW), ELOOP,
                 "execveat(AT_SYMLINK_NOFOLLOW) of a symlink");

    f = open("marker", O_CREAT | O_WRONLY, 0644);
    close(f);
    int data = open("plain", O_RDONLY);
    dup2(data, 5);
    close(data);
    char skip[2];
    read(5, skip, 2); /* the child continues at offset 2 */
    int hidden = open("plain", O_RDONLY | O_CLOEXEC);
    dup3(hidden, 6, O_CLOEXEC);
    close(hidden);
    signal(SIGUSR1, SIG_IGN);
    signal(SIGTERM, on_term);
    sigset_t b;
    sigemptyset(&b);
    sigaddset(&b, SIGUSR2);
    sigprocmask(SIG_BLOCK, &b, NULL);
    umask(053);
    struct rlimit nofile = {100, 200}, stack;
    CHECK(setrlimit(RLIMIT_NOFILE, &nofile) == 0, "setrlimit RLIMIT_NOFILE 100/200");
    getrlimit(RLIMIT_STACK, &stack);
    stack.rlim_cur = 4u << 20;
    CHECK(setrlimit(RLIMIT_STACK, &stack) == 0, "setrlimit RLIMIT_STACK 4 MiB");

    /* through a #! script that runs this program: the interpreter gets the script's path */
    f = open("run.sh", O_CREAT | O_WRONLY | O_TRUNC, 0755);
    dprintf(f, "#!%s child\n", self);
    close(f);
    printf("parent: about to exec\n");
    fflush(stdout);
    char *args[] = {"exec", "two words", "", NULL};
    char *env[] = {"HERD_EXEC_TEST=yes=1", NULL};
    if (argc > 2 && !strcmp(argv[2], "script")) {
        /* run.sh is argv[0] for the kernel: interpreter, "child", "run.sh", then argv[1..] */
        char *sargs[] = {"run.sh", "two words", "", NULL};
        execve("run.sh", sargs, env);
    } else {
        char *dargs[] = {args[0], "child", args[1], args[2], NULL};
        execve(self, dargs, env);
    }
    CHECK(0, "execve returned");
    return guest_done();
}
