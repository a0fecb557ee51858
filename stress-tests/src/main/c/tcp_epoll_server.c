/* tcp_epoll_server: the shape of asyncio's TLS server test (CPython test_asyncio
 * test_create_server_ssl_1) over plain TCP on 127.0.0.1. A non-blocking server in the main thread
 * runs a level-triggered epoll loop (accept4, recv until EAGAIN, EPOLL_CTL_MOD for EPOLLOUT when a
 * send is partial, EPOLL_CTL_DEL and close at the end); NCLI client threads use blocking sockets
 * with poll() timeouts (as Python's settimeout does): each sends 1 MiB of 'A', waits for "OK",
 * sends 1 MiB of 'B', waits for "SPAM", then reads EOF. Each finished client wakes the loop through
 * a socketpair (asyncio's call_soon_threadsafe). Partial counts and EAGAINs vary between runs, so
 * only totals and invariants are printed. */
#include "guest.h"
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define NCLI 8
#define DATA (1 << 20)
#define POLL_MS 120000

static struct sockaddr_in addr;
static int wake[2];
static int client_ok[NCLI];

/* Blocking send with a poll() timeout per wait, as CPython's sock_call does. */
static int send_all(int fd, const char *p, size_t n) {
    while (n > 0) {
        struct pollfd pf = {fd, POLLOUT, 0};
        if (poll(&pf, 1, POLL_MS) != 1) return -1;
        ssize_t r = send(fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (r < 0 && errno == EAGAIN) continue;
        if (r <= 0) return -1;
        p += r; n -= (size_t) r;
    }
    return 0;
}

static int recv_all(int fd, char *p, size_t n) {
    while (n > 0) {
        struct pollfd pf = {fd, POLLIN, 0};
        if (poll(&pf, 1, POLL_MS) != 1) return -1;
        ssize_t r = recv(fd, p, n, MSG_DONTWAIT);
        if (r < 0 && errno == EAGAIN) continue;
        if (r <= 0) return -1;
        p += r; n -= (size_t) r;
    }
    return 0;
}

static void *client(void *arg) {
    int i = (int) (long) arg;
    char *buf = malloc(DATA), reply[8] = {0};
    int fd = socket(AF_INET, SOCK_STREAM, 0), ok = 0;
    if (fd >= 0 && connect(fd, (struct sockaddr *) &addr, sizeof addr) == 0) {
        memset(buf, 'A', DATA);
        if (send_all(fd, buf, DATA) == 0 && recv_all(fd, reply, 2) == 0 && memcmp(reply, "OK", 2) == 0) {
            memset(buf, 'B', DATA);
            if (send_all(fd, buf, DATA) == 0 && recv_all(fd, reply, 4) == 0 && memcmp(reply, "SPAM", 4) == 0) {
                struct pollfd pf = {fd, POLLIN, 0};
                ok = poll(&pf, 1, POLL_MS) == 1 && recv(fd, reply, 1, 0) == 0; /* the server's FIN */
            }
        }
    }
    if (fd >= 0) close(fd);
    free(buf);
    client_ok[i] = ok;
    char b = (char) i;
    (void) !write(wake[1], &b, 1);
    return NULL;
}

struct conn { int fd; long got; int phase; const char *out; size_t outlen; int want_out; };

int main(void) {
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t alen = sizeof addr;
    CHECK(bind(lfd, (struct sockaddr *) &addr, sizeof addr) == 0 && listen(lfd, 100) == 0
          && getsockname(lfd, (struct sockaddr *) &addr, &alen) == 0, "listen on 127.0.0.1");
    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, wake) == 0, "the wake-up socketpair");
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 1000};
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
    ev.data.u64 = 1001;
    epoll_ctl(ep, EPOLL_CTL_ADD, wake[0], &ev);

    pthread_t th[NCLI];
    for (int i = 0; i < NCLI; i++) pthread_create(&th[i], NULL, client, (void *) (long) i);

    struct conn c[NCLI];
    int nconn = 0, served = 0, woken = 0, bad = 0, empty_waits = 0;
    char *rbuf = malloc(256 * 1024);
    while (woken < NCLI) {
        struct epoll_event evs[16];
        int n = epoll_wait(ep, evs, 16, POLL_MS);
        if (n <= 0) { empty_waits++; break; }
        for (int k = 0; k < n; k++) {
            uint64_t id = evs[k].data.u64;
            if (id == 1000) {
                int fd;
                while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                    c[nconn] = (struct conn) {fd, 0, 0, NULL, 0, 0};
                    struct epoll_event e2 = {.events = EPOLLIN, .data.u64 = (uint64_t) nconn};
                    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e2);
                    nconn++;
                }
                continue;
            }
            if (id == 1001) {
                char b[16];
                ssize_t r;
                while ((r = read(wake[0], b, sizeof b)) > 0) woken += (int) r;
                continue;
            }
            struct conn *x = &c[id];
            if (x->fd < 0) continue;
            if (evs[k].events & EPOLLIN) {
                ssize_t r;
                while ((r = recv(x->fd, rbuf, 256 * 1024, 0)) > 0) {
                    char want = x->phase == 0 ? 'A' : 'B';
                    for (ssize_t j = 0; j < r; j++) if (rbuf[j] != want) bad++;
                    x->got += r;
                    if (x->got == DATA) {
                        x->got = 0;
                        x->out = x->phase == 0 ? "OK" : "SPAM";
                        x->outlen = x->phase == 0 ? 2 : 4;
                        x->phase++;
                    }
                }
                if (r == 0) bad++; /* EOF before the exchange ended */
            }
            while (x->outlen > 0) {
                ssize_t r = send(x->fd, x->out, x->outlen, MSG_NOSIGNAL);
                if (r < 0) break;
                x->out += r; x->outlen -= (size_t) r;
            }
            int want = x->outlen > 0;
            if (want != x->want_out) {
                struct epoll_event e2 = {.events = EPOLLIN | (want ? EPOLLOUT : 0), .data.u64 = id};
                epoll_ctl(ep, EPOLL_CTL_MOD, x->fd, &e2);
                x->want_out = want;
            }
            if (x->phase == 2 && x->outlen == 0) {
                shutdown(x->fd, SHUT_WR);
                epoll_ctl(ep, EPOLL_CTL_DEL, x->fd, NULL);
                close(x->fd);
                x->fd = -1;
                served++;
            }
        }
    }
    for (int i = 0; i < NCLI; i++) pthread_join(th[i], NULL);
    int oks = 0;
    for (int i = 0; i < NCLI; i++) oks += client_ok[i];
    CHECK(nconn == NCLI, "accepted %d connections", NCLI);
    CHECK(served == NCLI, "served %d exchanges of 2 x 1 MiB", NCLI);
    CHECK(bad == 0, "every byte as sent, no early EOF");
    CHECK(oks == NCLI, "every client got OK, SPAM and EOF");
    CHECK(woken == NCLI && empty_waits == 0, "every client's wake-up reached epoll_wait");
    close(ep); close(lfd); close(wake[0]); close(wake[1]);
    free(rbuf);
    return guest_done();
}
