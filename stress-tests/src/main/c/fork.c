/* fork: exit statuses and death by signal, copy-on-write isolation, shared mappings (anonymous,
 * file), pipes between processes, SIGCHLD's siginfo, wait variants, pids, fds (numbers, CLOEXEC,
 * shared offsets), inherited dispositions and mask, pthread_atfork, and fork from a multithreaded
 * process (the child has one thread and can make its own), and clone's exit signal (another
 * signal than SIGCHLD, or none; wait's __WCLONE and __WALL). Children print nothing themselves
 * except where the parent waits for them first, so the output order is fixed. */
#include "guest.h"
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static int global_value = 1;
/* What the handler saw of one exit signal (SIGCHLD, or clone's SIGUSR1 below). */
struct exit_note {
    volatile sig_atomic_t count, code, status, pid_ok;
    pid_t expected;
};
static struct exit_note chld_note, usr1_note;

static void on_exit_signal(int sig, siginfo_t *si, void *uc) {
    (void) uc;
    struct exit_note *n = sig == SIGCHLD ? &chld_note : &usr1_note;
    n->count++;
    n->code = si->si_code;
    n->status = si->si_status;
    n->pid_ok = si->si_pid == n->expected;
}

/* Waits for pid and returns its wait status (-1 on error). */
static int reap(pid_t pid) {
    int st;
    pid_t r;
    do r = waitpid(pid, &st, 0); while (r < 0 && errno == EINTR);
    return r == pid ? st : -1;
}

static void exit_34(int sig) { (void) sig; _exit(34); }

static int atfork_prepare, atfork_parent, atfork_child;
static void on_prepare(void) { atfork_prepare++; }
static void on_parent(void) { atfork_parent++; }
static void on_child(void) { atfork_child++; }

static volatile int spinner_stop;
static void *spinner(void *arg) {
    (void) arg;
    while (!spinner_stop) {
        global_value += 0; /* keep running guest code while the main thread forks */
    }
    return NULL;
}

static int count_threads(void) {
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return -1;
    char line[256];
    int n = -1;
    while (fgets(line, sizeof line, f)) {
        if (sscanf(line, "Threads: %d", &n) == 1) break;
    }
    fclose(f);
    return n;
}

static void *child_thread(void *arg) { return arg; }

