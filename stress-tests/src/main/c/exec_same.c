/* exec_same: what an execve keeps and drops of the process itself (the kernel's de_thread and
 * begin_new_exec). Kept: the pid (of a fork's child that execs, and of a process's own exec), the
 * parent, the blocked mask and a signal pending in it, ITIMER_REAL. Dropped: the alternate signal
 * stack, POSIX timers. The fork's child reports from its new image through a pipe; the process
 * then execs itself and the last image checks its pid. Prints only invariants.
 * argv[1]: "image FD TIMERID" for the child's new image, "final PID" for the last one. */
#include "guest.h"
#include <signal.h>
#include <stdlib.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct report {
    int pid, ppid;
    int altstack_disabled, timer_gone, itimer_kept, mask_kept, pending_kept;
};

static int image(int fd, long timerid) {
    struct report r = {getpid(), getppid(), 0, 0, 0, 0, 0};
    stack_t ss;
    r.altstack_disabled = sigaltstack(NULL, &ss) == 0 && (ss.ss_flags & SS_DISABLE) != 0;
    struct itimerspec its;
    errno = 0;
    r.timer_gone = timer_gettime((timer_t) timerid, &its) == -1 && errno == EINVAL;
    struct itimerval iv;
    r.itimer_kept = getitimer(ITIMER_REAL, &iv) == 0 && iv.it_value.tv_sec > 50;
    sigset_t set;
    r.mask_kept = sigprocmask(SIG_BLOCK, NULL, &set) == 0 && sigismember(&set, SIGUSR1);
    r.pending_kept = sigpending(&set) == 0 && sigismember(&set, SIGUSR1);
    return write(fd, &r, sizeof r) == sizeof r ? 0 : 1;
}

int main(int argc, char **argv) {
    if (argc == 4 && !strcmp(argv[1], "image")) return image(atoi(argv[2]), strtol(argv[3], NULL, 10));
    if (argc == 3 && !strcmp(argv[1], "final")) {
        setvbuf(stdout, NULL, _IONBF, 0);
        CHECK(getpid() == atoi(argv[2]), "a process's own execve keeps its pid");
        return guest_done();
    }
    setvbuf(stdout, NULL, _IONBF, 0);
    int p[2];
    CHECK(pipe(p) == 0, "pipe");
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        static char alt[1 << 16];
        stack_t ss = {.ss_sp = alt, .ss_size = sizeof alt};
        timer_t t;
        struct sigevent ev = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGUSR2};
        struct itimerspec its = {.it_value = {100, 0}};
        struct itimerval iv = {.it_value = {100, 0}};
        sigset_t usr1;
        sigemptyset(&usr1);
        sigaddset(&usr1, SIGUSR1);
        if (sigaltstack(&ss, NULL) || timer_create(CLOCK_MONOTONIC, &ev, &t) || timer_settime(t, 0, &its, NULL)
            || setitimer(ITIMER_REAL, &iv, NULL) || sigprocmask(SIG_BLOCK, &usr1, NULL) || raise(SIGUSR1)) {
            _exit(90);
        }
        char fd[16], id[32];
        snprintf(fd, sizeof fd, "%d", p[1]);
        snprintf(id, sizeof id, "%ld", (long) t);
        execl("/proc/self/exe", "exec_same", "image", fd, id, (char *) NULL);
        _exit(91);
    }
    close(p[1]);
    struct report r;
    memset(&r, 0, sizeof r);
    CHECK(pid > 0 && read(p[0], &r, sizeof r) == sizeof r, "the child's new image reports");
    int st = -1;
    CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0, "its new image exits 0");
    CHECK(r.pid == pid, "the new image's getpid is the pid fork returned");
    CHECK(r.ppid == getpid(), "its parent is still this process");
    CHECK(r.altstack_disabled, "the alternate signal stack is gone");
    CHECK(r.timer_gone, "the POSIX timer is gone");
    CHECK(r.itimer_kept, "ITIMER_REAL is kept");
    CHECK(r.mask_kept, "the blocked mask is kept");
    CHECK(r.pending_kept, "the pending blocked signal is kept");
    char self[16];
    snprintf(self, sizeof self, "%d", (int) getpid());
    execl("/proc/self/exe", "exec_same", "final", self, (char *) NULL);
    CHECK(0, "execl of itself");
    return guest_done();
}
