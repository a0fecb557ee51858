/* epoll: readiness through epoll on pipes, sockets and eventfds. Level- and edge-triggered
 * events with the caller's epoll_data; EPOLL_CTL_MOD and DEL; EPOLLONESHOT; a timeout of 0 and a
 * finite timeout; epoll_pwait2 with a timespec; a closed fd leaves the interest list; the errors
 * Linux gives (EEXIST, ENOENT, EBADF, EINVAL for maxevents, an epoll fd added to itself, EPERM
 * for a regular file, EFAULT for a bad events array). Prints only invariants. */
#include "guest.h"
#include <fcntl.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int main(void) {
    int ep = epoll_create1(EPOLL_CLOEXEC);
    CHECK(ep >= 0 && fcntl(ep, F_GETFD) == FD_CLOEXEC, "epoll_create1(EPOLL_CLOEXEC)");
    int old = epoll_create(1);
    CHECK(old >= 0 && fcntl(old, F_GETFD) == 0, "epoll_create(1)");
    close(old);
    EXPECT_ERRNO(epoll_create(0), EINVAL, "epoll_create(0)");
    EXPECT_ERRNO(epoll_create1(1), EINVAL, "epoll_create1 with a bad flag");

    int p[2], sv[2];
    pipe(p);
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    int efd = eventfd(0, 0);
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 0x1122334455667788ULL};
    CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev) == 0, "add the pipe's read end (level-triggered)");
    ev.events = EPOLLIN | EPOLLET;
    ev.data.u64 = 2;
    CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, sv[0], &ev) == 0, "add a socket (edge-triggered)");
    ev.events = EPOLLIN;
    ev.data.u64 = 3;
    CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev) == 0, "add an eventfd");
    EXPECT_ERRNO(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev), EEXIST, "add the same fd twice");
    EXPECT_ERRNO(epoll_ctl(ep, EPOLL_CTL_DEL, p[1], NULL), ENOENT, "delete an fd never added");
    EXPECT_ERRNO(epoll_ctl(ep, EPOLL_CTL_ADD, 99, &ev), EBADF, "add a closed fd");
    EXPECT_ERRNO(epoll_ctl(ep, EPOLL_CTL_ADD, ep, &ev), EINVAL, "add the epoll fd to itself");
    EXPECT_ERRNO(epoll_ctl(ep, 99, p[0], &ev), EINVAL, "a bad op");
    int file = open("/proc/self/exe", O_RDONLY);
    EXPECT_ERRNO(epoll_ctl(ep, EPOLL_CTL_ADD, file, &ev), EPERM, "add a regular file");
    close(file);
    EXPECT_ERRNO(epoll_ctl(ep, EPOLL_CTL_ADD, p[1], guest_bad_ptr(16)), EFAULT, "add with a bad event pointer");

    struct epoll_event out[8];
    CHECK(epoll_wait(ep, out, 8, 0) == 0, "nothing ready: timeout 0 returns 0");
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK(epoll_wait(ep, out, 8, 30) == 0, "nothing ready: a 30 ms timeout returns 0");
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double waited = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
    CHECK(waited >= 0.029, "and it waited at least 30 ms");

    write(p[1], "a", 1);
    int n = epoll_wait(ep, out, 8, -1);
    CHECK(n == 1 && out[0].events == EPOLLIN && out[0].data.u64 == 0x1122334455667788ULL,
          "the pipe is readable, with its 64-bit epoll_data");
    CHECK(epoll_wait(ep, out, 8, 0) == 1, "level-triggered: still reported while unread");
    char c;
    read(p[0], &c, 1);
    CHECK(epoll_wait(ep, out, 8, 0) == 0, "after the read: nothing");

    send(sv[1], "s", 1, 0);
    n = epoll_wait(ep, out, 8, 0);
    CHECK(n == 1 && out[0].data.u64 == 2, "the socket is readable");
    CHECK(epoll_wait(ep, out, 8, 0) == 0, "edge-triggered: reported once");
    send(sv[1], "t", 1, 0);
    CHECK(epoll_wait(ep, out, 8, 0) == 1, "a new edge: reported again");
    char buf[8];
    recv(sv[0], buf, sizeof buf, 0);

    uint64_t one = 1;
    write(efd, &one, 8);
    write(p[1], "b", 1);
    n = epoll_wait(ep, out, 8, 0);
    int seen = 0;
    for (int i = 0; i < n; i++) seen |= out[i].data.u64 == 3 ? 1 : out[i].data.u64 == 0x1122334455667788ULL ? 2 : 4;
    CHECK(n == 2 && seen == 3, "two ready at once: the eventfd and the pipe");
    CHECK(epoll_wait(ep, out, 1, 0) == 1, "maxevents 1 returns one of them");

    ev.events = EPOLLIN | EPOLLONESHOT;
    ev.data.u64 = 33;
    CHECK(epoll_ctl(ep, EPOLL_CTL_MOD, efd, &ev) == 0, "MOD the eventfd to EPOLLONESHOT");
    CHECK(epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL) == 0, "DEL the pipe");
    n = epoll_wait(ep, out, 8, 0);
    CHECK(n == 1 && out[0].data.u64 == 33, "only the eventfd, with its new data");
    CHECK(epoll_wait(ep, out, 8, 0) == 0, "EPOLLONESHOT: disabled after one report");

    struct timespec ts = {0, 20000000};
    CHECK(syscall(SYS_epoll_pwait2, ep, out, 8, &ts, NULL, 8) == 0, "epoll_pwait2 with a 20 ms timespec: 0");
    struct timespec badts = {0, 2000000000L};
    errno = 0;
    long r = syscall(SYS_epoll_pwait2, ep, out, 8, &badts, NULL, 8);
    CHECK(r == -1 && errno == EINVAL, "epoll_pwait2 with tv_nsec out of range: EINVAL");

    /* closing the only fd of a file removes it from the interest list */
    int q[2];
    pipe(q);
    ev.events = EPOLLIN;
    ev.data.u64 = 44;
    epoll_ctl(ep, EPOLL_CTL_ADD, q[0], &ev);
    write(q[1], "c", 1);
    CHECK(epoll_wait(ep, out, 8, 0) == 1, "a second pipe is ready");
    close(q[0]);
    CHECK(epoll_wait(ep, out, 8, 0) == 0, "after close(): gone from the interest list");

    EXPECT_ERRNO(epoll_wait(ep, out, 0, 0), EINVAL, "maxevents 0");
    EXPECT_ERRNO(epoll_wait(p[0], out, 8, 0), EINVAL, "epoll_wait on a pipe");
    EXPECT_ERRNO(epoll_wait(99, out, 8, 0), EBADF, "epoll_wait on a closed fd");
    write(efd, &one, 8);
    ev.events = EPOLLIN;
    epoll_ctl(ep, EPOLL_CTL_MOD, efd, &ev);
    EXPECT_ERRNO(epoll_wait(ep, guest_bad_ptr(16), 8, 0), EFAULT, "a bad events array");
    return guest_done();
}
