/* fork_reuse: forks back to back, as a shell loop does, and checks that every child starts from
 * its parent's state and from nothing a child before it left behind. Herd runs a later child in
 * the JVM of an earlier one once that one's guest exited (a reused spare), so each child changes
 * what it can before it exits: its cwd, umask, signal actions and mask, a resource limit, a
 * pending signal, open fds; and some change host state that stays with a process (a new process
 * group, a nice value, a child left running), after which Herd must not reuse that JVM. Between
 * forks the parent changes what the next child inherits. A signal sent to a child that has exited
 * but is not yet reaped (a zombie) is accepted and reaches no one; after the reap the pid is gone.
 * Then: a signal sent to the process group between forks (when Herd has an idle spare) does not
 * reach the child forked after it, and one sent once fork has returned does.
 * Usage: fork_reuse [ROUNDS] */
#include "guest.h"
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static void on_term(int sig) { (void)sig; }

static volatile sig_atomic_t urgent;
static void on_urg(int sig) { (void)sig; urgent++; }

/* A helper in the group sends SIGURG to the whole group on request; each time, the child forked
 * right after it must not get it, and the child forked right before it must. */
static void group_signal_rounds(void) {
    signal(SIGURG, on_urg);
    int req[2], ack[2];
    CHECK(pipe(req) == 0 && pipe(ack) == 0, "pipes");
    pid_t helper = fork();
    if (helper == 0) {
        close(req[1]);
        close(ack[0]);
        char c;
        while (read(req[0], &c, 1) == 1) {
            kill(-getpgrp(), SIGURG);
            if (write(ack[1], "k", 1) != 1) _exit(3);
        }
        _exit(0);
    }
    CHECK(helper > 0, "the helper");
    close(req[0]);
    close(ack[1]);
    for (int round = 0; round < 3; round++) {
        pid_t a = fork();
        if (a == 0) _exit(0);
        CHECK(a > 0 && waitpid(a, NULL, 0) == a, "group round %d: a child came and went", round);
        usleep(150000); /* (under Herd its JVM is an idle spare by now) */
        sig_atomic_t before = urgent;
        char c;
        CHECK(write(req[1], "x", 1) == 1 && read(ack[0], &c, 1) == 1, "group round %d: the helper signalled the group", round);
        for (int i = 0; i < 200 && urgent == before; i++) usleep(5000);
        CHECK(urgent == before + 1, "group round %d: the parent got SIGURG once", round);
        sig_atomic_t at_fork = urgent; /* the child's copy: what it must still read after a while */
        pid_t b = fork();
        if (b == 0) {
            usleep(100000);
            _exit(urgent == at_fork ? 0 : 1);
        }
        int st;
        CHECK(b > 0 && waitpid(b, &st, 0) == b, "group round %d: waitpid", round);
        CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "group round %d: the group's signal, sent before the fork, did not reach the child", round);
        /* and one sent as soon as fork has returned reaches the child, which is in the group by then */
        at_fork = urgent;
        pid_t d = fork();
        if (d == 0) {
            for (int i = 0; i < 400 && urgent == at_fork; i++) usleep(5000);
            _exit(urgent == at_fork + 1 ? 0 : 1);
        }
        CHECK(d > 0 && write(req[1], "x", 1) == 1 && read(ack[0], &c, 1) == 1, "group round %d: the helper signalled the group after the fork", round);
        CHECK(waitpid(d, &st, 0) == d && WIFEXITED(st) && WEXITSTATUS(st) == 0,
              "group round %d: the group's signal, sent once fork returned, reached the child", round);
    }
    close(req[1]);
    int st;
    CHECK(waitpid(helper, &st, 0) == helper && WIFEXITED(st) && WEXITSTATUS(st) == 0, "the helper ended");
    close(ack[0]);
}

