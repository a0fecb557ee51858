/* jobctl: job control between processes, as a shell uses it. A child stopped by SIGSTOP and by
 * SIGTSTP's default action (raised by itself, or sent by its parent) and continued by SIGCONT, as
 * waitpid with WUNTRACED/WCONTINUED and waitid with WSTOPPED/WCONTINUED report it (once; WNOWAIT
 * leaves it), SIGCHLD with CLD_STOPPED/CLD_CONTINUED (none with SA_NOCLDSTOP), a SIGTSTP handler
 * that runs instead of the stop, a blocking read that goes on across a stop, and the rule that
 * SIGCONT discards pending stop signals and a stop signal a pending SIGCONT. Children print
 * nothing, so the output order is fixed. */
#include "guest.h"
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t chld_count, chld_code, chld_status, chld_pid;
/* The sender is compared when checked: the child may stop (and SIGCHLD run) before the parent has
 * even stored the pid fork returned. */
static pid_t chld_expected;
#define chld_pid_ok (chld_pid == chld_expected)

static void on_chld(int sig, siginfo_t *si, void *uc) {
    (void) sig;
    (void) uc;
    chld_count++;
    chld_code = si->si_code;
    chld_status = si->si_status;
    chld_pid = si->si_pid;
}

static void chld_handler(int flags) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_chld;
    sa.sa_flags = SA_SIGINFO | SA_RESTART | flags;
    sigaction(SIGCHLD, &sa, NULL);
}

/* Waits up to 5 s for the SIGCHLD count to reach n; returns whether it did. */
static int await_chld(int n) {
    for (int i = 0; i < 500 && chld_count < n; i++) usleep(10000);
    return chld_count >= n;
}

static pid_t wait_for(pid_t pid, int *st, int options) {
    pid_t r;
    do r = waitpid(pid, st, options); while (r < 0 && errno == EINTR);
    return r;
}

static int waitid_for(pid_t pid, siginfo_t *si, int options) {
    int r;
    memset(si, 0, sizeof *si);
    do r = waitid(P_PID, pid, si, options); while (r < 0 && errno == EINTR);
    return r;
}

/* A child that stops itself with SIGSTOP, then exits with `code` once a byte arrives on *go (the
 * write end, the parent's): its exit cannot overtake the report of its continue. */
static pid_t stopping_child(int *go, int code) {
    int p[2];
    CHECK(pipe(p) == 0, "pipe");
    pid_t pid = fork();
    if (pid == 0) {
        close(p[1]);
        raise(SIGSTOP);
        char b;
        _exit(read(p[0], &b, 1) == 1 ? code : 8);
    }
    close(p[0]);
    *go = p[1];
    return pid;
}

