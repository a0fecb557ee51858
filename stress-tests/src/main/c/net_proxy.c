/* net_proxy: what a guest does with sockets when they may live in another process (Herd's kernel
 * proxy, bin/herd run --proxy), checked against the same program run natively:
 *   - an epoll TCP echo server and its client in one thread over loopback, with an eventfd and a
 *     timerfd in the same set;
 *   - UDP request/reply with the peer's address;
 *   - poll and select over a mix of a pipe (a local fd under the proxy) and sockets;
 *   - 32 threads blocked in recv at once while another makes 2,000 quick calls;
 *   - a blocked recv and accept interrupted by a signal: EINTR without SA_RESTART, and with
 *     SA_RESTART the call goes on and gets its data;
 *   - a pipe's fd sent over a socketpair with SCM_RIGHTS (crossing sides) and used;
 *   - execve with a listening socket left open: the new image connects to it over loopback (the
 *     same network, isolated or not) and accepts on the inherited fd.
 * Prints only invariants. */
#include "guest.h"
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

static int tcp_listener(struct sockaddr_in *addr) {
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    memset(addr, 0, sizeof *addr);
    addr->sin_family = AF_INET;
    addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof *addr;
    if (s < 0 || bind(s, (struct sockaddr *)addr, len) != 0 || listen(s, 64) != 0 ||
        getsockname(s, (struct sockaddr *)addr, &len) != 0) return -1;
    return s;
}

static void epoll_echo(void) {
    struct sockaddr_in addr;
    int ls = tcp_listener(&addr);
    CHECK(ls >= 0, "TCP listener on 127.0.0.1, port 0");
    int cl = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int r = connect(cl, (struct sockaddr *)&addr, sizeof addr);
    CHECK(r == 0 || errno == EINPROGRESS, "non-blocking connect starts");
    int ep = epoll_create1(EPOLL_CLOEXEC);
    int efd = eventfd(0, EFD_NONBLOCK);
    int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
    struct itimerspec its = {.it_value = {0, 20 * 1000 * 1000}};
    CHECK(ep >= 0 && efd >= 0 && tfd >= 0 && timerfd_settime(tfd, 0, &its, NULL) == 0,
          "epoll, eventfd and an armed timerfd");
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 1};
    CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev) == 0, "add the listener");
    ev.data.u64 = 2;
    CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev) == 0, "add the eventfd");
    ev.data.u64 = 3;
    CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev) == 0, "add the timerfd");
    ev.events = EPOLLOUT;
    ev.data.u64 = 4;
    CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, cl, &ev) == 0, "add the client for writability");

    int srv = -1, sent = 0, echoed = 0, got = 0, timer = 0, bell = 0, accepted = 0;
    char rbuf[256];
    size_t have = 0;
    for (int round = 0; round < 400 && !(got == 5 && timer && bell); round++) {
        struct epoll_event out[8];
        int n = epoll_wait(ep, out, 8, 1000);
        if (n <= 0) break;
        for (int i = 0; i < n; i++) {
            uint64_t tag = out[i].data.u64;
            if (tag == 1) {
                srv = accept4(ls, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                accepted += srv >= 0;
                struct epoll_event se = {.events = EPOLLIN, .data.u64 = 5};
                epoll_ctl(ep, EPOLL_CTL_ADD, srv, &se);
            } else if (tag == 2) {
                uint64_t v;
                if (read(efd, &v, 8) == 8) bell += (int)v;
            } else if (tag == 3) {
                uint64_t v;
                if (read(tfd, &v, 8) == 8) timer = 1;
            } else if (tag == 4) {
                if (sent < 5) {
                    char msg[32];
                    int len = snprintf(msg, sizeof msg, "message %d;", sent);
                    if (write(cl, msg, len) == len) sent++;
                }
                if (sent == 5) {
                    struct epoll_event ce = {.events = EPOLLIN, .data.u64 = 6};
                    epoll_ctl(ep, EPOLL_CTL_MOD, cl, &ce);
                    uint64_t one = 3;
                    if (write(efd, &one, 8) != 8) bell = -100;
                }
            } else if (tag == 5) {
                char b[256];
                ssize_t k = read(srv, b, sizeof b);
                if (k > 0 && write(srv, b, k) == k) echoed += (int)k;
            } else if (tag == 6) {
                ssize_t k = read(cl, rbuf + have, sizeof rbuf - 1 - have);
                if (k > 0) have += k;
                rbuf[have] = 0;
                got = 0;
                for (char *p = rbuf; (p = strchr(p, ';')); p++) got++;
            }
        }
    }
    CHECK(accepted == 1, "the listener became readable once and accept4 took the connection");
    CHECK(sent == 5 && got == 5 && echoed == (int)have, "5 messages echoed back through epoll");
    CHECK(strcmp(rbuf, "message 0;message 1;message 2;message 3;message 4;") == 0, "in order, intact");
    CHECK(bell == 3, "the eventfd's count arrived through epoll");
    CHECK(timer == 1, "the timerfd expired through epoll");
    close(cl);
    char b[8];
    struct pollfd pf = {srv, POLLIN, 0};
    CHECK(poll(&pf, 1, 2000) == 1 && read(srv, b, sizeof b) == 0, "the client's close is EOF at the server");
    close(srv);
    close(ls);
    close(ep);
    close(efd);
    close(tfd);
}