int main(int argc, char **argv) {
    int rounds = argc > 1 ? atoi(argv[1]) : 16;
    setvbuf(stdout, NULL, _IONBF, 0);
    CHECK(setpgid(0, 0) == 0, "a process group of its own (its signals stay in it)");
    CHECK(chdir("/tmp") == 0, "chdir /tmp");
    pid_t parent = getpid(), parent_group = getpgrp();
    int parent_nice = getpriority(PRIO_PROCESS, 0);
    struct rlimit files;
    CHECK(getrlimit(RLIMIT_NOFILE, &files) == 0, "getrlimit");
    for (int round = 0; round < rounds; round++) {
        mode_t mask = round % 2 ? 022 : 077;
        umask(mask);
        signal(SIGUSR1, round % 2 ? SIG_IGN : SIG_DFL);
        sigset_t blocked;
        sigemptyset(&blocked);
        if (round % 3 == 0) sigaddset(&blocked, SIGUSR2);
        sigprocmask(SIG_SETMASK, &blocked, NULL);
        int p[2];
        CHECK(pipe(p) == 0, "pipe");
        pid_t pid = fork();
        if (pid == 0) {
            close(p[0]);
            char cwd[64] = "";
            struct sigaction usr1, term;
            sigset_t now, pending;
            struct rlimit lim;
            sigaction(SIGUSR1, NULL, &usr1);
            sigaction(SIGTERM, NULL, &term);
            sigprocmask(SIG_SETMASK, NULL, &now);
            sigpending(&pending);
            getrlimit(RLIMIT_NOFILE, &lim);
            mode_t inherited = umask(0);
            int bad = 0;
            if (!getcwd(cwd, sizeof cwd) || strcmp(cwd, "/tmp") != 0) bad |= 1;
            if (inherited != mask) bad |= 2;
            if ((usr1.sa_handler == SIG_IGN) != (round % 2 == 1)) bad |= 4;
            if (term.sa_handler != SIG_DFL) bad |= 8;
            if (sigismember(&now, SIGUSR2) != (round % 3 == 0) || sigismember(&now, SIGHUP)) bad |= 16;
            if (sigismember(&pending, SIGHUP) || sigismember(&pending, SIGUSR2)) bad |= 32;
            if (lim.rlim_cur != files.rlim_cur) bad |= 64;
            if (getpriority(PRIO_PROCESS, 0) != parent_nice) bad |= 128;
            if (getpgrp() != parent_group || getppid() != parent || getpid() == parent) bad |= 256;
            if (fcntl(100, F_GETFD) != -1) bad |= 512; /* a fd a child before left open */
            char line[32];
            int len = snprintf(line, sizeof line, "%d %d\n", round, bad);
            if (write(p[1], line, len) != len) _exit(99);
            /* What this child leaves behind. */
            chdir("/");
            signal(SIGTERM, on_term);
            sigaddset(&now, SIGHUP);
            sigprocmask(SIG_BLOCK, &now, NULL);
            raise(SIGHUP); /* pending (blocked) at exit */
            struct rlimit lower = {lim.rlim_cur / 2, lim.rlim_max};
            setrlimit(RLIMIT_NOFILE, &lower);
            dup2(p[1], 100);
            if (round % 5 == 2) setpgid(0, 0);
            if (round % 5 == 3) setpriority(PRIO_PROCESS, 0, parent_nice + 3);
            if (round % 5 == 4 && fork() == 0) { usleep(100000); _exit(0); }
            _exit(round % 100);
        }
        CHECK(pid > 0, "round %d: fork", round);
        close(p[1]);
        char buf[64] = "";
        ssize_t n = 0, r;
        while ((r = read(p[0], buf + n, sizeof buf - 1 - n)) > 0) n += r;
        close(p[0]);
        int got_round = -1, bad = -1;
        CHECK(sscanf(buf, "%d %d", &got_round, &bad) == 2 && got_round == round,
              "round %d: the child's report (%s)", round, buf);
        CHECK(bad == 0, "round %d: the child inherited something wrong (bits %#x)", round, bad);
        /* The child has exited (its pipe is at EOF): a zombie until the wait. The signal is
         * accepted, and must not reach whatever runs next. */
        usleep(20000);
        CHECK(kill(pid, SIGTERM) == 0, "round %d: kill of the zombie is accepted", round);
        int st;
        CHECK(waitpid(pid, &st, 0) == pid, "round %d: waitpid", round);
        CHECK(WIFEXITED(st) && WEXITSTATUS(st) == round % 100, "round %d: exit status %#x", round, st);
        errno = 0;
        CHECK(kill(pid, 0) == -1 && errno == ESRCH, "round %d: the reaped pid is gone", round);
    }
    printf("%d rounds\n", rounds);
    group_signal_rounds();
    return guest_done();
}
