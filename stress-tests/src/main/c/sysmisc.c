/* sysmisc: syscalls CPython's suite and a syscall fuzzer found missing (ENOSYS under herd, working
 * natively), each against native: clock_settime/settimeofday argument checks (never a valid set:
 * natively that would change the host's clock), sethostname's length check, scheduling queries,
 * mlock/munlock, timerfd, inotify, System V message queues and semaphores, personality, set*id
 * without a change, capget, membarrier, adjtimex (read-only), fcntl F_NOTIFY, and the network
 * interface ioctls behind if_nametoindex/if_indextoname/if_nameindex. argv[1]: a scratch dir. */
#include "guest.h"
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/membarrier.h>
#include <net/if.h>
#include <mqueue.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <sys/stat.h>
#include <signal.h>
#include <stdint.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/personality.h>
#include <sys/sem.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <sys/timex.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

static void clocks(void) {
    struct timespec ts = {0, 0};
    EXPECT_ERRNO(clock_settime(CLOCK_MONOTONIC, &ts), EINVAL, "clock_settime(CLOCK_MONOTONIC)");
    EXPECT_ERRNO(clock_settime(CLOCK_BOOTTIME, &ts), EINVAL, "clock_settime(CLOCK_BOOTTIME)");
    EXPECT_ERRNO(clock_settime(1234, &ts), EINVAL, "clock_settime(bad clock)");
    struct timespec bad = {0, 2000000000L};
    EXPECT_ERRNO(clock_settime(CLOCK_REALTIME, &bad), EINVAL, "clock_settime(REALTIME, nsec out of range)");
    EXPECT_ERRNO(syscall(SYS_clock_settime, CLOCK_REALTIME, guest_bad_ptr(16)), EFAULT, "clock_settime(bad pointer)");
    struct timeval tv = {0, 1000000};
    EXPECT_ERRNO(settimeofday(&tv, NULL), EINVAL, "settimeofday(usec out of range)");
    struct timex tx = {0};
    int st = adjtimex(&tx);
    CHECK(st >= 0 && st <= 5, "adjtimex(read-only) returns a clock state");
    char name[80];
    memset(name, 'x', sizeof name);
    EXPECT_ERRNO(sethostname(name, 65), EINVAL, "sethostname(65 bytes)");
    EXPECT_ERRNO(setdomainname(name, 65), EINVAL, "setdomainname(65 bytes)");
}

static void scheduling(void) {
    printf("sched_get_priority_max(SCHED_FIFO) = %d\n", sched_get_priority_max(SCHED_FIFO));
    printf("sched_get_priority_min(SCHED_RR) = %d\n", sched_get_priority_min(SCHED_RR));
    printf("sched_get_priority_max(SCHED_OTHER) = %d\n", sched_get_priority_max(SCHED_OTHER));
    EXPECT_ERRNO(sched_get_priority_max(1234), EINVAL, "sched_get_priority_max(bad policy)");
    printf("sched_getscheduler(0) = %d\n", sched_getscheduler(0));
    printf("sched_getscheduler(getpid()) = %d\n", sched_getscheduler(getpid()));
    struct sched_param p = {99};
    CHECK(sched_getparam(0, &p) == 0 && p.sched_priority == 0, "sched_getparam(0): priority 0");
    CHECK(sched_setscheduler(0, SCHED_OTHER, &p) == 0, "sched_setscheduler(0, SCHED_OTHER)");
    CHECK(sched_setparam(0, &p) == 0, "sched_setparam(0)");
    struct timespec q;
    CHECK(sched_rr_get_interval(0, &q) == 0, "sched_rr_get_interval(0)");
    EXPECT_ERRNO(sched_getparam(0, guest_bad_ptr(16)), EFAULT, "sched_getparam(bad pointer)");
    EXPECT_ERRNO(sched_getscheduler(-5), EINVAL, "sched_getscheduler(-5)");
    printf("ioprio_get(PROCESS, 0) >= 0: %d\n", syscall(SYS_ioprio_get, 1, 0) >= 0);
}

