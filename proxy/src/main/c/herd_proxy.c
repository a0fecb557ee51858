/*
 * herd-proxy: the kernel proxy process. It executes the host syscalls Herd forwards to it, in its
 * own process (and, with --net isolated, its own network namespace).
 *
 * Why native and static: the proxy maps the guest memory and Herd's shared scratch area at the
 * very host addresses Herd uses, so every pointer Herd computed (guest buffers, iovecs and msghdrs
 * it translated, sockaddrs, pollfd arrays) is valid here unchanged and a request is just a syscall
 * number and six words. A static, non-PIE program has nothing mapped yet (no loader, no libc
 * mappings, no JVM) when it claims those ranges, and starts in about a millisecond.
 *
 * Channel (a memfd both processes map; the layout is dev.herd.proxy.ProxyChannel's, all offsets
 * read from its header):
 *   - a control ring in Agrona's ManyToOneRingBuffer format, written by many Herd threads with
 *     Agrona itself and read here by one control thread (attach a cell, shut down);
 *   - one request cell per attached Herd thread, served by a shadow thread of its own: a guest
 *     thread has at most one syscall in flight, so a cell is a one-slot ring, and a call that
 *     blocks here (accept, epoll_wait, read) blocks only its own shadow.
 * Waiting spins briefly and then sleeps on a futex word in the shared memory (never FUTEX_PRIVATE:
 * the waker is the other process).
 *
 * Arguments: CHANNEL_FD GUEST_FD GUEST_BASE GUEST_SIZE SCRATCH_FD SCRATCH_BASE SCRATCH_SIZE
 *            SOCK_FD PARENT_PID NET   (numbers in decimal, bases in hex; NET is host, isolated,
 *            or join:PID, the namespaces of another proxy: an execve'd image's proxy shares the
 *            network of the one before it) 
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* Header offsets (ProxyChannel.H_*). */
#define H_MAGIC 0
#define H_STATUS 8
#define H_PID 12
#define H_CELLS 16
#define H_CELL_SIZE 20
#define H_RING_CAPACITY 24
#define H_RING_OFFSET 28
#define H_CELLS_OFFSET 32
#define H_TAIL_OFFSET 36
#define H_HEAD_OFFSET 40
#define H_DOORBELL 44
#define H_SLEEPING 48
#define H_SIGNAL 52
#define H_ERROR 64
#define H_ERROR_LEN 256
#define MAGIC 0x3158525044524548ULL /* "HERDPRX1" */

enum { STATUS_STARTING = 0, STATUS_READY = 1, STATUS_FAILED = 2 };

/* Cell offsets (ProxyChannel.C_*). */
#define C_STATE 0
#define C_R_SLEEPING 4
#define C_S_SLEEPING 8
#define C_CANCEL 12
#define C_TID 16
#define C_NR 24
#define C_ARGS 32
#define C_RESULT 80

enum { CELL_IDLE = 0, CELL_REQUEST = 1, CELL_DONE = 2, CELL_EXIT = 3, CELL_GONE = 4 };
/* Request numbers that are not host syscalls. */
#define NR_IMPORT_FD (-2L)

/* Control messages (ProxyChannel.MSG_*). */
enum { MSG_ATTACH = 1, MSG_SHUTDOWN = 2 };
#define PADDING_MSG_TYPE_ID (-1)
#define RECORD_HEADER 8
#define RECORD_ALIGNMENT 8

static char *channel;
static int sock_fd;
/* How long an idle shadow spins for its next request before it parks (0 on one CPU). Long enough
 * to cover a requester's own wake-up from its futex on this kind of machine (tens of µs). */
static long spin_nanos = 100 * 1000;

static long now_nanos(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000L + t.tv_nsec;
}

static int32_t *word(char *base, long off) { return (int32_t *)(base + off); }
static int64_t *dword(char *base, long off) { return (int64_t *)(base + off); }

static long futex(int32_t *addr, int op, int val, const struct timespec *ts) {
    return syscall(SYS_futex, addr, op, val, ts, NULL, 0);
}

