/* spawn_warm: posix_spawn's children start as their parent set them up, four rounds over. Under
 * herd with HERD_FORK_SPARE=wait the first round starts a child Herd and the others run in the
 * warm fork spare that each spawn leaves behind (ForkProgramsTest and Aarch64ProgramsTest check
 * that they did); natively every child is the kernel's. What a child checks ("child" mode):
 * argv, environment, parent pid, cwd, umask, stdin from a file action, an fd at a number chosen by
 * dup2, an inherited fd and a close-on-exec one, the mask set by the spawn, an ignored signal kept
 * and a handled one reset, SETSIGDEF, RLIMIT_NOFILE, and the process group or session asked for.
 * The parent checks the pid it got against the child's getpid, what it can see of the child
 * before waiting (group, session) and once it has exited but is not yet reaped, exit statuses
 * and a kill. Prints only invariants. */
#include "guest.h"
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define REPORT_FD 7
#define KEPT_FD 9
#define CLOEXEC_FD 10

static void on_term(int sig) { (void) sig; }

static int child(int round, pid_t parent) {
    CHECK(getppid() == parent, "child %d: its parent is the process that spawned it", round);
    pid_t self = getpid();
    char want[32];
    snprintf(want, sizeof want, "%d", round);
    const char *env = getenv("SPAWN_ROUND");
    CHECK(env && strcmp(env, want) == 0, "child %d: the environment given", round);
    char cwd[4096];
    CHECK(getcwd(cwd, sizeof cwd) && strlen(cwd) >= 4 && strcmp(cwd + strlen(cwd) - 4, "/sub") == 0,
          "child %d: the parent's cwd", round);
    mode_t m = umask(0);
    CHECK(m == 027, "child %d: umask 027", round);
    char line[16] = {0};
    CHECK(read(0, line, sizeof line - 1) == 6 && strcmp(line, "input\n") == 0, "child %d: stdin is the file", round);
    CHECK(fcntl(KEPT_FD, F_GETFD) == 0, "child %d: fd %d inherited", round, KEPT_FD);
    errno = 0;
    CHECK(fcntl(CLOEXEC_FD, F_GETFD) == -1 && errno == EBADF, "child %d: the close-on-exec fd is not", round);
    sigset_t now;
    sigprocmask(SIG_SETMASK, NULL, &now);
    CHECK(sigismember(&now, SIGUSR2) && !sigismember(&now, SIGINT), "child %d: the spawn's mask", round);
    struct sigaction sa;
    sigaction(SIGUSR1, NULL, &sa);
    CHECK(sa.sa_handler == SIG_IGN, "child %d: SIGUSR1 still ignored", round);
    sigaction(SIGTERM, NULL, &sa);
    CHECK(sa.sa_handler == SIG_DFL, "child %d: SIGTERM's handler reset", round);
    sigaction(SIGHUP, NULL, &sa);
    CHECK(sa.sa_handler == SIG_DFL, "child %d: SIGHUP back to default (SETSIGDEF)", round);
    struct rlimit rl;
    CHECK(getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur == 200, "child %d: RLIMIT_NOFILE 200", round);
    if (round == 1) CHECK(getpgrp() == self && getsid(0) != self, "child %d: a process group of its own", round);
    if (round == 2) CHECK(getsid(0) == self && getpgrp() == self, "child %d: a session of its own", round);
    /* Last: the parent reads it before it waits (and in round 3 kills this child then). */
    if (write(REPORT_FD, &self, sizeof self) != sizeof self) return 1;
    close(REPORT_FD);
    if (round == 3) pause();
    return guest_failures ? 1 : 40 + round;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc > 3 && strcmp(argv[1], "child") == 0) return child(atoi(argv[2]), (pid_t) atoi(argv[3]));

    mkdir("sub", 0755);
    CHECK(chdir("sub") == 0, "chdir sub");
    int in = open("in.txt", O_RDWR | O_CREAT | O_TRUNC, 0644);
    CHECK(in >= 0 && write(in, "input\n", 6) == 6, "the child's stdin file");
    umask(027);
    CHECK(dup2(open("/dev/null", O_RDONLY), KEPT_FD) == KEPT_FD, "fd %d open", KEPT_FD);
    CHECK(dup3(open("/dev/null", O_RDONLY), CLOEXEC_FD, O_CLOEXEC) == CLOEXEC_FD, "fd %d close-on-exec", CLOEXEC_FD);
    signal(SIGUSR1, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    struct sigaction sa = {.sa_handler = on_term};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = 200;
    CHECK(setrlimit(RLIMIT_NOFILE, &rl) == 0, "RLIMIT_NOFILE 200");
    char self[16];
    snprintf(self, sizeof self, "%d", (int) getpid());

    for (int round = 0; round < 4; round++) {
        lseek(in, 0, SEEK_SET);
        int p[2];
        CHECK(pipe2(p, O_CLOEXEC) == 0, "round %d: the report pipe", round);
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, in, 0);
        posix_spawn_file_actions_adddup2(&fa, p[1], REPORT_FD);
        posix_spawnattr_t at;
        posix_spawnattr_init(&at);
        sigset_t mask, def;
        sigemptyset(&mask);
        sigaddset(&mask, SIGUSR2);
        sigemptyset(&def);
        sigaddset(&def, SIGHUP);
        posix_spawnattr_setsigmask(&at, &mask);
        posix_spawnattr_setsigdefault(&at, &def);
        short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
        if (round == 1) flags |= POSIX_SPAWN_SETPGROUP;
        if (round == 2) flags |= POSIX_SPAWN_SETSID;
        posix_spawnattr_setflags(&at, flags);
        posix_spawnattr_setpgroup(&at, 0);
        char r[4];
        snprintf(r, sizeof r, "%d", round);
        char *args[] = {"spawn_warm", "child", r, self, NULL};
        char envvar[32];
        snprintf(envvar, sizeof envvar, "SPAWN_ROUND=%d", round);
        char *env[] = {envvar, NULL};
        pid_t pid = -1;
        int rc = posix_spawn(&pid, "/proc/self/exe", &fa, &at, args, env);
        /* Nothing printed until the child is waited for: its lines come in between. */
        pid_t group = getpgid(pid), session = getsid(pid);
        close(p[1]);
        pid_t reported = 0;
        ssize_t n = read(p[0], &reported, sizeof reported);
        close(p[0]);
        if (round == 3) kill(pid, SIGKILL);
        /* Exited, not yet reaped: a zombie still answers with its group and session (its JVM
         * under herd may serve as a spare elsewhere by then). */
        siginfo_t si = {0};
        int waited;
        do waited = waitid(P_PID, pid, &si, WEXITED | WNOWAIT); while (waited < 0 && errno == EINTR);
        pid_t zombie_group = getpgid(pid), zombie_session = getsid(pid);
        int st = 0;
        pid_t w;
        do w = waitpid(pid, &st, 0); while (w < 0 && errno == EINTR);
        errno = 0;
        int reaped_gone = getsid(pid) == -1 && errno == ESRCH;
        CHECK(rc == 0, "round %d: posix_spawn", round);
        CHECK(n == sizeof reported && reported == pid, "round %d: the pid posix_spawn gave is the child's getpid", round);
        /* Ids only in failures: the lines are compared with a native run's. */
        if (round == 1) CHECK(group == pid, "round %d: the child leads its group when posix_spawn returns", round);
        if (round == 2) CHECK(session == pid, "round %d: the child leads its session when posix_spawn returns", round);
        CHECK(waited == 0 && si.si_pid == pid, "round %d: waitid WNOWAIT sees the child exited", round);
        CHECK(zombie_group == group && zombie_session == session,
              "round %d: the exited child keeps its group and session until reaped", round);
        if ((round == 1 && group != pid) || (round == 2 && session != pid) || zombie_group != group || zombie_session != session) {
            printf("  round %d: pid %d, group %d then %d, session %d then %d\n", round, (int) pid, (int) group, (int) zombie_group,
                   (int) session, (int) zombie_session);
        }
        CHECK(w == pid, "round %d: waitpid", round);
        CHECK(reaped_gone, "round %d: once reaped, getsid of its pid is ESRCH", round);
        if (round == 3) CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "round %d: killed by SIGKILL", round);
        else CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 40 + round, "round %d: exit status %d", round, 40 + round);
        posix_spawn_file_actions_destroy(&fa);
        posix_spawnattr_destroy(&at);
    }
    return guest_done();
}