/* A fork-like clone whose child exits with `code` at once; the raw syscall, so the exit signal is ours. */
static pid_t clone_exiting(int exit_signal, int code) {
    pid_t p = (pid_t) syscall(SYS_clone, (long) exit_signal, 0L, 0L, 0L, 0L);
    if (p == 0) _exit(code);
    return p;
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);

    /* exit statuses */
    int statuses[] = {0, 1, 42, 255};
    for (unsigned i = 0; i < sizeof statuses / sizeof statuses[0]; i++) {
        pid_t p = fork();
        if (p == 0) _exit(statuses[i]);
        int st = reap(p);
        CHECK(p > 0 && WIFEXITED(st) && WEXITSTATUS(st) == statuses[i], "fork, _exit(%d), waitpid sees it", statuses[i]);
    }

    /* death by signal: raised by the child itself, and sent by the parent */
    pid_t p = fork();
    if (p == 0) {
        signal(SIGTERM, SIG_DFL);
        raise(SIGTERM);
        _exit(99);
    }
    int st = reap(p);
    CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM, "a child killed by its own SIGTERM is WIFSIGNALED");
    int sync[2];
    CHECK(pipe(sync) == 0, "pipe");
    p = fork();
    if (p == 0) {
        close(sync[0]);
        write(sync[1], "r", 1);
        for (;;) pause();
    }
    char c;
    close(sync[1]);
    CHECK(read(sync[0], &c, 1) == 1, "the child runs");
    close(sync[0]);
    CHECK(kill(p, SIGKILL) == 0, "kill(child, SIGKILL)");
    st = reap(p);
    CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "the killed child is WIFSIGNALED with SIGKILL");

    /* a child that crashes (forked with stderr on /dev/null: Herd reports a fault on the stderr
     * its process started with) */
    int devnull = open("/dev/null", O_WRONLY);
    int saved_stderr = dup(2);
    dup2(devnull, 2);
    p = fork();
    if (p == 0) {
        *(volatile int *) guest_bad_ptr(8) = 1;
        _exit(98);
    }
    st = reap(p);
    pid_t q = fork();
    if (q == 0) abort();
    int st2 = reap(q);
    dup2(saved_stderr, 2);
    close(saved_stderr);
    close(devnull);
    CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV, "a child's SIGSEGV is its death by SIGSEGV");
    CHECK(WIFSIGNALED(st2) && WTERMSIG(st2) == SIGABRT, "a child's abort() is its death by SIGABRT");

    /* pids: fork's result is the child's getpid, the child's getppid is the parent's getpid */
    int pids[2];
    CHECK(pipe(pids) == 0, "pipe for pids");
    pid_t self = getpid();
    p = fork();
    if (p == 0) {
        int both[3] = {getpid(), getppid(), -1};
        FILE *f = fopen("/proc/self/status", "r");
        char line[256];
        while (f && fgets(line, sizeof line, f)) sscanf(line, "PPid: %d", &both[2]);
        if (f) fclose(f);
        write(pids[1], both, sizeof both);
        _exit(0);
    }
    int both[3] = {0, 0, 0};
    CHECK(read(pids[0], both, sizeof both) == sizeof both, "the child reports its pids");
    CHECK(both[0] == p, "fork's result is the child's getpid()");
    CHECK(both[1] == self, "the child's getppid() is the parent's getpid()");
    CHECK(both[2] == self, "the child's /proc/self/status PPid is the parent's pid");
    CHECK(reap(p) == 0, "and it exits 0");
    close(pids[0]);
    close(pids[1]);

    /* copy-on-write: globals, heap and stack are the child's own */
    int on_stack = 10;
    int *on_heap = malloc(sizeof *on_heap);
    *on_heap = 100;
    global_value = 1;
    int result[2];
    CHECK(pipe(result) == 0, "pipe for results");
    p = fork();
    if (p == 0) {
        global_value = 2;
        on_stack = 20;
        *on_heap = 200;
        int sum = global_value + on_stack + *on_heap;
        write(result[1], &sum, sizeof sum);
        _exit(0);
    }
    int sum = 0;
    CHECK(read(result[0], &sum, sizeof sum) == sizeof sum && sum == 222, "the child sees its own writes (%d)", sum);
    reap(p);
    CHECK(global_value == 1 && on_stack == 10 && *on_heap == 100, "the parent does not see them");
    /* and the other way round: the parent's writes after fork stay out of the child */
    p = fork();
    if (p == 0) {
        read(result[0], &sum, sizeof sum); /* wait for the parent's write */
        int seen = global_value;
        write(result[1], &seen, sizeof seen);
        _exit(0);
    }
    global_value = 7;
    sum = 0;
    write(result[1], &sum, sizeof sum);
    reap(p);
    int seen = 0;
    CHECK(read(result[0], &seen, sizeof seen) == sizeof seen && seen == 1, "the child does not see the parent's later write");
    global_value = 1;
    close(result[0]);
    close(result[1]);
    free(on_heap);

    /* shared anonymous memory: one object for both */
    int *shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    CHECK(shared != MAP_FAILED, "mmap shared anonymous");
    shared[0] = 5;
    p = fork();
    if (p == 0) {
        shared[0] += 10;
        shared[1] = 77;
        _exit(0);
    }
    reap(p);
    CHECK(shared[0] == 15 && shared[1] == 77, "the child's writes to shared anonymous memory reach the parent");
    /* private memory next to it stays private */
    int *priv = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    priv[0] = 3;
    p = fork();
    if (p == 0) {
        priv[0] = 4;
        shared[2] = priv[0];
        _exit(0);
    }
    reap(p);
    CHECK(priv[0] == 3 && shared[2] == 4, "private anonymous memory is copied, not shared");

    /* a shared file mapping */
    char path[] = "/tmp/herd-fork-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0 && ftruncate(fd, 4096) == 0, "a temporary file");
    unlink(path);
    char *fmap = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    CHECK(fmap != MAP_FAILED, "mmap it shared");
    p = fork();
    if (p == 0) {
        memcpy(fmap, "from child", 11);
        _exit(0);
    }
    reap(p);
    CHECK(strcmp(fmap, "from child") == 0, "the child's writes to a shared file mapping reach the parent");
    char buf[32] = {0};
    CHECK(pread(fd, buf, 11, 0) == 11 && strcmp(buf, "from child") == 0, "and the file");

    /* fds: same numbers, same open file (shared offset), CLOEXEC kept */
    CHECK(lseek(fd, 0, SEEK_SET) == 0, "offset 0");
    int cloexec_fd = fcntl(fd, F_DUPFD_CLOEXEC, 50);
    CHECK(cloexec_fd >= 50, "a close-on-exec duplicate at 50 or above");
    p = fork();
    if (p == 0) {
        int ok = write(fd, "0123456789", 10) == 10;
        ok = ok && (fcntl(cloexec_fd, F_GETFD) & FD_CLOEXEC);
        ok = ok && !(fcntl(fd, F_GETFD) & FD_CLOEXEC);
        _exit(ok ? 0 : 1);
    }
    st = reap(p);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the child finds both fds with their flags");
    CHECK(lseek(fd, 0, SEEK_CUR) == 10, "the child's write moved the shared offset");
    close(cloexec_fd);
    munmap(fmap, 4096);
    close(fd);

    /* a pipeline between two children */
    int ab[2], back[2];
    CHECK(pipe(ab) == 0 && pipe(back) == 0, "two pipes");
    pid_t producer = fork();
    if (producer == 0) {
        close(ab[0]);
        for (int i = 0; i < 1000; i++) dprintf(ab[1], "%d\n", i);
        _exit(0);
    }
    pid_t consumer = fork();
    if (consumer == 0) {
        close(ab[1]);
        FILE *in = fdopen(ab[0], "r");
        long total = 0;
        int v;
        while (fscanf(in, "%d", &v) == 1) total += v;
        write(back[1], &total, sizeof total);
        _exit(0);
    }
    close(ab[0]);
    close(ab[1]);
    close(back[1]);
    long total = 0;
    CHECK(read(back[0], &total, sizeof total) == sizeof total && total == 499500, "producer | consumer: sum %ld", total);
    close(back[0]);
    CHECK(reap(producer) == 0 && reap(consumer) == 0, "both exit 0");

    /* SIGCHLD with siginfo */
    struct sigaction sa = {0};
    sa.sa_sigaction = on_exit_signal;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGCHLD, &sa, NULL);
    sigset_t chld, old;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, &old);
    p = fork();
    if (p == 0) _exit(9);
    chld_note.expected = p;
    while (chld_note.count == 0) sigsuspend(&old);
    sigprocmask(SIG_SETMASK, &old, NULL);
    CHECK(chld_note.count == 1 && chld_note.code == CLD_EXITED && chld_note.status == 9 && chld_note.pid_ok,
          "SIGCHLD: CLD_EXITED, status 9, the child's pid");
    siginfo_t info = {0};
    CHECK(waitid(P_PID, p, &info, WEXITED) == 0 && info.si_pid == p && info.si_code == CLD_EXITED && info.si_status == 9,
          "waitid reaps it with the same facts");
    signal(SIGCHLD, SIG_DFL);

    /* wait variants */
    CHECK(pipe(sync) == 0, "pipe");
    p = fork();
    if (p == 0) {
        close(sync[1]);
        read(sync[0], &c, 1); /* until the parent closes its end */
        _exit(3);
    }
    close(sync[0]);
    CHECK(waitpid(p, &st, WNOHANG) == 0, "WNOHANG: 0 while the child runs");
    close(sync[1]);
    CHECK(wait(&st) == p && WEXITSTATUS(st) == 3, "wait() takes any child");
    errno = 0;
    CHECK(wait(&st) == -1 && errno == ECHILD, "ECHILD with none left");

    /* dispositions and mask are inherited */
    signal(SIGUSR1, SIG_IGN);
    sigset_t usr2;
    sigemptyset(&usr2);
    sigaddset(&usr2, SIGUSR2);
    sigprocmask(SIG_BLOCK, &usr2, &old);
    p = fork();
    if (p == 0) {
        raise(SIGUSR1); /* ignored: survives */
        sigset_t now;
        sigprocmask(SIG_BLOCK, NULL, &now);
        _exit(sigismember(&now, SIGUSR2) ? 5 : 6);
    }
    st = reap(p);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 5, "the child keeps SIG_IGN and the blocked mask");
    sigprocmask(SIG_SETMASK, &old, NULL);
    signal(SIGUSR1, SIG_DFL);

    /* pthread_atfork handlers */
    pthread_atfork(on_prepare, on_parent, on_child);
    p = fork();
    if (p == 0) _exit(atfork_prepare == 1 && atfork_child == 1 && atfork_parent == 0 ? 0 : 1);
    st = reap(p);
    CHECK(atfork_prepare == 1 && atfork_parent == 1 && atfork_child == 0, "atfork: prepare and parent ran here");
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "atfork: prepare and child ran in the child");

    /* fork from a multithreaded process */
    pthread_t spin;
    pthread_create(&spin, NULL, spinner, NULL);
    /* counted relative to the parent: qemu-user's own threads show in /proc/self/status too */
    int before = count_threads();
    CHECK(before >= 2, "two threads or more before the fork");
    p = fork();
    if (p == 0) {
        int ok = count_threads() == before - 1;
        pthread_t t;
        void *ret = NULL;
        ok = ok && pthread_create(&t, NULL, child_thread, (void *) 7) == 0 && pthread_join(t, &ret) == 0 && ret == (void *) 7;
        _exit(ok ? 0 : 1);
    }
    st = reap(p);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the child has only the forking thread and can create and join another");
    spinner_stop = 1;
    pthread_join(spin, NULL);

    /* process groups and sessions */
    CHECK(pipe(sync) == 0, "pipe");
    p = fork();
    if (p == 0) {
        close(sync[0]);
        int ok = setpgid(0, 0) == 0 && getpgrp() == getpid() && getpgid(0) == getpid();
        write(sync[1], &ok, sizeof ok);
        for (;;) pause();
    }
    close(sync[1]);
    int ok = 0;
    CHECK(read(sync[0], &ok, sizeof ok) == sizeof ok && ok, "the child leads a group of its own");
    close(sync[0]);
    CHECK(getpgid(p) == p, "getpgid(child) is the child's pid");
    CHECK(getpgrp() != p, "the parent's group is another");
    CHECK(kill(-p, SIGTERM) == 0, "kill(-group, SIGTERM)");
    st = reap(p);
    CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM, "the group's member died of it");
    CHECK(pipe(sync) == 0, "pipe");
    p = fork();
    if (p == 0) {
        close(sync[0]);
        pid_t sid = setsid();
        int ok2 = sid == getpid() && getsid(0) == getpid() && getpgrp() == getpid();
        write(sync[1], &ok2, sizeof ok2);
        _exit(0);
    }
    close(sync[1]);
    ok = 0;
    CHECK(read(sync[0], &ok, sizeof ok) == sizeof ok && ok, "setsid in the child: a new session and group it leads");
    close(sync[0]);
    reap(p);
    CHECK(getsid(0) != p, "the parent's session is another");

    /* waitpid(0): a child of the caller's group; waitpid(-group): a child of that group */
    CHECK(pipe(sync) == 0, "pipe");
    pid_t a = fork();
    if (a == 0) {
        close(sync[0]);
        setpgid(0, 0);
        write(sync[1], "r", 1);
        for (;;) pause();
    }
    CHECK(read(sync[0], &c, 1) == 1, "a child in a group of its own");
    pid_t b = fork();
    if (b == 0) _exit(22);
    CHECK(waitpid(0, &st, 0) == b && WEXITSTATUS(st) == 22, "waitpid(0) takes the child of the caller's group");
    CHECK(waitpid(0, &st, WNOHANG) == 0 || errno == ECHILD, "and none other of that group");
    kill(a, SIGTERM);
    CHECK(waitpid(-a, &st, 0) == a && WIFSIGNALED(st), "waitpid(-group) takes the child of that group");
    close(sync[0]);
    close(sync[1]);

    /* a grandchild: fork in a forked child */
    p = fork();
    if (p == 0) {
        pid_t g = fork();
        if (g == 0) _exit(getppid() > 0 ? 11 : 12);
        int gs = reap(g);
        _exit(WIFEXITED(gs) ? WEXITSTATUS(gs) : 13);
    }
    st = reap(p);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 11, "a child's own fork and wait");

    /* clone's exit signal: SIGUSR1 instead of SIGCHLD, and a "clone" child for wait */
    struct sigaction ua = {0};
    ua.sa_sigaction = on_exit_signal;
    ua.sa_flags = SA_SIGINFO;
    sigaction(SIGUSR1, &ua, NULL);
    int chld_before = chld_note.count;
    sigset_t usr1_set, old_set;
    sigemptyset(&usr1_set);
    sigaddset(&usr1_set, SIGUSR1);
    sigprocmask(SIG_BLOCK, &usr1_set, &old_set);
    p = clone_exiting(SIGUSR1, 31);
    usr1_note.expected = p;
    CHECK(p > 0, "a clone with SIGUSR1 as its exit signal made a child");
    siginfo_t si;
    memset(&si, 0, sizeof si);
    CHECK(waitid(P_PID, p, &si, WEXITED | WNOWAIT | __WCLONE) == 0 && si.si_pid == p, "waitid(__WCLONE, WNOWAIT) sees it end");
    sigprocmask(SIG_SETMASK, &old_set, NULL); /* the pending SIGUSR1 arrives here */
    CHECK(usr1_note.count == 1 && usr1_note.code == CLD_EXITED && usr1_note.status == 31 && usr1_note.pid_ok,
          "its end is SIGUSR1 with SIGCHLD's siginfo (CLD_EXITED, status 31, its pid)");
    CHECK(chld_note.count == chld_before, "and no SIGCHLD");
    errno = 0;
    CHECK(waitpid(p, &st, WNOHANG) == -1 && errno == ECHILD, "a plain waitpid does not see a clone child: ECHILD");
    CHECK(waitpid(p, &st, __WCLONE) == p && WIFEXITED(st) && WEXITSTATUS(st) == 31, "waitpid(__WCLONE) reaps it: status 31");

    p = clone_exiting(0, 32);
    CHECK(p > 0, "a clone with no exit signal made a child");
    errno = 0;
    CHECK(waitpid(-1, &st, 0) == -1 && errno == ECHILD, "waitpid(-1) without __WALL: ECHILD");
    CHECK(waitpid(-1, &st, __WALL) == p && WIFEXITED(st) && WEXITSTATUS(st) == 32, "waitpid(-1, __WALL) reaps it: status 32");
    CHECK(usr1_note.count == 1 && chld_note.count == chld_before, "an exit signal of 0 sends nothing");
    p = fork();
    if (p == 0) _exit(33);
    errno = 0;
    CHECK(waitpid(p, &st, __WCLONE) == -1 && errno == ECHILD, "waitpid(__WCLONE) does not see a fork's child: ECHILD");
    CHECK(reap(p) == (33 << 8), "a plain waitpid does");

    /* A signal sent the moment fork returns, before the child has run anything, reaches it: the
     * child blocks in read and its inherited handler ends it with 34 (under Herd the pid is out
     * before the child's first thread runs; such a signal once woke no thread and the child
     * read forever). */
    struct sigaction early;
    memset(&early, 0, sizeof early);
    early.sa_handler = exit_34;
    sigaction(SIGUSR1, &early, NULL);
    int ep[2];
    CHECK(pipe(ep) == 0, "pipe for the early signal");
    int early_ok = 0;
    for (int round = 0; round < 3; round++) {
        p = fork();
        if (p == 0) {
            char b;
            _exit(read(ep[0], &b, 1) == 1 ? 35 : 36);
        }
        kill(p, SIGUSR1);
        early_ok += reap(p) == (34 << 8);
    }
    CHECK(early_ok == 3, "a signal sent as fork returns reaches the child: 3 of 3 ended by its handler");
    close(ep[0]);
    close(ep[1]);

    return guest_done();
}