static void udp(void) {
    int a = socket(AF_INET, SOCK_DGRAM, 0), b = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in aa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof aa;
    CHECK(bind(a, (struct sockaddr *)&aa, len) == 0 && getsockname(a, (struct sockaddr *)&aa, &len) == 0, "UDP bind");
    CHECK(sendto(b, "ping", 4, 0, (struct sockaddr *)&aa, sizeof aa) == 4, "sendto");
    char buf[16];
    struct sockaddr_in from;
    socklen_t fl = sizeof from;
    CHECK(recvfrom(a, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl) == 4 && !memcmp(buf, "ping", 4), "recvfrom");
    CHECK(sendto(a, "pong", 4, 0, (struct sockaddr *)&from, fl) == 4, "reply to the sender's address");
    CHECK(recv(b, buf, sizeof buf, 0) == 4 && !memcmp(buf, "pong", 4), "the reply arrives");
    close(a);
    close(b);
}

static void mixed_poll(void) {
    int p[2], sv[2];
    CHECK(pipe(p) == 0 && socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0, "a pipe and a socketpair");
    struct pollfd pf[2] = {{p[0], POLLIN, 0}, {sv[1], POLLIN, 0}};
    CHECK(poll(pf, 2, 0) == 0, "poll: neither readable");
    CHECK(write(p[1], "x", 1) == 1, "write the pipe");
    CHECK(poll(pf, 2, 1000) == 1 && pf[0].revents == POLLIN && pf[1].revents == 0, "poll: only the pipe");
    CHECK(write(sv[0], "y", 1) == 1, "write the socket");
    CHECK(poll(pf, 2, 1000) == 2 && pf[1].revents == POLLIN, "poll: both");
    fd_set rs;
    FD_ZERO(&rs);
    FD_SET(p[0], &rs);
    FD_SET(sv[1], &rs);
    int hi = (p[0] > sv[1] ? p[0] : sv[1]) + 1;
    struct timeval tv = {1, 0};
    CHECK(select(hi, &rs, NULL, NULL, &tv) == 2 && FD_ISSET(p[0], &rs) && FD_ISSET(sv[1], &rs), "select: both");
    char c;
    CHECK(read(p[0], &c, 1) == 1 && read(sv[1], &c, 1) == 1, "drain both");
    FD_ZERO(&rs);
    FD_SET(p[0], &rs);
    FD_SET(sv[1], &rs);
    tv.tv_sec = 0;
    tv.tv_usec = 20000;
    CHECK(select(hi, &rs, NULL, NULL, &tv) == 0, "select: neither, after the timeout");
    /* a local pipe fd travels over the socketpair and works at the other end */
    char byte = 'f';
    struct iovec iov = {&byte, 1};
    union { struct cmsghdr h; char buf[CMSG_SPACE(sizeof(int))]; } ctl;
    memset(&ctl, 0, sizeof ctl);
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof ctl.buf};
    struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cm), &p[1], sizeof(int));
    CHECK(sendmsg(sv[0], &m, 0) == 1, "send the pipe's write end with SCM_RIGHTS");
    memset(&ctl, 0, sizeof ctl);
    struct msghdr rm = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof ctl.buf};
    int fd = -1;
    if (recvmsg(sv[1], &rm, 0) == 1 && CMSG_FIRSTHDR(&rm)) memcpy(&fd, CMSG_DATA(CMSG_FIRSTHDR(&rm)), sizeof(int));
    CHECK(fd >= 0 && write(fd, "z", 1) == 1 && read(p[0], &c, 1) == 1 && c == 'z', "the received fd writes the pipe");
    close(fd);
    /* an eventfd (in the proxy, like the socketpair, under --proxy) travels the same way */
    int efd = eventfd(0, 0);
    memset(&ctl, 0, sizeof ctl);
    m.msg_control = ctl.buf;
    m.msg_controllen = sizeof ctl.buf;
    cm = CMSG_FIRSTHDR(&m);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cm), &efd, sizeof(int));
    CHECK(sendmsg(sv[0], &m, 0) == 1, "send an eventfd with SCM_RIGHTS");
    memset(&ctl, 0, sizeof ctl);
    rm.msg_control = ctl.buf;
    rm.msg_controllen = sizeof ctl.buf;
    fd = -1;
    if (recvmsg(sv[1], &rm, 0) == 1 && CMSG_FIRSTHDR(&rm)) memcpy(&fd, CMSG_DATA(CMSG_FIRSTHDR(&rm)), sizeof(int));
    uint64_t v = 5, got = 0;
    CHECK(fd >= 0 && fd != efd && write(fd, &v, 8) == 8 && read(efd, &got, 8) == 8 && got == 5,
          "the received eventfd is the same counter");
    close(fd);
    close(efd);
    close(p[0]);
    close(p[1]);
    close(sv[0]);
    close(sv[1]);
}