static void memlock(void) {
    long page = sysconf(_SC_PAGESIZE);
    char *m = mmap(NULL, 4 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(mlock(m + 10, page) == 0, "mlock of a mapped range (unaligned start)");
    CHECK(munlock(m, 2 * page) == 0, "munlock");
    CHECK(syscall(SYS_mlock2, m, page, 1) == 0, "mlock2(MLOCK_ONFAULT)");
    EXPECT_ERRNO(syscall(SYS_mlock2, m, page, 8), EINVAL, "mlock2(bad flag)");
    munmap(m + page, page);
    EXPECT_ERRNO(mlock(m, 3 * page), ENOMEM, "mlock over a hole");
    EXPECT_ERRNO(mlockall(0), EINVAL, "mlockall(0)");
    EXPECT_ERRNO(mlockall(MCL_ONFAULT), EINVAL, "mlockall(MCL_ONFAULT alone)");
    munlock(m, page);
    munmap(m, 4 * page);
}

static void timerfd(void) {
    int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
    CHECK(fd >= 0, "timerfd_create");
    struct itimerspec its = {{0, 0}, {0, 5 * 1000 * 1000}};
    CHECK(timerfd_settime(fd, 0, &its, NULL) == 0, "timerfd_settime(5 ms)");
    uint64_t n = 0;
    CHECK(read(fd, &n, 8) == 8 && n >= 1, "read: the timer expired");
    CHECK(timerfd_gettime(fd, &its) == 0 && its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0,
          "timerfd_gettime: disarmed after a one-shot");
    EXPECT_ERRNO(timerfd_create(CLOCK_MONOTONIC, 0x7), EINVAL, "timerfd_create(bad flags)");
    EXPECT_ERRNO(timerfd_settime(fd, 0, guest_bad_ptr(16), NULL), EFAULT, "timerfd_settime(bad pointer)");
    close(fd);
}

static void inotify(const char *dir) {
    int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    CHECK(fd >= 0, "inotify_init1");
    int wd = inotify_add_watch(fd, dir, IN_CREATE);
    CHECK(wd >= 0, "inotify_add_watch(dir, IN_CREATE)");
    char path[512];
    snprintf(path, sizeof path, "%s/inotify-file", dir);
    int f = open(path, O_CREAT | O_WRONLY, 0600);
    close(f);
    char buf[4096] __attribute__((aligned(8)));
    ssize_t n = read(fd, buf, sizeof buf);
    struct inotify_event *ev = (struct inotify_event *)buf;
    CHECK(n > (ssize_t)sizeof *ev && (ev->mask & IN_CREATE) && strcmp(ev->name, "inotify-file") == 0,
          "event: IN_CREATE of inotify-file");
    EXPECT_ERRNO(inotify_add_watch(fd, "/no/such/dir", IN_CREATE), ENOENT, "inotify_add_watch(missing path)");
    CHECK(inotify_rm_watch(fd, wd) == 0, "inotify_rm_watch");
    close(fd);
    unlink(path);
}

struct msg { long type; char text[16]; };

static void sysv(void) {
    int q = msgget(IPC_PRIVATE, 0600);
    CHECK(q >= 0, "msgget(IPC_PRIVATE)");
    struct msg out = {7, "hello"}, in = {0, ""};
    CHECK(msgsnd(q, &out, sizeof out.text, 0) == 0, "msgsnd");
    struct msqid_ds ds;
    CHECK(msgctl(q, IPC_STAT, &ds) == 0 && ds.msg_qnum == 1, "msgctl(IPC_STAT): one message queued");
    CHECK(msgrcv(q, &in, sizeof in.text, 7, 0) == sizeof in.text && strcmp(in.text, "hello") == 0, "msgrcv");
    EXPECT_ERRNO(msgrcv(q, &in, sizeof in.text, 7, IPC_NOWAIT), ENOMSG, "msgrcv(empty, IPC_NOWAIT)");
    EXPECT_ERRNO(msgsnd(q, guest_bad_ptr(16), 8, 0), EFAULT, "msgsnd(bad pointer)");
    CHECK(msgctl(q, IPC_RMID, NULL) == 0, "msgctl(IPC_RMID)");
    int s = semget(IPC_PRIVATE, 2, 0600);
    CHECK(s >= 0, "semget(IPC_PRIVATE, 2)");
    unsigned short vals[2] = {3, 5}, got[2] = {0, 0};
    CHECK(semctl(s, 0, SETALL, vals) == 0, "semctl(SETALL)");
    struct sembuf op = {1, -2, 0};
    CHECK(semop(s, &op, 1) == 0, "semop(-2 on sem 1)");
    CHECK(semctl(s, 0, GETALL, got) == 0 && got[0] == 3 && got[1] == 3, "semctl(GETALL): 3 3");
    CHECK(semctl(s, 1, GETVAL) == 3, "semctl(GETVAL)");
    struct sembuf wait = {0, -9, IPC_NOWAIT};
    EXPECT_ERRNO(semop(s, &wait, 1), EAGAIN, "semop(would block, IPC_NOWAIT)");
    CHECK(semctl(s, 0, IPC_RMID) == 0, "semctl(IPC_RMID)");
}

static volatile int usr1;
static void on_usr1(int sig) { usr1++; }

/* pidfd_send_signal on the /proc/PID directory of the process itself (CPython's test_signal) */
static void pidfd_signal(void) {
    signal(SIGUSR1, on_usr1);
    char path[64];
    snprintf(path, sizeof path, "/proc/%d", getpid());
    int fd = open(path, O_DIRECTORY | O_RDONLY);
    CHECK(fd >= 0, "open /proc/PID");
    CHECK(syscall(SYS_pidfd_send_signal, fd, SIGUSR1, NULL, 0) == 0 && usr1 == 1, "pidfd_send_signal(/proc/PID, SIGUSR1) ran the handler");
    CHECK(syscall(SYS_pidfd_send_signal, fd, SIGUSR1, NULL, 1 /* PIDFD_SIGNAL_THREAD */) == 0 && usr1 == 2,
          "pidfd_send_signal(PIDFD_SIGNAL_THREAD) to the main thread");
    EXPECT_ERRNO(syscall(SYS_pidfd_send_signal, fd, SIGUSR1, NULL, 3), EINVAL, "pidfd_send_signal(two scope flags)");
    EXPECT_ERRNO(syscall(SYS_pidfd_send_signal, fd, SIGUSR1, NULL, 8), EINVAL, "pidfd_send_signal(unknown flag)");
    EXPECT_ERRNO(syscall(SYS_pidfd_send_signal, 0, SIGUSR1, NULL, 0), EBADF, "pidfd_send_signal(stdin)");
    EXPECT_ERRNO(syscall(SYS_pidfd_send_signal, 999, SIGUSR1, NULL, 0), EBADF, "pidfd_send_signal(closed fd)");
    close(fd);
    signal(SIGUSR1, SIG_DFL);
}

/* pidfd_open on the process itself, its signals and pidfd_getfd; futex_waitv */
struct waitv { uint64_t val, uaddr; uint32_t flags, reserved; };
static uint32_t futex_word = 5;

static void *waker(void *arg) {
    usleep(20000);
    __atomic_store_n(&futex_word, 6, __ATOMIC_SEQ_CST);
    syscall(SYS_futex, &futex_word, 1 /* FUTEX_WAKE */, 1, NULL, NULL, 0);
    return NULL;
}

static void pidfds_and_waitv(void) {
    signal(SIGUSR1, on_usr1);
    usr1 = 0;
    int pfd = syscall(SYS_pidfd_open, getpid(), 0);
    CHECK(pfd >= 0, "pidfd_open(getpid())");
    CHECK((fcntl(pfd, F_GETFD) & FD_CLOEXEC) != 0, "a pidfd is close-on-exec");
    struct pollfd p = {pfd, POLLIN, 0};
    CHECK(poll(&p, 1, 0) == 0, "the pidfd of a live process is not readable");
    CHECK(syscall(SYS_pidfd_send_signal, pfd, SIGUSR1, NULL, 0) == 0 && usr1 == 1, "pidfd_send_signal(pidfd, SIGUSR1)");
    int dupd = syscall(SYS_pidfd_getfd, pfd, 1, 0);
    struct stat a, b;
    CHECK(dupd >= 0 && fstat(dupd, &a) == 0 && fstat(1, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev,
          "pidfd_getfd(self, 1) is stdout's file");
    EXPECT_ERRNO(syscall(SYS_pidfd_getfd, pfd, 999, 0), EBADF, "pidfd_getfd(self, closed fd)");
    close(dupd);
    close(pfd);
    EXPECT_ERRNO(syscall(SYS_pidfd_open, 0, 0), EINVAL, "pidfd_open(0)");
    EXPECT_ERRNO(syscall(SYS_pidfd_open, getpid(), 1), EINVAL, "pidfd_open(bad flags)");
    EXPECT_ERRNO(syscall(SYS_pidfd_open, 0x3fffffff, 0), ESRCH, "pidfd_open(no such pid)");
    signal(SIGUSR1, SIG_DFL);

    struct waitv w = {5, (uintptr_t)&futex_word, 2 /* FUTEX2_SIZE_U32 */, 0};
    struct waitv other = {4, (uintptr_t)&futex_word, 2, 0};
    EXPECT_ERRNO(syscall(SYS_futex_waitv, &other, 1, 0, NULL, CLOCK_MONOTONIC), EAGAIN, "futex_waitv(value changed)");
    struct timespec dl;
    clock_gettime(CLOCK_MONOTONIC, &dl);
    dl.tv_nsec += 10000000;
    if (dl.tv_nsec >= 1000000000) { dl.tv_sec++; dl.tv_nsec -= 1000000000; }
    EXPECT_ERRNO(syscall(SYS_futex_waitv, &w, 1, 0, &dl, CLOCK_MONOTONIC), ETIMEDOUT, "futex_waitv(10 ms deadline)");
    struct waitv two[2] = {{0, (uintptr_t)&usr1, 2, 0}, w};
    two[0].val = usr1;
    pthread_t t;
    pthread_create(&t, NULL, waker, NULL);
    long r = syscall(SYS_futex_waitv, two, 2, 0, NULL, CLOCK_MONOTONIC);
    pthread_join(t, NULL);
    CHECK(r == 1, "futex_waitv woken on its second futex (returned %ld)", r);
    struct waitv bad = {0, 16, 2, 0};
    EXPECT_ERRNO(syscall(SYS_futex_waitv, &bad, 1, 0, NULL, CLOCK_MONOTONIC), EFAULT, "futex_waitv(bad address)");
    EXPECT_ERRNO(syscall(SYS_futex_waitv, &w, 1, 1, NULL, CLOCK_MONOTONIC), EINVAL, "futex_waitv(flags)");
}

/* POSIX message queues */
static void mqueue(void) {
    char name[64];
    snprintf(name, sizeof name, "/herd-sysmisc-%d", getpid());
    struct mq_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.mq_maxmsg = 4;
    attr.mq_msgsize = 32;
    mqd_t q = mq_open(name, O_CREAT | O_EXCL | O_RDWR, 0600, &attr);
    CHECK(q >= 0, "mq_open(O_CREAT, maxmsg 4, msgsize 32)");
    EXPECT_ERRNO(mq_open(name, O_CREAT | O_EXCL | O_RDWR, 0600, &attr), EEXIST, "mq_open(O_EXCL) again");
    CHECK(mq_send(q, "low", 4, 1) == 0 && mq_send(q, "high", 5, 9) == 0, "mq_send twice");
    struct mq_attr got;
    CHECK(mq_getattr(q, &got) == 0 && got.mq_curmsgs == 2 && got.mq_maxmsg == 4 && got.mq_msgsize == 32,
          "mq_getattr: 2 messages, maxmsg 4, msgsize 32");
    char buf[32];
    unsigned prio = 0;
    CHECK(mq_receive(q, buf, sizeof buf, &prio) == 5 && prio == 9 && strcmp(buf, "high") == 0, "mq_receive: highest priority first");
    CHECK(mq_receive(q, buf, sizeof buf, &prio) == 4 && prio == 1, "mq_receive: then the other");
    EXPECT_ERRNO(mq_receive(q, buf, 8, &prio), EMSGSIZE, "mq_receive(buffer below msgsize)");
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_nsec += 10000000;
    if (dl.tv_nsec >= 1000000000) { dl.tv_sec++; dl.tv_nsec -= 1000000000; }
    EXPECT_ERRNO(mq_timedreceive(q, buf, sizeof buf, &prio, &dl), ETIMEDOUT, "mq_timedreceive(empty, 10 ms)");
    struct sigevent none = {0};
    none.sigev_notify = SIGEV_NONE;
    CHECK(mq_notify(q, &none) == 0 && mq_notify(q, NULL) == 0, "mq_notify(SIGEV_NONE), then unregister");
    EXPECT_ERRNO(mq_send(q, guest_bad_ptr(16), 4, 0), EFAULT, "mq_send(bad pointer)");
    mq_close(q);
    CHECK(mq_unlink(name) == 0, "mq_unlink");
    EXPECT_ERRNO(mq_unlink(name), ENOENT, "mq_unlink again");
}

static void identity(void) {
    printf("personality(0xffffffff) = %#x\n", personality(0xffffffff));
    CHECK(setresuid(-1, -1, -1) == 0 && setresgid(-1, -1, -1) == 0, "setresuid/setresgid(-1): no change");
    CHECK(setreuid(-1, -1) == 0, "setreuid(-1, -1)");
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct d[2];
    CHECK(syscall(SYS_capget, &h, d) == 0, "capget(v3, self)");
    printf("CAP_SYS_ADMIN effective: %d\n", !!(d[0].effective & (1u << CAP_SYS_ADMIN)));
    h.version = 0x12345678;
    /* the kernel answers an unknown version with its own; with NULL data that is not an error */
    printf("capget(unknown version, NULL data) = %ld\n", syscall(SYS_capget, &h, NULL));
    printf("capget wrote back version %#x\n", h.version);
    long mb = syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
    CHECK(mb >= 0 && (mb & MEMBARRIER_CMD_PRIVATE_EXPEDITED), "membarrier(QUERY) lists PRIVATE_EXPEDITED");
    CHECK(syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0, "membarrier(REGISTER_PRIVATE_EXPEDITED)");
    CHECK(syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) == 0, "membarrier(PRIVATE_EXPEDITED)");
}

static void interfaces(const char *dir) {
    int d = open(dir, O_RDONLY | O_DIRECTORY);
    CHECK(fcntl(d, F_NOTIFY, DN_CREATE | DN_MULTISHOT) == 0, "fcntl(F_NOTIFY) on a directory");
    close(d);
    unsigned idx = if_nametoindex("lo");
    CHECK(idx > 0, "if_nametoindex(lo)");
    char name[IF_NAMESIZE];
    CHECK(if_indextoname(idx, name) && strcmp(name, "lo") == 0, "if_indextoname: lo");
    struct if_nameindex *all = if_nameindex(), *p;
    int found = 0;
    for (p = all; p && p->if_index; p++) found += strcmp(p->if_name, "lo") == 0;
    CHECK(found == 1, "if_nameindex lists lo");
    if_freenameindex(all);
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct ifreq r;
    memset(&r, 0, sizeof r);
    strcpy(r.ifr_name, "lo");
    CHECK(ioctl(s, SIOCGIFFLAGS, &r) == 0 && (r.ifr_flags & IFF_LOOPBACK), "SIOCGIFFLAGS(lo): IFF_LOOPBACK");
    CHECK(ioctl(s, SIOCGIFMTU, &r) == 0 && r.ifr_mtu > 0, "SIOCGIFMTU(lo)");
    struct ifconf c = {0};
    CHECK(ioctl(s, SIOCGIFCONF, &c) == 0 && c.ifc_len > 0, "SIOCGIFCONF length query");
    char buf[4096];
    c.ifc_len = sizeof buf;
    c.ifc_buf = buf;
    CHECK(ioctl(s, SIOCGIFCONF, &c) == 0 && c.ifc_len >= (int)sizeof(struct ifreq), "SIOCGIFCONF lists interfaces");
    strcpy(r.ifr_name, "nosuchif0");
    EXPECT_ERRNO(ioctl(s, SIOCGIFINDEX, &r), ENODEV, "SIOCGIFINDEX(nosuchif0)");
    close(s);
    /* CPython's get_cid(): the local VSOCK context id, where the machine has /dev/vsock */
    int v = open("/dev/vsock", O_RDONLY);
    if (v < 0) {
        printf("/dev/vsock: %s\n", strerrorname_np(errno));
    } else {
        unsigned cid = 0;
        CHECK(ioctl(v, 0x7b9 /* IOCTL_VM_SOCKETS_GET_LOCAL_CID */, &cid) == 0, "IOCTL_VM_SOCKETS_GET_LOCAL_CID");
        close(v);
    }
}

int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : "/tmp";
    clocks();
    scheduling();
    memlock();
    timerfd();
    inotify(dir);
    sysv();
    identity();
    pidfd_signal();
    pidfds_and_waitv();
    mqueue();
    interfaces(dir);
    return guest_done();
}
