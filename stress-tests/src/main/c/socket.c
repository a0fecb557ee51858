/* socket: BSD sockets on loopback and AF_UNIX. argv[1]: a scratch directory.
 * socketpair stream and datagram; sendmsg/recvmsg with several iovecs; SCM_RIGHTS passing a
 * pipe's write end (the received fd works); AF_UNIX pathname bind/listen/connect/accept with
 * paths relative to the cwd, getsockname (the path as bound; connect to it), EADDRINUSE, ENOENT; an abstract address; TCP on
 * 127.0.0.1 (port 0, getsockname, accept4 SOCK_CLOEXEC, getpeername, shutdown -> EOF, refused
 * connection); UDP sendto/recvfrom with the peer's address; socket options; hostile arguments
 * (bad pointers, bad fds, bad lengths). Prints only invariants. */
#include "guest.h"
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

static void pairs(void) {
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0, "socketpair(AF_UNIX, SOCK_STREAM)");
    CHECK(fcntl(sv[0], F_GETFD) == FD_CLOEXEC, "SOCK_CLOEXEC sets FD_CLOEXEC");
    CHECK(send(sv[0], "hello", 5, 0) == 5, "send 5 bytes");
    char buf[64] = {0};
    CHECK(recv(sv[1], buf, sizeof buf, 0) == 5 && !memcmp(buf, "hello", 5), "recv them on the other end");

    /* sendmsg with three iovecs, recvmsg into two */
    struct iovec out[3] = {{"ab", 2}, {"cde", 3}, {"f", 1}};
    struct msghdr mo = {.msg_iov = out, .msg_iovlen = 3};
    CHECK(sendmsg(sv[0], &mo, 0) == 6, "sendmsg gathers 3 iovecs");
    char a[4] = {0}, b[8] = {0};
    struct iovec in[2] = {{a, 4}, {b, 8}};
    struct msghdr mi = {.msg_iov = in, .msg_iovlen = 2};
    CHECK(recvmsg(sv[1], &mi, 0) == 6 && !memcmp(a, "abcd", 4) && !memcmp(b, "ef", 2), "recvmsg scatters into 2 iovecs");
    CHECK(mi.msg_flags == 0 && mi.msg_controllen == 0, "recvmsg: no flags, no control data");

    /* SCM_RIGHTS: send a pipe's write end, write through the received fd */
    int p[2];
    CHECK(pipe(p) == 0, "pipe");
    union { struct cmsghdr h; char buf[CMSG_SPACE(sizeof(int))]; } ctl;
    memset(&ctl, 0, sizeof ctl);
    struct iovec one = {"F", 1};
    struct msghdr ms = {.msg_iov = &one, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof ctl.buf};
    struct cmsghdr *c = CMSG_FIRSTHDR(&ms);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &p[1], sizeof(int));
    CHECK(sendmsg(sv[0], &ms, 0) == 1, "sendmsg with SCM_RIGHTS");
    close(p[1]);
    union { struct cmsghdr h; char buf[CMSG_SPACE(sizeof(int))]; } rctl;
    memset(&rctl, 0, sizeof rctl);
    char f;
    struct iovec rone = {&f, 1};
    struct msghdr mr = {.msg_iov = &rone, .msg_iovlen = 1, .msg_control = rctl.buf, .msg_controllen = sizeof rctl.buf};
    CHECK(recvmsg(sv[1], &mr, MSG_CMSG_CLOEXEC) == 1 && f == 'F', "recvmsg gets the byte");
    struct cmsghdr *rc = CMSG_FIRSTHDR(&mr);
    int got = -1;
    if (rc && rc->cmsg_type == SCM_RIGHTS) memcpy(&got, CMSG_DATA(rc), sizeof(int));
    CHECK(rc && rc->cmsg_level == SOL_SOCKET && rc->cmsg_type == SCM_RIGHTS && got >= 0, "SCM_RIGHTS arrives with an fd");
    CHECK(got >= 0 && fcntl(got, F_GETFD) == FD_CLOEXEC, "MSG_CMSG_CLOEXEC marks it close-on-exec");
    CHECK(got >= 0 && write(got, "Z", 1) == 1, "the received fd is the pipe's write end");
    CHECK(read(p[0], &f, 1) == 1 && f == 'Z', "what it wrote comes out of the pipe");
    close(got);
    close(p[0]);

    /* truncation: a control buffer too small for the fd */
    CHECK(pipe(p) == 0, "pipe");
    memcpy(CMSG_DATA(c), &p[1], sizeof(int));
    CHECK(sendmsg(sv[0], &ms, 0) == 1, "sendmsg with SCM_RIGHTS again");
    char tiny[8];
    struct msghdr mt = {.msg_iov = &rone, .msg_iovlen = 1, .msg_control = tiny, .msg_controllen = sizeof tiny};
    CHECK(recvmsg(sv[1], &mt, 0) == 1 && (mt.msg_flags & MSG_CTRUNC), "a control buffer too small: MSG_CTRUNC");
    close(p[0]);
    close(p[1]);

    shutdown(sv[0], SHUT_WR);
    CHECK(read(sv[1], buf, sizeof buf) == 0, "shutdown(SHUT_WR): the peer reads EOF");
    close(sv[0]);
    close(sv[1]);

    CHECK(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) == 0, "socketpair(AF_UNIX, SOCK_DGRAM)");
    send(sv[0], "one", 3, 0);
    send(sv[0], "three", 5, 0);
    CHECK(recv(sv[1], buf, sizeof buf, 0) == 3 && recv(sv[1], buf, sizeof buf, 0) == 5, "datagrams keep their boundaries");

    /* sendmmsg / recvmmsg: three datagrams in one call each way */
    struct mmsghdr out3[3], in4[4];
    struct iovec oio[3] = {{"a", 1}, {"bb", 2}, {"ccc", 3}};
    char ib[4][8];
    struct iovec iio[4];
    memset(out3, 0, sizeof out3);
    memset(in4, 0, sizeof in4);
    for (int i = 0; i < 3; i++) { out3[i].msg_hdr.msg_iov = &oio[i]; out3[i].msg_hdr.msg_iovlen = 1; }
    for (int i = 0; i < 4; i++) {
        iio[i].iov_base = ib[i];
        iio[i].iov_len = sizeof ib[i];
        in4[i].msg_hdr.msg_iov = &iio[i];
        in4[i].msg_hdr.msg_iovlen = 1;
    }
    CHECK(sendmmsg(sv[0], out3, 3, 0) == 3 && out3[0].msg_len == 1 && out3[2].msg_len == 3, "sendmmsg: 3 datagrams, msg_len set");
    CHECK(recvmmsg(sv[1], in4, 4, MSG_WAITFORONE, NULL) == 3 && in4[0].msg_len == 1 && in4[1].msg_len == 2
          && in4[2].msg_len == 3 && !memcmp(ib[2], "ccc", 3), "recvmmsg(MSG_WAITFORONE): the 3, in order");
    errno = 0;
    CHECK(recvmmsg(sv[1], in4, 4, MSG_DONTWAIT, NULL) == -1 && errno == EAGAIN, "recvmmsg with nothing queued: EAGAIN");
    close(sv[0]);
    close(sv[1]);
}