#define BLOCKED 32
static int pairs[BLOCKED][2];
static int received[BLOCKED];

static void *blocked_reader(void *arg) {
    int i = (int)(intptr_t)arg;
    char b[8];
    received[i] = (int)recv(pairs[i][1], b, sizeof b, 0);
    return NULL;
}

static void many_blocked(void) {
    pthread_t t[BLOCKED];
    int ok = 1;
    for (int i = 0; i < BLOCKED; i++) {
        ok &= socketpair(AF_UNIX, SOCK_STREAM, 0, pairs[i]) == 0;
        received[i] = -2;
        ok &= pthread_create(&t[i], NULL, blocked_reader, (void *)(intptr_t)i) == 0;
    }
    CHECK(ok, "32 threads start, each to block in recv");
    struct timespec nap = {0, 50 * 1000 * 1000};
    nanosleep(&nap, NULL);
    int quick = 0, sock = socket(AF_INET, SOCK_DGRAM, 0);
    for (int i = 0; i < 2000; i++) {
        int v;
        socklen_t l = sizeof v;
        quick += getsockopt(sock, SOL_SOCKET, SO_TYPE, &v, &l) == 0 && v == SOCK_DGRAM;
    }
    close(sock);
    int still = 0;
    for (int i = 0; i < BLOCKED; i++) still += __atomic_load_n(&received[i], __ATOMIC_SEQ_CST) == -2;
    CHECK(quick == 2000 && still == BLOCKED, "2,000 quick calls while all 32 stay blocked");
    for (int i = 0; i < BLOCKED; i++) ok &= send(pairs[i][0], "w", 1, 0) == 1;
    for (int i = 0; i < BLOCKED; i++) pthread_join(t[i], NULL);
    int all = 1;
    for (int i = 0; i < BLOCKED; i++) all &= received[i] == 1;
    CHECK(ok && all, "each gets its byte once released");
    for (int i = 0; i < BLOCKED; i++) {
        close(pairs[i][0]);
        close(pairs[i][1]);
    }
}

static int irq_sv[2], irq_ls;
static volatile int handled;
static long irq_result;
static int irq_errno;

static void on_usr1(int sig) { (void)sig; handled++; }

static void *irq_recv(void *arg) {
    (void)arg;
    char b[8];
    errno = 0;
    irq_result = recv(irq_sv[1], b, sizeof b, 0);
    irq_errno = errno;
    return NULL;
}

static void *irq_accept(void *arg) {
    (void)arg;
    errno = 0;
    irq_result = accept(irq_ls, NULL, NULL);
    irq_errno = errno;
    return NULL;
}

