/* proc_self: /proc/self/status, stat and comm, /proc/thread-self, /proc/self/task and task/TID answer
 * for this process (not for whatever runs it): ids, comm (default and after PR_SET_NAME, per
 * thread), thread count, signal sets, memory sizes that follow what the program does, and the
 * stat fields a program can check against itself; /proc/self/fd (and thread-self/fd) list this
 * process's fds by their numbers. Prints only invariants. */
#include "guest.h"
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

static char *slurp(const char *path) {
    static char buf[3][16384];
    static int next;
    char *b = buf[next++ % 3];
    FILE *f = fopen(path, "r");
    if (!f) return strcpy(b, "");
    size_t n = fread(b, 1, sizeof buf[0] - 1, f);
    b[n] = 0;
    fclose(f);
    return b;
}

static long field(const char *status, const char *key) {
    char k[64];
    snprintf(k, sizeof k, "\n%s:", key);
    const char *p = strstr(status, k);
    return p ? strtol(p + strlen(k), NULL, 10) : -1;
}

static unsigned long long mask(const char *status, const char *key) {
    char k[64];
    snprintf(k, sizeof k, "\n%s:", key);
    const char *p = strstr(status, k);
    return p ? strtoull(p + strlen(k), NULL, 16) : 0;
}

static void name(const char *status, char *out) {
    out[0] = 0;
    sscanf(status, "Name:\t%63s", out);
}

/* stat field n (1-based, n >= 3) */
static long long statField(const char *stat, int n) {
    const char *p = strrchr(stat, ')');
    if (!p) return -999;
    p += 2;
    for (int i = 3; i < n; i++) {
        p = strchr(p, ' ');
        if (!p) return -999;
        p++;
    }
    return strtoll(p, NULL, 10);
}

static pthread_barrier_t ready, done;
static int tids[3];

static void *worker(void *arg) {
    int i = (int)(intptr_t)arg;
    tids[i] = (int)syscall(SYS_gettid);
    pthread_barrier_wait(&ready);
    pthread_barrier_wait(&done);
    return NULL;
}

static void on_term(int sig) { (void)sig; }