static void fail(const char *fmt, const char *what, int err) {
    char *msg = channel + H_ERROR;
    snprintf(msg, H_ERROR_LEN, fmt, what, strerror(err));
    __atomic_store_n(word(channel, H_STATUS), STATUS_FAILED, __ATOMIC_SEQ_CST);
    futex(word(channel, H_STATUS), FUTEX_WAKE, 1, NULL);
    _exit(1);
}

static void interrupt_handler(int sig) { (void)sig; }

/* ------------------------------------------------------------------ shadow threads */

static long import_fd(void) {
    char byte;
    struct iovec iov = {&byte, 1};
    union { struct cmsghdr h; char buf[CMSG_SPACE(sizeof(int))]; } ctl;
    struct msghdr msg = {0};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = ctl.buf;
    msg.msg_controllen = sizeof ctl.buf;
    ssize_t r = recvmsg(sock_fd, &msg, MSG_CMSG_CLOEXEC);
    if (r < 0) return -errno;
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    if (r != 1 || c == NULL || c->cmsg_type != SCM_RIGHTS) return -EPROTO;
    int fd;
    memcpy(&fd, CMSG_DATA(c), sizeof fd);
    return fd;
}

static void *shadow(void *arg) {
    char *cell = arg;
    int32_t *state = word(cell, C_STATE);
    __atomic_store_n(word(cell, C_TID), (int32_t)gettid(), __ATOMIC_SEQ_CST);
    futex(word(cell, C_TID), FUTEX_WAKE, 1, NULL);
    for (;;) {
        int s = __atomic_load_n(state, __ATOMIC_ACQUIRE);
        if (s != CELL_REQUEST && s != CELL_EXIT && spin_nanos > 0) {
            long until = now_nanos() + spin_nanos;
            for (int i = 1; s != CELL_REQUEST && s != CELL_EXIT; i++) {
                __builtin_ia32_pause();
                s = __atomic_load_n(state, __ATOMIC_ACQUIRE);
                if ((i & 255) == 0) {
                    if (now_nanos() > until) break;
                    /* The requester may have been woken on this very CPU: let it run. */
                    sched_yield();
                }
            }
        }
        if (s != CELL_REQUEST && s != CELL_EXIT) {
            /* Dekker pair with the requester: it stores REQUEST then loads s_sleeping. */
            __atomic_store_n(word(cell, C_S_SLEEPING), 1, __ATOMIC_SEQ_CST);
            s = __atomic_load_n(state, __ATOMIC_SEQ_CST);
            if (s != CELL_REQUEST && s != CELL_EXIT) futex(state, FUTEX_WAIT, s, NULL);
            __atomic_store_n(word(cell, C_S_SLEEPING), 0, __ATOMIC_RELAXED);
            continue;
        }
        if (s == CELL_EXIT) {
            __atomic_store_n(state, CELL_GONE, __ATOMIC_RELEASE);
            return NULL;
        }
        long nr = *dword(cell, C_NR);
        int64_t *a = dword(cell, C_ARGS);
        long r;
        for (;;) {
            if (nr == NR_IMPORT_FD) {
                r = import_fd();
            } else {
                r = syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
                if (r == -1) r = -errno;
            }
            /* EINTR without a cancel came from a stray interrupt meant for an earlier request. */
            if (r != -EINTR || __atomic_load_n(word(cell, C_CANCEL), __ATOMIC_ACQUIRE)) break;
        }
        *dword(cell, C_RESULT) = r;
        __atomic_store_n(state, CELL_DONE, __ATOMIC_SEQ_CST);
        if (__atomic_load_n(word(cell, C_R_SLEEPING), __ATOMIC_SEQ_CST)) futex(state, FUTEX_WAKE, 1, NULL);
    }
}

static void attach(int cell_index) {
    int cells = *word(channel, H_CELLS);
    if (cell_index < 0 || cell_index >= cells) return;
    char *cell = channel + *word(channel, H_CELLS_OFFSET) + (long)cell_index * *word(channel, H_CELL_SIZE);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 64 * 1024);
    pthread_t t;
    int err = pthread_create(&t, &attr, shadow, cell);
    pthread_attr_destroy(&attr);
    if (err != 0) {
        /* The requester waits for the shadow's tid before its first request: -1 says none came. */
        __atomic_store_n(word(cell, C_TID), -1, __ATOMIC_SEQ_CST);
        futex(word(cell, C_TID), FUTEX_WAKE, 1, NULL);
    }
}

