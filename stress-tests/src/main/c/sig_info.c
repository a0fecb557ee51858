/* sig_info: the siginfo a handler receives for kill, raise (tgkill), tkill, sigqueue,
 * pthread_sigqueue (rt_tgsigqueueinfo) and a kill from another thread: si_signo, si_errno,
 * si_code (SI_USER, SI_TKILL, SI_QUEUE), si_pid == getpid() (the process id, also when a
 * secondary thread sends), si_uid == getuid(), si_value. Also the argument checks of kill and
 * rt_sigqueueinfo (signal 0, invalid numbers, forged si_code). */
#include "guest.h"
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

static volatile int got;
static siginfo_t last;

static void handler(int sig, siginfo_t *si, void *uc) {
    last = *si;
    got++;
}

static void install(int sig) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = handler;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    sigaction(sig, &sa, NULL);
}

static const char *code_name(int code) {
    switch (code) {
    case SI_USER: return "SI_USER";
    case SI_QUEUE: return "SI_QUEUE";
    case SI_TKILL: return "SI_TKILL";
    case SI_KERNEL: return "SI_KERNEL";
    default: return "other";
    }
}

/* Checks the last delivery; value < 0 means "do not check si_value". */
static void expect(const char *what, int sig, int code, int pid, long value) {
    CHECK(got == 1, "%s: delivered exactly once, before the call returned (got %d)", what, got == 1 ? 1 : -1);
    CHECK(last.si_signo == sig, "%s: si_signo %d", what, sig);
    CHECK(last.si_errno == 0, "%s: si_errno 0", what);
    CHECK(last.si_code == code, "%s: si_code %s (got %s)", what, code_name(code), code_name(last.si_code));
    CHECK(last.si_pid == pid, "%s: si_pid is the sender's pid", what);
    CHECK(last.si_uid == getuid(), "%s: si_uid == getuid()", what);
    if (value >= 0) CHECK((long)last.si_value.sival_ptr == value, "%s: si_value %ld", what, value);
    got = 0;
    memset(&last, 0, sizeof last);
}

static pthread_t main_thread;
static volatile int main_waiting;

static void *kill_main_from_thread(void *arg) {
    while (!main_waiting) sched_yield();
    /* process-directed kill from a secondary thread; only main has SIGUSR2 unblocked */
    kill(getpid(), SIGUSR2);
    return NULL;
}