static void unix_paths(const char *dir) {
    CHECK(chdir(dir) == 0, "chdir to the scratch directory");
    unlink("sock");
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    strcpy(addr.sun_path, "sock");
    socklen_t alen = offsetof(struct sockaddr_un, sun_path) + 5;
    CHECK(bind(s, (struct sockaddr *)&addr, alen) == 0, "bind to a relative path");
    CHECK(access("sock", F_OK) == 0, "the socket file exists in the cwd");
    CHECK(listen(s, 4) == 0, "listen");
    int s2 = socket(AF_UNIX, SOCK_STREAM, 0);
    EXPECT_ERRNO(bind(s2, (struct sockaddr *)&addr, alen), EADDRINUSE, "bind to the same path");
    int c = socket(AF_UNIX, SOCK_STREAM, 0);
    char abs[8];
    /* the scratch directory's absolute path may be longer than sun_path: relative paths only */
    struct sockaddr_un to = {.sun_family = AF_UNIX};
    strcpy(to.sun_path, "./sock");
    CHECK(connect(c, (struct sockaddr *)&to, sizeof to) == 0, "connect by another relative spelling");
    int a = accept(s, NULL, NULL);
    CHECK(a >= 0, "accept");
    CHECK(write(c, "q", 1) == 1 && read(a, abs, 1) == 1 && abs[0] == 'q', "data flows");

    /* getsockname gives the path as it was bound (2 + strlen + 1 bytes), and programs connect to it */
    struct sockaddr_un name;
    socklen_t nlen = sizeof name;
    memset(&name, 0xaa, sizeof name);
    CHECK(getsockname(s, (struct sockaddr *)&name, &nlen) == 0 && nlen == offsetof(struct sockaddr_un, sun_path) + 5 &&
          name.sun_family == AF_UNIX && !strcmp(name.sun_path, "sock"), "getsockname: the relative path as bound");
    int c2 = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK(connect(c2, (struct sockaddr *)&name, nlen) == 0, "connect to the address getsockname gave");
    int a2 = accept(s, NULL, NULL);
    CHECK(a2 >= 0, "accept that connection");
    close(a2);
    close(c2);
    int sd = dup(s);
    memset(&name, 0xaa, sizeof name);
    nlen = 4; /* a short buffer: 4 bytes copied, the length says the whole size, the rest untouched */
    CHECK(getsockname(sd, (struct sockaddr *)&name, &nlen) == 0 && nlen == offsetof(struct sockaddr_un, sun_path) + 5 &&
          !memcmp(name.sun_path, "so", 2) && (unsigned char)name.sun_path[2] == 0xaa,
          "getsockname on a dup, short buffer: truncated copy, full length");
    close(sd);
    mkdir("sub", 0700);
    unlink("sub/s");
    int s3 = socket(AF_UNIX, SOCK_DGRAM, 0);
    struct sockaddr_un sub = {.sun_family = AF_UNIX};
    strcpy(sub.sun_path, "sub/s");
    CHECK(bind(s3, (struct sockaddr *)&sub, sizeof sub) == 0, "bind a datagram socket in a subdirectory");
    nlen = sizeof name;
    CHECK(getsockname(s3, (struct sockaddr *)&name, &nlen) == 0 && nlen == offsetof(struct sockaddr_un, sun_path) + 6 &&
          !strcmp(name.sun_path, "sub/s"), "getsockname: sub/s");
    close(s3);
    CHECK(unlink("sub/s") == 0 && rmdir("sub") == 0, "remove sub/s and sub");
    struct sockaddr_un missing = {.sun_family = AF_UNIX};
    strcpy(missing.sun_path, "no-such-socket");
    EXPECT_ERRNO(connect(s2, (struct sockaddr *)&missing, sizeof missing), ENOENT, "connect to a missing path");
    close(a);
    close(c);
    close(s);
    close(s2);
    CHECK(unlink("sock") == 0, "unlink the socket file");

    /* abstract namespace: no file */
    s = socket(AF_UNIX, SOCK_DGRAM, 0);
    struct sockaddr_un ab = {.sun_family = AF_UNIX};
    snprintf(ab.sun_path + 1, sizeof ab.sun_path - 1, "herd-test-%d", getpid());
    socklen_t ablen = offsetof(struct sockaddr_un, sun_path) + 1 + strlen(ab.sun_path + 1);
    CHECK(bind(s, (struct sockaddr *)&ab, ablen) == 0, "bind an abstract address");
    struct sockaddr_un back;
    socklen_t blen = sizeof back;
    CHECK(getsockname(s, (struct sockaddr *)&back, &blen) == 0 && blen == ablen && !memcmp(&back, &ab, ablen),
          "getsockname returns the abstract address");
    c = socket(AF_UNIX, SOCK_DGRAM, 0);
    CHECK(sendto(c, "dg", 2, 0, (struct sockaddr *)&ab, ablen) == 2, "sendto the abstract address");
    char buf[8];
    CHECK(recv(s, buf, sizeof buf, 0) == 2 && !memcmp(buf, "dg", 2), "recv the datagram");
    close(c);
    close(s);
}