/* ------------------------------------------------------------------ control ring (Agrona layout) */

/* Agrona ManyToOneRingBuffer.read, for one consumer: returns the number of messages handled. */
static int read_ring(void) {
    char *ring = channel + *word(channel, H_RING_OFFSET);
    long capacity = *word(channel, H_RING_CAPACITY);
    int64_t *head_pos = dword(ring, capacity + *word(channel, H_HEAD_OFFSET));
    int64_t head = __atomic_load_n(head_pos, __ATOMIC_ACQUIRE);
    long head_index = head & (capacity - 1);
    long max = capacity - head_index, done = 0;
    int messages = 0;
    while (done < max) {
        long at = head_index + done;
        int32_t length = __atomic_load_n(word(ring, at), __ATOMIC_ACQUIRE);
        if (length <= 0) break;
        done += (length + RECORD_ALIGNMENT - 1) & ~(long)(RECORD_ALIGNMENT - 1);
        int32_t type = *word(ring, at + 4);
        if (type == PADDING_MSG_TYPE_ID) continue;
        messages++;
        if (type == MSG_ATTACH && length >= RECORD_HEADER + 4) attach(*word(ring, at + RECORD_HEADER));
        else if (type == MSG_SHUTDOWN) _exit(0);
    }
    if (done > 0) {
        memset(ring + head_index, 0, done);
        __atomic_store_n(head_pos, head + done, __ATOMIC_RELEASE);
    }
    return messages;
}

static void control_loop(void) {
    int32_t *bell = word(channel, H_DOORBELL), *sleeping = word(channel, H_SLEEPING);
    for (;;) {
        if (read_ring() > 0) continue;
        int32_t seq = __atomic_load_n(bell, __ATOMIC_SEQ_CST);
        __atomic_store_n(sleeping, 1, __ATOMIC_SEQ_CST);
        if (read_ring() == 0) futex(bell, FUTEX_WAIT, seq, NULL);
        __atomic_store_n(sleeping, 0, __ATOMIC_SEQ_CST);
    }
}

/* ------------------------------------------------------------------ set-up */

static void *watch_parent(void *arg) {
    int pidfd = (int)(long)arg;
    struct pollfd p = {pidfd, POLLIN, 0};
    while (poll(&p, 1, -1) < 0 && errno == EINTR) {}
    _exit(0);
}

static void write_file(const char *path, const char *text) {
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) fail("cannot open %s: %s", path, errno);
    if (write(fd, text, strlen(text)) < 0) fail("cannot write %s: %s", path, errno);
    close(fd);
}

/* An own network namespace with only loopback, up. Without CAP_SYS_ADMIN, inside a new user
 * namespace that maps the caller's ids to themselves. */
static void isolate_network(void) {
    uid_t uid = geteuid();
    gid_t gid = getegid();
    if (unshare(CLONE_NEWNET) != 0) {
        if (errno != EPERM) fail("cannot create a network namespace (%s): %s", "unshare", errno);
        if (unshare(CLONE_NEWUSER | CLONE_NEWNET) != 0)
            fail("cannot create a network namespace (%s): %s", "unshare user+net", errno);
        char map[64];
        snprintf(map, sizeof map, "%u %u 1\n", uid, uid);
        write_file("/proc/self/uid_map", map);
        write_file("/proc/self/setgroups", "deny");
        snprintf(map, sizeof map, "%u %u 1\n", gid, gid);
        write_file("/proc/self/gid_map", map);
    }
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) fail("cannot bring up loopback (%s): %s", "socket", errno);
    struct ifreq ifr = {0};
    strcpy(ifr.ifr_name, "lo");
    if (ioctl(s, SIOCGIFFLAGS, &ifr) != 0) fail("cannot bring up loopback (%s): %s", "SIOCGIFFLAGS", errno);
    ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
    if (ioctl(s, SIOCSIFFLAGS, &ifr) != 0) fail("cannot bring up loopback (%s): %s", "SIOCSIFFLAGS", errno);
    close(s);
}

