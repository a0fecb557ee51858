/* vfork_spawn: children that share their parent's memory until they exec or exit (vfork, and
 * clone(CLONE_VM|CLONE_VFORK) as glibc's posix_spawn, system and popen use): exit statuses through
 * waitpid/waitid, file actions, the child's own fd table and dispositions, memory shared until
 * exec, exec failure, WNOHANG, ECHILD, SIGCHLD, posix_spawn's POSIX_SPAWN_SETSID and
 * POSIX_SPAWN_SETPGROUP (the child's setsid/setpgid before its exec), and what a vfork child that
 * called setsid/setpgid is told before its exec. Prints only invariants.
 * argv[1] "ids": the spawned child's mode, exiting with 1 if it leads its session + 2 if its group. */
#include "guest.h"
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;
static volatile sig_atomic_t chld;
static void on_chld(int sig) { (void)sig; chld++; }
static void on_usr1(int sig) { (void)sig; }

static int status_of(pid_t pid) {
    int st = -1;
    pid_t r;
    do r = waitpid(pid, &st, 0); while (r < 0 && errno == EINTR);
    return r == pid ? st : -1000;
}

/* posix_spawn of this program in "ids" mode with spawn flags; its exit status, or -1. */
static int spawn_ids(short flags) {
    posix_spawnattr_t at;
    posix_spawnattr_init(&at);
    posix_spawnattr_setflags(&at, flags);
    posix_spawnattr_setpgroup(&at, 0);
    char *args[] = {"vfork_spawn", "ids", NULL};
    pid_t pid;
    int rc = posix_spawn(&pid, "/proc/self/exe", NULL, &at, args, environ);
    posix_spawnattr_destroy(&at);
    if (rc != 0) return -1;
    int st = status_of(pid);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* vfork, and in the child before any exec setsid (session) or setpgid(0, 0), then what it is told:
 * 1 if getsid(0) is its pid + 2 if getpgrp() is + 4 if getpgid(0) is; 100 if the call failed. */
static int vfork_ids(int session) {
    pid_t pid = vfork();
    if (pid == 0) {
        pid_t self = getpid();
        if (session ? setsid() != self : setpgid(0, 0) != 0) _exit(100);
        _exit((getsid(0) == self) | (getpgrp() == self) << 1 | (getpgid(0) == self) << 2);
    }
    if (pid < 0) return -1;
    int st = status_of(pid);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* What a vfork child sees of its parent (it runs on the parent's thread under Herd): 1 if its
 * getppid is the parent's pid + 2 if its getpgrp is the parent's group. */
static volatile pid_t seen_ppid, seen_pgrp;
static int vfork_parent_ids(void) {
    pid_t pid = vfork();
    if (pid == 0) {
        seen_ppid = getppid();
        seen_pgrp = getpgrp();
        _exit(0);
    }
    if (pid < 0) return -1;
    status_of(pid);
    return (seen_ppid == getpid()) | (seen_pgrp == getpgrp()) << 1;
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "ids") == 0) return (getsid(0) == getpid()) | (getpgid(0) == getpid()) << 1;
    setvbuf(stdout, NULL, _IONBF, 0);
    /* "no-shell": a root without /bin/sh (the arm64 test rootfs) */
    int shell = !(argc > 1 && strcmp(argv[1], "no-shell") == 0);
    struct sigaction sa = {.sa_handler = on_chld, .sa_flags = SA_RESTART}; /* reads and waits go on */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGCHLD, &sa, NULL);
    struct sigaction su = {.sa_handler = on_usr1};
    sigemptyset(&su.sa_mask);
    sigaction(SIGUSR1, &su, NULL);

    errno = 0;
    CHECK(waitpid(-1, NULL, WNOHANG) == -1 && errno == ECHILD, "waitpid with no children: ECHILD");

    pid_t pid;
    char *t[] = {"true", NULL};
    CHECK(posix_spawn(&pid, "/bin/true", NULL, NULL, t, environ) == 0 && pid > 0, "posix_spawn /bin/true");
    int st = status_of(pid);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "it exits 0");

    int p[2];
    CHECK(pipe(p) == 0, "a pipe");
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, p[1], 1);
    posix_spawn_file_actions_addclose(&fa, p[0]);
    char *e[] = {"echo", "hello", "spawn", NULL};
    CHECK(posix_spawn(&pid, "/bin/echo", &fa, NULL, e, environ) == 0, "posix_spawn echo with stdout to the pipe");
    close(p[1]);
    char buf[64] = {0};
    ssize_t n = 0, k;
    while ((k = read(p[0], buf + n, sizeof buf - 1 - n)) > 0) n += k;
    CHECK(strcmp(buf, "hello spawn\n") == 0, "its output arrives through the pipe");
    st = status_of(pid);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "echo exits 0");
    close(p[0]);
    posix_spawn_file_actions_destroy(&fa);
    struct sigaction now;
    sigaction(SIGUSR1, NULL, &now);
    CHECK(now.sa_handler == on_usr1, "the parent's handler survives the child's reset");

    if (shell) {
        char *sh[] = {"sh", "-c", "exit 3", NULL};
        CHECK(posix_spawnp(&pid, "sh", NULL, NULL, sh, environ) == 0, "posix_spawnp sh -c 'exit 3'");
        st = status_of(pid);
        CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 3, "exit status 3");
        st = system("exit 5");
        CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 5, "system(\"exit 5\") is 5");
        FILE *f = popen("echo from popen", "r");
        CHECK(f && fgets(buf, sizeof buf, f) && strcmp(buf, "from popen\n") == 0, "popen reads the command's output");
        CHECK(f && pclose(f) == 0, "pclose: 0");
        char *k[] = {"sh", "-c", "kill -TERM $$", NULL};
        CHECK(posix_spawn(&pid, "/bin/sh", NULL, NULL, k, environ) == 0, "posix_spawn a shell that kills itself");
        st = status_of(pid);
        CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM, "its death by SIGTERM reaches waitpid");
    }

    volatile int shared = 1;
    int before = fcntl(1, F_GETFD);
    pid = vfork();
    if (pid == 0) {
        shared = 2;     /* the parent's memory: vfork shares it */
        close(1);       /* the child's own fd table */
        _exit(7);
    }
    st = status_of(pid);
    CHECK(pid > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 7, "vfork child's _exit(7) reaches waitpid");
    CHECK(shared == 2, "the vfork child wrote the parent's memory");
    CHECK(fcntl(1, F_GETFD) == before, "the child's close(1) left the parent's fd 1 open");

    pid = vfork();
    if (pid == 0) {
        execl("/nonexistent/program", "x", (char *)NULL);
        _exit(127);
    }
    st = status_of(pid);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 127, "a failed exec in the child: 127");

    char *sl[] = {"sleep", "0.3", NULL};
    CHECK(posix_spawn(&pid, "/bin/sleep", NULL, NULL, sl, environ) == 0, "posix_spawn sleep 0.3");
    CHECK(waitpid(pid, &st, WNOHANG) == 0, "WNOHANG while it runs: 0");
    siginfo_t si;
    memset(&si, 0, sizeof si);
    CHECK(waitid(P_PID, pid, &si, WEXITED) == 0 && si.si_pid == pid && si.si_code == CLD_EXITED && si.si_status == 0,
          "waitid: CLD_EXITED, status 0");
    for (int i = 0; i < 200 && chld == 0; i++) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    CHECK(chld > 0, "SIGCHLD arrived");
    errno = 0;
    CHECK(waitpid(-1, NULL, 0) == -1 && errno == ECHILD, "all reaped: ECHILD");
    CHECK(spawn_ids(0) == 0, "a spawned child is in its parent's session and group");
    CHECK(spawn_ids(POSIX_SPAWN_SETPGROUP) == 2, "POSIX_SPAWN_SETPGROUP 0: it leads a group of its own");
    CHECK(spawn_ids(POSIX_SPAWN_SETSID) == 3, "POSIX_SPAWN_SETSID: it leads a session and its group");
    CHECK(vfork_ids(1) == 7, "a vfork child's setsid: getsid, getpgrp and getpgid name it before its exec");
    CHECK(vfork_ids(0) == 6, "a vfork child's setpgid(0, 0): its own group, its parent's session, before its exec");
    CHECK(vfork_parent_ids() == 3, "a vfork child's getppid and getpgrp are its parent's pid and group");
    /* the same with the parent leading its own group (under Herd: the JVM is the group's leader) */
    CHECK(setpgid(0, 0) == 0 && getpgrp() == getpid(), "the parent leads a group of its own");
    CHECK(vfork_parent_ids() == 3, "then a vfork child's getpgrp is that group");
    return guest_done();
}