int main(void) {
    pid_t pid = getpid();
    install(SIGUSR1);
    install(SIGUSR2);
    install(SIGRTMIN);
    install(SIGRTMIN + 2);
    main_thread = pthread_self();

    kill(pid, SIGUSR1);
    expect("kill", SIGUSR1, SI_USER, pid, -1);

    raise(SIGUSR2);
    expect("raise", SIGUSR2, SI_TKILL, pid, -1);

    syscall(SYS_tgkill, pid, gettid(), SIGUSR1);
    expect("tgkill", SIGUSR1, SI_TKILL, pid, -1);

    syscall(SYS_tkill, gettid(), SIGUSR2);
    expect("tkill", SIGUSR2, SI_TKILL, pid, -1);

    union sigval v;
    v.sival_ptr = NULL;
    v.sival_int = 1234;
    sigqueue(pid, SIGRTMIN, v);
    expect("sigqueue int", SIGRTMIN, SI_QUEUE, pid, 1234);

    v.sival_ptr = (void *)0x123456789abcL;
    sigqueue(pid, SIGUSR1, v);
    expect("sigqueue ptr", SIGUSR1, SI_QUEUE, pid, 0x123456789abcL);

    v.sival_ptr = (void *)77L;
    pthread_sigqueue(pthread_self(), SIGRTMIN + 2, v);
    expect("pthread_sigqueue", SIGRTMIN + 2, SI_QUEUE, pid, 77);

    /* A handcrafted siginfo to oneself is passed through as given (pid, uid and code included). */
    siginfo_t si;
    memset(&si, 0, sizeof si);
    si.si_signo = SIGUSR1;
    si.si_code = SI_USER;
    si.si_pid = 4242;
    si.si_uid = getuid();
    si.si_value.sival_ptr = (void *)5L;
    long r = syscall(SYS_rt_sigqueueinfo, pid, SIGUSR1, &si);
    CHECK(r == 0, "rt_sigqueueinfo to self with si_code SI_USER accepted");
    expect("rt_sigqueueinfo forged", SIGUSR1, SI_USER, 4242, 5);

    /* The kernel copies the whole 32-byte union of a user-supplied siginfo (struct kernel_siginfo)
     * and hands it to the handler unchanged; the bytes past it (48..127) arrive as zero. */
    memset(&si, 0, sizeof si);
    si.si_signo = SIGRTMIN;
    si.si_code = SI_QUEUE;
    si.si_pid = pid;
    si.si_uid = getuid();
    for (int i = 32; i < 128; i++) ((unsigned char *)&si)[i] = (unsigned char)(0x80 + i);
    r = syscall(SYS_rt_sigqueueinfo, pid, SIGRTMIN, &si);
    CHECK(r == 0 && got == 1, "rt_sigqueueinfo with extra union bytes delivered");
    int same = 1, zero = 1;
    for (int i = 32; i < 48; i++) same &= ((unsigned char *)&last)[i] == (unsigned char)(0x80 + i);
    for (int i = 48; i < 128; i++) zero &= ((unsigned char *)&last)[i] == 0;
    CHECK(same, "union bytes 32..47 of a queued siginfo reach the handler unchanged");
    CHECK(zero, "bytes 48..127 of the delivered siginfo are zero");
    got = 0;
    memset(&last, 0, sizeof last);

    /* A secondary thread kills the process: si_pid is the process id, not the thread id. */
    sigset_t usr2, old;
    sigemptyset(&usr2);
    sigaddset(&usr2, SIGUSR2);
    sigprocmask(SIG_BLOCK, &usr2, &old);
    pthread_t t;
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);   /* the thread inherits a full mask ... */
    pthread_create(&t, NULL, kill_main_from_thread, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL); /* ... main takes SIGUSR2 again below */
    sigset_t wait_mask = old;
    sigdelset(&wait_mask, SIGUSR2);
    sigprocmask(SIG_BLOCK, &usr2, NULL);
    main_waiting = 1;
    sigsuspend(&wait_mask);
    pthread_join(t, NULL);
    sigprocmask(SIG_SETMASK, &old, NULL);
    expect("kill from another thread", SIGUSR2, SI_USER, pid, -1);

    /* Argument checks. */
    CHECK(kill(pid, 0) == 0, "kill(self, 0) == 0");
    v.sival_int = 1;
    CHECK(sigqueue(pid, 0, v) == 0, "sigqueue(self, 0) == 0");
    EXPECT_ERRNO(kill(pid, 65), EINVAL, "kill(self, 65)");
    EXPECT_ERRNO(sigqueue(pid, 65, v), EINVAL, "sigqueue(self, 65)");
    EXPECT_ERRNO(syscall(SYS_tgkill, pid, 0, SIGUSR1), EINVAL, "tgkill(self, 0)");
    EXPECT_ERRNO(syscall(SYS_tgkill, pid, 0x3ffffff0, SIGUSR1), ESRCH, "tgkill(self, no such tid)");
    EXPECT_ERRNO(syscall(SYS_tkill, -1, SIGUSR1), EINVAL, "tkill(-1)");
    /* Only the kernel may claim a si_code >= 0 (or SI_TKILL) for a signal to another process/thread. */
    si.si_code = SI_USER;
    EXPECT_ERRNO(syscall(SYS_rt_sigqueueinfo, 0x3ffffff0, SIGUSR1, &si), EPERM,
                 "rt_sigqueueinfo(other pid, si_code SI_USER)");
    si.si_code = SI_QUEUE;
    EXPECT_ERRNO(syscall(SYS_rt_sigqueueinfo, 0x3ffffff0, SIGUSR1, &si), ESRCH,
                 "rt_sigqueueinfo(no such pid, SI_QUEUE)");
    si.si_code = SI_TKILL;
    EXPECT_ERRNO(syscall(SYS_rt_tgsigqueueinfo, pid, 0x3ffffff0, SIGUSR1, &si), EPERM,
                 "rt_tgsigqueueinfo(other tid, si_code SI_TKILL)");
    CHECK(got == 0, "nothing delivered by the failed calls");
    return guest_done();
}