static void interrupted(int restart, void *(*fn)(void *), const char *what) {
    struct sigaction sa = {.sa_handler = on_usr1, .sa_flags = restart ? SA_RESTART : 0};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);
    handled = 0;
    irq_result = -2;
    pthread_t t;
    pthread_create(&t, NULL, fn, NULL);
    struct timespec nap = {0, 100 * 1000 * 1000};
    nanosleep(&nap, NULL);
    pthread_kill(t, SIGUSR1);
    nanosleep(&nap, NULL);
    if (restart) {
        CHECK(handled == 1 && irq_result == -2, "%s with SA_RESTART: the handler ran, the call goes on", what);
        if (fn == irq_recv) {
            CHECK(send(irq_sv[0], "r", 1, 0) == 1, "send the data it waits for");
        } else {
            struct sockaddr_in a;
            socklen_t l = sizeof a;
            getsockname(irq_ls, (struct sockaddr *)&a, &l);
            int c = socket(AF_INET, SOCK_STREAM, 0);
            CHECK(connect(c, (struct sockaddr *)&a, sizeof a) == 0, "connect to it");
            pthread_join(t, NULL);
            close(c);
            CHECK(irq_result >= 0, "%s restarted and completed", what);
            if (irq_result >= 0) close((int)irq_result);
            return;
        }
    }
    pthread_join(t, NULL);
    if (restart) CHECK(irq_result == 1, "%s restarted and completed", what);
    else CHECK(handled == 1 && irq_result == -1 && irq_errno == EINTR, "%s without SA_RESTART: EINTR", what);
}

static void signals(void) {
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, irq_sv) == 0, "a socketpair to block on");
    struct sockaddr_in a;
    irq_ls = tcp_listener(&a);
    interrupted(0, irq_recv, "recv");
    interrupted(1, irq_recv, "recv");
    interrupted(0, irq_accept, "accept");
    interrupted(1, irq_accept, "accept");
    close(irq_sv[0]);
    close(irq_sv[1]);
    close(irq_ls);
}

static int last_pair[2];

static void *blocked_forever(void *arg) {
    (void)arg;
    char b;
    recv(last_pair[1], &b, 1, 0);
    return NULL;
}

/* The image after execve: argv = {name, "exec-child", port, listening fd}. */
static int exec_child(char **argv) {
    int port = atoi(argv[2]), ls = atoi(argv[3]);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    CHECK(connect(c, (struct sockaddr *)&a, sizeof a) == 0, "after execve: connect to the listener the old image made");
    int s = accept(ls, NULL, NULL);
    CHECK(s >= 0, "after execve: accept on the inherited listening fd");
    CHECK(write(c, "e", 1) == 1 && read(s, &a, 1) == 1, "after execve: data flows");
    return guest_done();
}

static void exec_with_listener(void) {
    struct sockaddr_in a;
    int ls = tcp_listener(&a);
    int fl = fcntl(ls, F_GETFD);
    CHECK(ls >= 0 && fcntl(ls, F_SETFD, fl & ~FD_CLOEXEC) == 0, "a listener kept open across execve");
    char port[16], fd[16];
    snprintf(port, sizeof port, "%d", ntohs(a.sin_port));
    snprintf(fd, sizeof fd, "%d", ls);
    char *args[] = {"net_proxy", "exec-child", port, fd, NULL};
    if (guest_failures == 0) {
        execv("/proc/self/exe", args);
        CHECK(0, "execv");
    }
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc == 4 && strcmp(argv[1], "exec-child") == 0) return exec_child(argv);
    epoll_echo();
    udp();
    mixed_poll();
    many_blocked();
    signals();
    /* exit_group while a thread is blocked in recv: the process ends at once */
    pthread_t t;
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, last_pair) == 0 && pthread_create(&t, NULL, blocked_forever, NULL) == 0,
          "a thread left blocked in recv as the process exits");
    struct timespec nap = {0, 20 * 1000 * 1000};
    nanosleep(&nap, NULL);
    /* qemu-aarch64-static (the aarch64 oracle) cannot execve a foreign binary without binfmt_misc */
    if (!(argc > 1 && strcmp(argv[1], "no-exec") == 0)) exec_with_listener(); /* returns only if something failed */
    return guest_done();
}