/* The fd numbers in DIR, ascending, as "0 1 2 ..." into out. */
static void list_fds(const char *dir, char *out, size_t size) {
    int have[1024] = {0};
    DIR *d = opendir(dir);
    out[0] = 0;
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        int fd = atoi(e->d_name);
        if (fd >= 0 && fd < 1024) have[fd] = 1;
    }
    closedir(d);
    size_t n = 0;
    for (int fd = 0; fd < 1024 && n + 8 < size; fd++) {
        if (have[fd]) n += snprintf(out + n, size - n, "%s%d", n ? " " : "", fd);
    }
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    char *st = slurp("/proc/self/status");
    char nm[64];
    name(st, nm);
    CHECK(strcmp(nm, "proc_self") == 0, "Name is the program's basename");
    CHECK(strcmp(slurp("/proc/self/comm"), "proc_self\n") == 0, "/proc/self/comm too");
    CHECK(field(st, "Pid") == getpid() && field(st, "Tgid") == getpid(), "Pid and Tgid are getpid()");
    CHECK(field(st, "PPid") == getppid(), "PPid is getppid()");
    CHECK(field(st, "Threads") == 1, "Threads: 1");

    char *stat = slurp("/proc/self/stat");
    CHECK(statField(stat, 3) == -999 || atoi(stat) == getpid(), "stat: pid");
    CHECK(strstr(stat, "(proc_self)") != NULL, "stat: (comm)");
    CHECK(statField(stat, 4) == getppid(), "stat: ppid");
    CHECK(statField(stat, 5) == getpgrp(), "stat: pgrp is getpgrp()");
    CHECK(statField(stat, 20) == 1, "stat: num_threads 1");
    CHECK(statField(stat, 38) == SIGCHLD, "stat: exit_signal SIGCHLD");
    long local;
    unsigned long long startstack = (unsigned long long)statField(stat, 28);
    CHECK(startstack > (unsigned long long)&local && startstack - (unsigned long long)&local < (1 << 20),
          "stat: startstack just above main's frame");
    CHECK(statField(stat, 23) / 1024 == field(st, "VmSize"), "stat: vsize is VmSize");

    /* memory that the program touches shows in VmRSS */
    long before = field(slurp("/proc/self/status"), "VmRSS");
    size_t big = 32 << 20;
    char *m = malloc(big);
    for (size_t i = 0; i < big; i += 4096) m[i] = 1;
    long after = field(slurp("/proc/self/status"), "VmRSS");
    CHECK(after - before >= 30 * 1024, "VmRSS grows by the 32 MiB touched");
    CHECK(field(slurp("/proc/self/status"), "VmSize") >= after, "VmSize covers VmRSS");
    free(m);

    /* signal sets */
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGUSR1);
    sigprocmask(SIG_BLOCK, &s, NULL);
    signal(SIGUSR2, SIG_IGN);
    signal(SIGTERM, on_term);
    raise(SIGUSR1);
    st = slurp("/proc/thread-self/status");
    CHECK(mask(st, "SigBlk") & (1ULL << (SIGUSR1 - 1)), "SigBlk has the blocked SIGUSR1");
    CHECK((mask(st, "SigPnd") | mask(st, "ShdPnd")) & (1ULL << (SIGUSR1 - 1)), "SIGUSR1 is pending");
    CHECK(mask(st, "SigIgn") & (1ULL << (SIGUSR2 - 1)), "SigIgn has SIGUSR2");
    CHECK(mask(st, "SigCgt") & (1ULL << (SIGTERM - 1)), "SigCgt has SIGTERM");
    CHECK(!(mask(st, "SigCgt") & (1ULL << (SIGUSR2 - 1))), "SigCgt has not SIGUSR2");
    stat = slurp("/proc/self/stat");
    CHECK(statField(stat, 33) & (1LL << (SIGUSR2 - 1)), "stat: sigignore has SIGUSR2");
    signal(SIGUSR1, SIG_IGN); /* discards the pending one */
    sigprocmask(SIG_UNBLOCK, &s, NULL);

    /* threads: count, per-task files, comm inherited and per thread */
    CHECK(prctl(PR_SET_NAME, "renamed") == 0, "PR_SET_NAME");
    CHECK(strcmp(slurp("/proc/thread-self/comm"), "renamed\n") == 0, "thread-self/comm follows");
    pthread_barrier_init(&ready, NULL, 4);
    pthread_barrier_init(&done, NULL, 4);
    pthread_t t[3];
    for (int i = 0; i < 3; i++) pthread_create(&t[i], NULL, worker, (void *)(intptr_t)i);
    pthread_barrier_wait(&ready);
    CHECK(field(slurp("/proc/self/status"), "Threads") == 4, "Threads: 4 with three more");
    CHECK(statField(slurp("/proc/self/stat"), 20) == 4, "stat: num_threads 4");
    int ok = 1;
    for (int i = 0; i < 3; i++) {
        char path[64];
        snprintf(path, sizeof path, "/proc/self/task/%d/status", tids[i]);
        char *ts = slurp(path);
        ok &= field(ts, "Pid") == tids[i] && field(ts, "Tgid") == getpid();
        snprintf(path, sizeof path, "/proc/self/task/%d/comm", tids[i]);
        ok &= strcmp(slurp(path), "renamed\n") == 0;
        snprintf(path, sizeof path, "/proc/self/task/%d/stat", tids[i]);
        ok &= atoi(slurp(path)) == tids[i];
    }
    CHECK(ok, "each thread's task/TID status, comm (inherited) and stat");
    /* the task directory lists the process's threads: these four, nothing else */
    char taskdir[64];
    snprintf(taskdir, sizeof taskdir, "/proc/%d/task", getpid());
    const char *dirs[] = {"/proc/self/task", taskdir};
    for (int d = 0; d < 2; d++) {
        DIR *dir = opendir(dirs[d]);
        int entries = 0, found = 0, self_found = 0;
        struct dirent *e;
        while (dir && (e = readdir(dir)) != NULL) {
            if (e->d_name[0] == '.') continue;
            entries++;
            int tid = atoi(e->d_name);
            if (tid == (int) syscall(SYS_gettid)) self_found = 1;
            for (int i = 0; i < 3; i++) found += tid == tids[i];
        }
        if (dir) closedir(dir);
        CHECK(entries == 4 && found == 3 && self_found, "%s lists the four threads", d == 0 ? "/proc/self/task" : "/proc/PID/task");
    }
    pthread_barrier_wait(&done);
    for (int i = 0; i < 3; i++) pthread_join(t[i], NULL);
    /* pthread_join returns once the kernel cleared the thread's tid, which it does a moment
     * before the thread leaves the group (seen natively under load): looked at again for 2 s. */
    long threads = field(slurp("/proc/self/status"), "Threads");
    for (int i = 0; i < 200 && threads != 1; i++) {
        usleep(10000);
        threads = field(slurp("/proc/self/status"), "Threads");
    }
    CHECK(threads == 1, "Threads: 1 again after the joins");
    /* the fd directory lists this process's fds (opendir's own among them) */
    int f = open("/proc/self/status", O_RDONLY);
    CHECK(dup2(f, 9) == 9 && close(f) == 0, "fd 9 open");
    char fds[256];
    list_fds("/proc/self/fd", fds, sizeof fds);
    printf("/proc/self/fd: %s\n", fds);
    list_fds("/proc/thread-self/fd", fds, sizeof fds);
    printf("/proc/thread-self/fd: %s\n", fds);
    close(9);
    list_fds("/proc/self/fd", fds, sizeof fds);
    printf("/proc/self/fd after close: %s\n", fds);
    /* read in small pieces while closing what was listed (Python's subprocess does so in a child
     * before execve): every fd is listed once, none skipped */
    for (int fd = 20; fd < 30; fd++) dup2(0, fd);
    int dir = open("/proc/self/fd", O_RDONLY | O_DIRECTORY);
    char buf[96];
    int seen = 0;
    long got;
    while ((got = syscall(SYS_getdents64, dir, buf, sizeof buf)) > 0) {
        for (long pos = 0; pos < got; ) {
            unsigned short reclen = *(unsigned short *) (buf + pos + 16);
            int fd = atoi(buf + pos + 19);
            if (fd >= 20 && fd < 30) {
                seen |= 1 << (fd - 20);
                close(fd);
            }
            pos += reclen;
        }
    }
    close(dir);
    CHECK(got == 0 && seen == 0x3ff, "listed in pieces while closing: all of 20-29 once (%03x)", seen);
    return guest_done();
}