static void tcp_udp(void) {
    int l = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    CHECK(setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == 0, "setsockopt SO_REUSEADDR");
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK), .sin_port = 0};
    CHECK(bind(l, (struct sockaddr *)&addr, sizeof addr) == 0, "bind 127.0.0.1:0");
    socklen_t len = sizeof addr;
    CHECK(getsockname(l, (struct sockaddr *)&addr, &len) == 0 && len == sizeof addr && addr.sin_port != 0,
          "getsockname: a port was chosen");
    CHECK(listen(l, 8) == 0, "listen");
    int c = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(connect(c, (struct sockaddr *)&addr, sizeof addr) == 0, "connect to it");
    struct sockaddr_in peer;
    socklen_t plen = sizeof peer;
    int a = accept4(l, (struct sockaddr *)&peer, &plen, SOCK_CLOEXEC);
    CHECK(a >= 0 && plen == sizeof peer && peer.sin_addr.s_addr == htonl(INADDR_LOOPBACK), "accept4 returns the peer");
    CHECK(fcntl(a, F_GETFD) == FD_CLOEXEC, "accept4(SOCK_CLOEXEC)");
    struct sockaddr_in me;
    socklen_t mlen = sizeof me;
    CHECK(getpeername(c, (struct sockaddr *)&me, &mlen) == 0 && me.sin_port == addr.sin_port, "getpeername of the client");
    CHECK(setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) == 0, "setsockopt TCP_NODELAY");
    int v = 0;
    socklen_t vlen = sizeof v;
    CHECK(getsockopt(c, IPPROTO_TCP, TCP_NODELAY, &v, &vlen) == 0 && v == 1 && vlen == sizeof v, "getsockopt TCP_NODELAY");
    vlen = sizeof v;
    CHECK(getsockopt(c, SOL_SOCKET, SO_TYPE, &v, &vlen) == 0 && v == SOCK_STREAM, "getsockopt SO_TYPE");
    char big[60000];
    memset(big, 'b', sizeof big);
    ssize_t sent = 0;
    while (sent < (ssize_t)sizeof big) {
        ssize_t n = send(c, big + sent, sizeof big - sent, 0);
        if (n <= 0) break;
        sent += n;
    }
    shutdown(c, SHUT_WR);
    ssize_t total = 0, n;
    char rb[4096];
    int allb = 1;
    while ((n = recv(a, rb, sizeof rb, 0)) > 0) {
        for (ssize_t i = 0; i < n; i++) allb &= rb[i] == 'b';
        total += n;
    }
    CHECK(sent == sizeof big && total == sizeof big && allb && n == 0, "60000 bytes over TCP, then EOF");
    close(a);
    close(c);
    close(l);
    c = socket(AF_INET, SOCK_STREAM, 0);
    EXPECT_ERRNO(connect(c, (struct sockaddr *)&addr, sizeof addr), ECONNREFUSED, "connect to a closed port");
    close(c);

    int u1 = socket(AF_INET, SOCK_DGRAM, 0), u2 = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in ua = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bind(u1, (struct sockaddr *)&ua, sizeof ua);
    len = sizeof ua;
    getsockname(u1, (struct sockaddr *)&ua, &len);
    CHECK(sendto(u2, "udp!", 4, 0, (struct sockaddr *)&ua, sizeof ua) == 4, "UDP sendto");
    struct sockaddr_in from;
    socklen_t flen = sizeof from;
    char ub[16];
    struct sockaddr_in u2a;
    socklen_t u2len = sizeof u2a;
    getsockname(u2, (struct sockaddr *)&u2a, &u2len);
    CHECK(recvfrom(u1, ub, sizeof ub, 0, (struct sockaddr *)&from, &flen) == 4 && !memcmp(ub, "udp!", 4), "UDP recvfrom");
    CHECK(flen == sizeof from && from.sin_port == u2a.sin_port, "recvfrom reports the sender's port");
    close(u1);
    close(u2);
}

