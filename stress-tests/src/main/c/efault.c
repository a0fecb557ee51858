/* efault: where Linux checks (or does not check) user pointers, compared with native (issue 9).
 * Every line prints the call's result and errno; the native run is the oracle. Cases: NULL to
 * getrlimit/setrlimit, zero lengths with bad pointers, buffers Linux shortens or never touches
 * (size queries, unused remainders, short reads/writes up to a fault), and the order of checks
 * (another error or EFAULT first). */
#include "guest.h"
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#define R(what, expr) do { errno = 0; long r_ = (long)(expr); int e_ = errno; \
        printf("%-58s ret=%ld errno=%s\n", what, r_, r_ < 0 ? strerrorname_np(e_) : "0"); } while (0)

int main(void) {
    long page = sysconf(_SC_PAGESIZE);
    /* two pages: the first read-write, the second PROT_NONE; `edge` = 16 valid bytes before it */
    char *map = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(map != MAP_FAILED, "mmap two pages");
    mprotect(map + page, page, PROT_NONE);
    char *edge = map + page - 16;
    memset(map, 'e', page);
    void *bad = guest_bad_ptr(8), *kernel = guest_bad_ptr(0xffffffff81000000UL);
    int fd = open("/proc/self/exe", O_RDONLY);
    char name[] = "/tmp/herd-efault-XXXXXX";
    int wfd = mkstemp(name);
    CHECK(fd >= 0 && wfd >= 0, "open a file and a scratch file");
    int p[2];
    CHECK(pipe(p) == 0, "pipe");

    /* NULL where Linux copies a struct in or out: EFAULT */
    R("getrlimit(NOFILE, NULL)", syscall(SYS_getrlimit, RLIMIT_NOFILE, NULL));
    R("setrlimit(NOFILE, NULL)", syscall(SYS_setrlimit, RLIMIT_NOFILE, NULL));
    R("getrlimit(99, NULL)", syscall(SYS_getrlimit, 99, NULL));
    R("setrlimit(99, NULL)", syscall(SYS_setrlimit, 99, NULL));
    R("prlimit64(0, NOFILE, NULL, NULL)", syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, NULL, NULL));
    R("prlimit64(0, 99, bad, NULL)", syscall(SYS_prlimit64, 0, 99, bad, NULL));
    R("prlimit64(0, 99, NULL, bad)", syscall(SYS_prlimit64, 0, 99, NULL, bad));

    /* zero lengths with bad pointers */
    R("mincore(map, 0, NULL)", syscall(SYS_mincore, map, 0, NULL));
    R("mincore(map, 0, bad)", syscall(SYS_mincore, map, 0, bad));
    R("poll(NULL, 0, 0)", syscall(SYS_poll, NULL, 0, 0));
    R("poll(bad, 0, 0)", syscall(SYS_poll, bad, 0, 0));
    struct timespec zero = {0, 0};
    R("ppoll(NULL, 0, {0,0}, NULL, 8)", syscall(SYS_ppoll, NULL, 0, &zero, NULL, 8));
    R("read(file, NULL, 0)", syscall(SYS_read, fd, NULL, 0));
    R("read(file, bad, 0)", syscall(SYS_read, fd, bad, 0));
    R("read(file, kernel, 0)", syscall(SYS_read, fd, kernel, 0));
    R("read(pipe, NULL, 0)", syscall(SYS_read, p[0], NULL, 0));
    R("pread64(file, NULL, 0, 0)", syscall(SYS_pread64, fd, NULL, 0, 0));
    R("pread64(file, kernel, 0, 0)", syscall(SYS_pread64, fd, kernel, 0, 0));
    R("write(file, NULL, 0)", syscall(SYS_write, wfd, NULL, 0));
    R("write(file, kernel, 0)", syscall(SYS_write, wfd, kernel, 0));

    /* buffers Linux never touches, or only in part */
    R("listxattr(file, NULL, 0)", syscall(SYS_listxattr, name, NULL, 0));
    R("llistxattr(file, NULL, 0)", syscall(SYS_llistxattr, name, NULL, 0));
    R("flistxattr(fd, NULL, 0)", syscall(SYS_flistxattr, wfd, NULL, 0));
    R("flistxattr(fd, bad, 0)", syscall(SYS_flistxattr, wfd, bad, 0));
    R("getxattr(file, user.none, NULL, 0)", syscall(SYS_getxattr, name, "user.none", NULL, 0));
    R("getgroups(0, NULL)", syscall(SYS_getgroups, 0, NULL));
    R("getrandom(NULL, 0, 0)", syscall(SYS_getrandom, NULL, 0, 0));
    R("getrandom(edge, 64, 0): 16 bytes mapped", syscall(SYS_getrandom, edge, 64, 0));
    R("getrandom(edge, 64, bad flags)", syscall(SYS_getrandom, edge, 64, 0x1000));
    struct timespec short_sleep = {0, 1000};
    R("nanosleep(1us, bad rem): rem unused", syscall(SYS_nanosleep, &short_sleep, bad));
    R("clock_nanosleep(MONO, 0, 1us, bad rem)", syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, &short_sleep, bad) == 0 ? 0 : -1);
    R("read(file, edge, 64): short read", syscall(SYS_read, fd, edge, 64));
    R("pread64(file, edge, 64, 0): short read", syscall(SYS_pread64, fd, edge, 64, 0));
    R("write(file, edge, 64): short write", syscall(SYS_write, wfd, edge, 64));
    R("pwrite64(file, edge, 64, 0): short write", syscall(SYS_pwrite64, wfd, edge, 64, 0));
    struct iovec iov[2] = {{edge, 16}, {map + page, 16}};
    R("readv(file, [edge 16, none 16]): short", syscall(SYS_readv, fd, iov, 2));
    R("writev(file, [edge 16, none 16]): short", syscall(SYS_writev, wfd, iov, 2));
    R("rt_sigpending(NULL, 0)", syscall(SYS_rt_sigpending, NULL, 0));
    R("rt_sigpending(edge+12, 4)", syscall(SYS_rt_sigpending, edge + 12, 4));
    R("rt_sigpending(edge+12, 8)", syscall(SYS_rt_sigpending, edge + 12, 8));
    R("sched_getaffinity(0, 1024, edge-8): copies the kernel size", syscall(SYS_sched_getaffinity, 0, 1024, map + page - 8));
    R("splice(pipe, bad off, file, NULL, 8, 0): ESPIPE first", syscall(SYS_splice, p[0], bad, wfd, NULL, 8, 0));
    R("splice(file, NULL, pipe, bad off, 8, 0): ESPIPE first", syscall(SYS_splice, fd, NULL, p[1], bad, 8, 0));

    /* the order of checks: another error, or EFAULT first */
    R("epoll_ctl(-1, ADD, 0, bad): event copied first", syscall(SYS_epoll_ctl, -1, EPOLL_CTL_ADD, 0, bad));
    R("timer_create(99, bad, bad): sigevent copied first", syscall(SYS_timer_create, 99, bad, bad));
    R("getitimer(1<<32, bad): which is an int", syscall(SYS_getitimer, 1L << 32, bad));
    R("accept(file, bad, bad): ENOTSOCK first", syscall(SYS_accept, fd, bad, bad));
    R("getsockname(file, bad, bad): ENOTSOCK first", syscall(SYS_getsockname, fd, bad, bad));
    R("pipe2(NULL, bad flags): flags first", syscall(SYS_pipe2, NULL, 0x12345));
    R("getrandom(bad, 8, bad flags): flags first", syscall(SYS_getrandom, bad, 8, 0x1000));
    R("sched_setaffinity(0, -1, bad)", syscall(SYS_sched_setaffinity, 0, -1L, bad));
    R("ppoll(NULL, 1, kernel, NULL, 9): timeout first", syscall(SYS_ppoll, NULL, 1, kernel, NULL, 9));
    R("inotify_add_watch(file, bad, 0): mask first", syscall(SYS_inotify_add_watch, fd, bad, 0));
    /* timer ids come from a per-process counter: a deleted id is not handed out again */
    struct sigevent none_ev = {.sigev_notify = SIGEV_NONE};
    int tid1 = -1, tid2 = -1;
    CHECK(syscall(SYS_timer_create, CLOCK_MONOTONIC, &none_ev, &tid1) == 0, "timer_create");
    syscall(SYS_timer_delete, tid1);
    CHECK(syscall(SYS_timer_create, CLOCK_MONOTONIC, &none_ev, &tid2) == 0, "timer_create again");
    R("timer_gettime(deleted id, bad): EINVAL first", syscall(SYS_timer_gettime, tid1, bad));
    R("timer_settime(deleted id, 0, bad, bad)", syscall(SYS_timer_settime, tid1, 0, bad, bad));
    syscall(SYS_timer_delete, tid2);
    R("mremap(kernel, -4096, 4096, 0): lookup before old_len", syscall(SYS_mremap, kernel, -4096L, 4096L, 0, 0));
    struct { long sec, usec; } long_usec = {0, 2000000};
    R("select(1, bad, NULL, NULL, {0, 2000000us})", syscall(SYS_select, 1, bad, NULL, NULL, &long_usec));
    R("open(bad, O_TMPFILE|O_RDONLY): flags first", syscall(SYS_open, bad, O_TMPFILE | O_RDONLY, 0));
    R("link(missing, bad): old name looked up first", syscall(SYS_link, "/tmp/herd-efault-missing/x", bad));
    char long_name[300];
    memset(long_name, 'x', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = 0;
    R("link(300-byte name, bad)", syscall(SYS_link, long_name, bad));
    int dfd = open("/tmp", O_RDONLY | O_DIRECTORY);
    R("getdents(dir, bad, 0x80000000): count is an int", syscall(SYS_getdents, dfd, bad, 0x80000000L));
    close(dfd);
    R("fcntl(fd, F_SETOWN_EX, bad)", syscall(SYS_fcntl, fd, F_SETOWN_EX, bad));
    R("fcntl(fd, F_GETOWN_EX, bad)", syscall(SYS_fcntl, fd, F_GETOWN_EX, bad));
    R("getrandom(bad, 8, 1<<32): flags are an int", syscall(SYS_getrandom, bad, 8, 1L << 32));
    R("futex_waitv(bad, 1, 0, bad, 99): clock first", syscall(SYS_futex_waitv, bad, 1, 0, bad, 99));
    R("mincore(map, 1<<30, kernel): vector before mappings", syscall(SYS_mincore, map, 1L << 30, kernel));
    int nul = open("/dev/null", O_RDONLY);
    long to_top = 0x7ffffffff000L - (long)map; /* up to TASK_SIZE_MAX: access_ok passes */
    R("pread64(/dev/null, map, up to the top, 0)", syscall(SYS_pread64, nul, map, to_top, 0));
    R("read(/dev/null, map, up to the top)", syscall(SYS_read, nul, map, to_top));
    R("read(/dev/null, map, a page past the top)", syscall(SYS_read, nul, map, to_top + page));
    close(nul);
    R("pread64(-1, bad, 8, -1): offset first", syscall(SYS_pread64, -1, bad, 8, -1L));
    R("pwrite64(-1, bad, 8, -1): offset first", syscall(SYS_pwrite64, -1, bad, 8, -1L));
    R("recvmmsg(-1, bad, 0, 0, NULL): the fd even for no messages", syscall(SYS_recvmmsg, -1, bad, 0, 0, NULL));
    int us = socket(AF_UNIX, SOCK_STREAM, 0), ls = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
    sa_family_t unix_family = AF_UNIX; /* bind with only the family: an autobound abstract name */
    CHECK(us >= 0 && ls >= 0 && bind(ls, (struct sockaddr *)&unix_family, sizeof unix_family) == 0 && listen(ls, 1) == 0,
          "unix sockets");
    R("getsockopt(unix, SOL_IP, 0, bad, bad): EOPNOTSUPP first", syscall(SYS_getsockopt, us, 0, 0, bad, bad));
    R("getpeername(unconnected, kernel, kernel): ENOTCONN first", syscall(SYS_getpeername, us, kernel, kernel));
    R("accept(unconnected, map, NULL): EINVAL first", syscall(SYS_accept, us, map, NULL));
    R("accept4(listening, map, bad, 0): EAGAIN first", syscall(SYS_accept4, ls, map, bad, 0));
    R("recvfrom(unconnected, map, 0, 0, bad, bad): EINVAL first", syscall(SYS_recvfrom, us, map, 0, 0, bad, bad));
    char *ro = mmap(NULL, page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    R("recvmmsg(listening, read-only, 1, 0, NULL): EINVAL first", syscall(SYS_recvmmsg, ls, ro, 1, 0, NULL));
    close(us);
    close(ls);

    /* arch_prctl's xstate and CPUID codes: the value written differs by CPU, the checks do not */
    R("arch_prctl(GET_XCOMP_SUPP, bad)", syscall(SYS_arch_prctl, 0x1021, bad));
    R("arch_prctl(GET_XCOMP_PERM, edge+12): crosses into PROT_NONE", syscall(SYS_arch_prctl, 0x1022, edge + 12));
    R("arch_prctl(GET_XCOMP_GUEST_PERM, map)", syscall(SYS_arch_prctl, 0x1024, map));
    R("arch_prctl(REQ_XCOMP_PERM, 1): SSE is not requestable", syscall(SYS_arch_prctl, 0x1023, 1));
    R("arch_prctl(REQ_XCOMP_PERM, 99)", syscall(SYS_arch_prctl, 0x1023, 99));
    R("arch_prctl(GET_CPUID, bad)", syscall(SYS_arch_prctl, 0x1011, bad));
    R("arch_prctl(0x9999, bad)", syscall(SYS_arch_prctl, 0x9999, bad));
    unlink(name);
    return guest_done();
}