/* The user (when it differs from ours) and network namespaces of another proxy, PID. */
static void join_network(const char *pid) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%s/ns/user", pid);
    int user = open(path, O_RDONLY | O_CLOEXEC);
    snprintf(path, sizeof path, "/proc/%s/ns/net", pid);
    int net = open(path, O_RDONLY | O_CLOEXEC);
    if (user < 0 || net < 0) fail("cannot join the network of proxy %s: %s", pid, errno);
    struct stat mine, theirs;
    if (stat("/proc/self/ns/user", &mine) == 0 && fstat(user, &theirs) == 0 && mine.st_ino != theirs.st_ino &&
        setns(user, CLONE_NEWUSER) != 0) fail("cannot join the user namespace of proxy %s: %s", pid, errno);
    if (setns(net, CLONE_NEWNET) != 0) fail("cannot join the network namespace of proxy %s: %s", pid, errno);
    close(user);
    close(net);
}

static void map_at(int fd, unsigned long base, unsigned long size, const char *what) {
    void *p = mmap((void *)base, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED_NOREPLACE | MAP_NORESERVE, fd, 0);
    if (p == MAP_FAILED) fail("cannot map %s at Herd's address: %s", what, errno);
    if ((unsigned long)p != base) fail("cannot map %s at Herd's address: %s", what, EEXIST);
    close(fd);
}

int main(int argc, char **argv) {
    if (argc != 11) {
        fprintf(stderr, "herd-proxy: started by Herd only\n");
        return 2;
    }
    prctl(PR_SET_NAME, "herd-proxy"); /* it runs as /proc/self/fd/N: give ps a name */
    int channel_fd = atoi(argv[1]);
    long channel_size = lseek(channel_fd, 0, SEEK_END);
    channel = mmap(NULL, channel_size, PROT_READ | PROT_WRITE, MAP_SHARED, channel_fd, 0);
    if (channel == MAP_FAILED || *(uint64_t *)(channel + H_MAGIC) != MAGIC) {
        fprintf(stderr, "herd-proxy: bad channel\n");
        return 2;
    }
    close(channel_fd);
    sock_fd = atoi(argv[8]);
    pid_t parent = (pid_t)atol(argv[9]);

    /* Die with Herd: a pidfd of the parent becomes readable when it exits, however it ends. */
    int pidfd = (int)syscall(SYS_pidfd_open, parent, 0);
    if (pidfd < 0) fail("cannot watch Herd (%s): %s", "pidfd_open", errno);
    if (getppid() != parent) _exit(0);

    if (strcmp(argv[10], "isolated") == 0) isolate_network();
    else if (strncmp(argv[10], "join:", 5) == 0) join_network(argv[10] + 5);
    map_at(atoi(argv[2]), strtoul(argv[3], NULL, 16), strtoul(argv[4], NULL, 10), "the guest memory");
    map_at(atoi(argv[5]), strtoul(argv[6], NULL, 16), strtoul(argv[7], NULL, 10), "the scratch area");

    struct sigaction sa = {0};
    sa.sa_handler = interrupt_handler; /* no SA_RESTART: a blocked call ends with EINTR */
    sigemptyset(&sa.sa_mask);
    int sig = *word(channel, H_SIGNAL);
    if (sigaction(sig, &sa, NULL) != 0) fail("cannot install the interrupt signal (%s): %s", "sigaction", errno);
    signal(SIGPIPE, SIG_IGN); /* Herd's guests see EPIPE from the host as they would locally */
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    if (ncpu < 2) spin_nanos = 0;

    pthread_t watcher;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 64 * 1024);
    if (pthread_create(&watcher, &attr, watch_parent, (void *)(long)pidfd) != 0)
        fail("cannot watch Herd (%s): %s", "pthread_create", errno);

    *word(channel, H_PID) = getpid();
    __atomic_store_n(word(channel, H_STATUS), STATUS_READY, __ATOMIC_SEQ_CST);
    futex(word(channel, H_STATUS), FUTEX_WAKE, 1, NULL);
    control_loop();
}