static volatile sig_atomic_t tstp_handled;
static void on_tstp(int sig) { (void) sig; tstp_handled = 1; }

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    /* A process group of our own, whose leader's parent is in another group of the session: not
     * orphaned, so SIGTSTP's default action stops (Linux discards it in an orphaned group, as a
     * test runner started in the background can leave this process's group). */
    CHECK(setpgid(0, 0) == 0, "setpgid(0, 0)");
    chld_handler(0);
    int st;

    /* 1. The child stops itself with SIGSTOP; the parent sees the stop, continues it, sees that.
     * The child then waits for a byte, so that its exit cannot overtake the continue's report. */
    int go;
    pid_t pid = stopping_child(&go, 7);
    chld_expected = pid;
    CHECK(wait_for(pid, &st, WUNTRACED) == pid && WIFSTOPPED(st) && WSTOPSIG(st) == SIGSTOP,
          "waitpid WUNTRACED: stopped by SIGSTOP");
    CHECK(await_chld(1) && chld_code == CLD_STOPPED && chld_status == SIGSTOP && chld_pid_ok,
          "SIGCHLD: CLD_STOPPED, si_status SIGSTOP, si_pid the child");
    CHECK(wait_for(pid, &st, WUNTRACED | WNOHANG) == 0, "the stop is reported once");
    CHECK(kill(pid, SIGCONT) == 0, "kill SIGCONT");
    CHECK(wait_for(pid, &st, WCONTINUED) == pid && WIFCONTINUED(st), "waitpid WCONTINUED: continued");
    CHECK(await_chld(2) && chld_code == CLD_CONTINUED && chld_status == SIGCONT && chld_pid_ok,
          "SIGCHLD: CLD_CONTINUED, si_status SIGCONT");
    CHECK(write(go, "g", 1) == 1, "let it go on");
    close(go);
    CHECK(wait_for(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 7, "then it exits 7");
    CHECK(await_chld(3) && chld_code == CLD_EXITED && chld_status == 7, "SIGCHLD: CLD_EXITED 7");

    /* 2. The parent stops the child with SIGTSTP (default action) while it blocks in read; waitid
     * reports the stop (WNOWAIT leaves it), the continue, and the exit; the read goes on. */
    int p[2];
    CHECK(pipe(p) == 0, "pipe");
    pid = fork();
    if (pid == 0) {
        close(p[1]);
        char c;
        ssize_t n = read(p[0], &c, 1); /* stopped and continued meanwhile: no EINTR */
        _exit(n == 1 && c == 'x' ? 3 : 4);
    }
    close(p[0]);
    chld_expected = pid;
    int before = chld_count;
    usleep(100000);
    CHECK(kill(pid, SIGTSTP) == 0, "kill SIGTSTP");
    siginfo_t si;
    /* Bounded: were the group orphaned after all, the stop would never come. */
    int stopped = 0;
    for (int i = 0; i < 500 && !stopped; i++) {
        memset(&si, 0, sizeof si);
        stopped = waitid(P_PID, pid, &si, WSTOPPED | WNOWAIT | WNOHANG) == 0 && si.si_pid == pid;
        if (!stopped) usleep(10000);
    }
    if (!stopped) {
        kill(pid, SIGKILL);
        waitpid(pid, &st, 0);
        CHECK(0, "the child stopped by SIGTSTP within 5 s");
        return guest_done();
    }
    CHECK(waitid_for(pid, &si, WSTOPPED | WNOWAIT) == 0 && si.si_pid == pid && si.si_code == CLD_STOPPED
          && si.si_status == SIGTSTP, "waitid WSTOPPED|WNOWAIT: CLD_STOPPED by SIGTSTP");
    CHECK(waitid_for(pid, &si, WSTOPPED) == 0 && si.si_pid == pid && si.si_code == CLD_STOPPED
          && si.si_status == SIGTSTP && si.si_signo == SIGCHLD, "waitid WSTOPPED: the same stop again, taken now");
    CHECK(waitid_for(pid, &si, WSTOPPED | WNOHANG) == 0 && si.si_pid == 0, "waitid WSTOPPED|WNOHANG: nothing more");
    CHECK(await_chld(before + 1) && chld_code == CLD_STOPPED && chld_status == SIGTSTP,
          "SIGCHLD: CLD_STOPPED, si_status SIGTSTP");
    CHECK(kill(pid, SIGCONT) == 0, "kill SIGCONT");
    CHECK(waitid_for(pid, &si, WCONTINUED) == 0 && si.si_pid == pid && si.si_code == CLD_CONTINUED
          && si.si_status == SIGCONT, "waitid WCONTINUED: CLD_CONTINUED");
    CHECK(write(p[1], "x", 1) == 1, "write to the continued child");
    CHECK(waitid_for(pid, &si, WEXITED) == 0 && si.si_code == CLD_EXITED && si.si_status == 3,
          "waitid WEXITED: its read went on after the stop, it exits 3");
    close(p[1]);

    /* 3. With SA_NOCLDSTOP the parent gets SIGCHLD for the exit only. */
    chld_handler(SA_NOCLDSTOP);
    before = chld_count;
    pid = stopping_child(&go, 0);
    chld_expected = pid;
    CHECK(wait_for(pid, &st, WUNTRACED) == pid && WIFSTOPPED(st), "SA_NOCLDSTOP: the child stopped");
    usleep(300000);
    CHECK(chld_count == before, "SA_NOCLDSTOP: no SIGCHLD for the stop");
    kill(pid, SIGCONT);
    CHECK(wait_for(pid, &st, WCONTINUED) == pid && WIFCONTINUED(st), "SA_NOCLDSTOP: continued");
    CHECK(write(go, "g", 1) == 1, "SA_NOCLDSTOP: let it go on");
    close(go);
    CHECK(wait_for(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0, "SA_NOCLDSTOP: exited");
    CHECK(await_chld(before + 1) && chld_code == CLD_EXITED, "SA_NOCLDSTOP: SIGCHLD for the exit");
    chld_handler(0);

    /* 4. A SIGTSTP handler runs instead of the stop. */
    CHECK(pipe(p) == 0, "pipe");
    pid = fork();
    if (pid == 0) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_tstp;
        sigaction(SIGTSTP, &sa, NULL);
        close(p[0]);
        write(p[1], "r", 1); /* handler installed */
        for (int i = 0; i < 500 && !tstp_handled; i++) usleep(10000);
        _exit(tstp_handled ? 5 : 6);
    }
    close(p[1]);
    char c;
    CHECK(read(p[0], &c, 1) == 1, "the child's handler is in place");
    close(p[0]);
    CHECK(kill(pid, SIGTSTP) == 0, "kill SIGTSTP to a child with a handler");
    CHECK(wait_for(pid, &st, WUNTRACED) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 5,
          "its handler ran and it exited 5, never stopped");

    /* 5. SIGCONT discards a pending stop signal; a stop signal discards a pending SIGCONT. All
     * three stay blocked, so nothing here stops this process. */
    sigset_t three, pending;
    sigemptyset(&three);
    sigaddset(&three, SIGTSTP);
    sigaddset(&three, SIGTTOU);
    sigaddset(&three, SIGCONT);
    sigprocmask(SIG_BLOCK, &three, NULL);
    raise(SIGTSTP);
    sigpending(&pending);
    CHECK(sigismember(&pending, SIGTSTP), "a blocked SIGTSTP is pending");
    raise(SIGCONT);
    sigpending(&pending);
    CHECK(!sigismember(&pending, SIGTSTP) && sigismember(&pending, SIGCONT), "SIGCONT discarded the pending SIGTSTP");
    raise(SIGTTOU);
    sigpending(&pending);
    CHECK(!sigismember(&pending, SIGCONT) && sigismember(&pending, SIGTTOU), "SIGTTOU discarded the pending SIGCONT");
    signal(SIGTTOU, SIG_IGN); /* drops the pending SIGTTOU */
    sigpending(&pending);
    CHECK(!sigismember(&pending, SIGTTOU), "SIG_IGN dropped the pending SIGTTOU");
    sigprocmask(SIG_UNBLOCK, &three, NULL);
    return guest_done();
}