static void hostile(void) {
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in ua = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int peer = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in pa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t palen = sizeof pa;
    bind(peer, (struct sockaddr *)&pa, sizeof pa);
    getsockname(peer, (struct sockaddr *)&pa, &palen);
    EXPECT_ERRNO(socket(AF_INET, 12345, 0), EINVAL, "socket with a bad type");
    EXPECT_ERRNO(bind(99, (struct sockaddr *)&ua, sizeof ua), EBADF, "bind on a closed fd");
    EXPECT_ERRNO(bind(s, guest_bad_ptr(16), sizeof ua), EFAULT, "bind with a bad address pointer");
    EXPECT_ERRNO(bind(s, (struct sockaddr *)&ua, 1000), EINVAL, "bind with a length above sockaddr_storage");
    EXPECT_ERRNO(sendto(s, guest_bad_ptr(16), 4, 0, (struct sockaddr *)&pa, sizeof pa), EFAULT, "sendto from a bad buffer");
    socklen_t bad = (socklen_t)-1;
    struct sockaddr_in out;
    EXPECT_ERRNO(getsockname(s, (struct sockaddr *)&out, &bad), EINVAL, "getsockname with a negative length");
    EXPECT_ERRNO(getsockname(s, (struct sockaddr *)&out, guest_bad_ptr(16)), EFAULT, "getsockname with a bad length pointer");
    EXPECT_ERRNO(accept4(s, NULL, NULL, 0x12345), EINVAL, "accept4 with bad flags");
    struct msghdr m = {.msg_iov = guest_bad_ptr(16), .msg_iovlen = 1};
    EXPECT_ERRNO(sendmsg(s, &m, 0), EFAULT, "sendmsg with a bad iovec pointer");
    struct iovec iov = {"x", 1};
    struct msghdr m2 = {.msg_iov = &iov, .msg_iovlen = 5000};
    EXPECT_ERRNO(sendmsg(s, &m2, 0), EMSGSIZE, "sendmsg with 5000 iovecs");
    int fd = open("/dev/null", O_RDONLY);
    EXPECT_ERRNO(listen(fd, 1), ENOTSOCK, "listen on a file");
    close(fd);
    close(s);
    close(peer);
}

int main(int argc, char **argv) {
    pairs();
    unix_paths(argc > 1 ? argv[1] : "/tmp");
    tcp_udp();
    hostile();
    return guest_done();
}
