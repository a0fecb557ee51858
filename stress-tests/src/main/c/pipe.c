/* pipe: a pipe within one process, with poll and select. */
#include "guest.h"
#include <sys/uio.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/select.h>
#include <unistd.h>

int main(void) {
    int p[2];
    char buf[256];
    CHECK(pipe(p) == 0, "pipe");
    struct pollfd pf = {p[0], POLLIN, 0};
    CHECK(poll(&pf, 1, 0) == 0, "poll on an empty pipe: nothing ready");
    CHECK(write(p[1], "hello pipe", 10) == 10, "write 10 bytes");
    CHECK(poll(&pf, 1, 1000) == 1 && (pf.revents & POLLIN), "poll: POLLIN");
    struct pollfd wf = {p[1], POLLOUT, 0};
    CHECK(poll(&wf, 1, 0) == 1 && (wf.revents & POLLOUT), "poll: write end POLLOUT");
    fd_set rs;
    FD_ZERO(&rs);
    FD_SET(p[0], &rs);
    struct timeval tv = {1, 0};
    CHECK(select(p[0] + 1, &rs, NULL, NULL, &tv) == 1 && FD_ISSET(p[0], &rs), "select: readable");
    memset(buf, 0, sizeof buf);
    CHECK(read(p[0], buf, 4) == 4 && memcmp(buf, "hell", 4) == 0, "read 4");
    CHECK(read(p[0], buf, sizeof buf) == 6 && memcmp(buf, "o pipe", 6) == 0, "read the rest");
    FD_ZERO(&rs);
    FD_SET(p[0], &rs);
    tv.tv_sec = 0; tv.tv_usec = 20000;
    CHECK(select(p[0] + 1, &rs, NULL, NULL, &tv) == 0, "select times out on an empty pipe");
    CHECK(poll(&pf, 1, 20) == 0, "poll times out after 20 ms");

    CHECK(fcntl(p[0], F_SETFL, O_NONBLOCK) == 0, "set O_NONBLOCK");
    errno = 0;
    CHECK(read(p[0], buf, 1) == -1 && errno == EAGAIN, "non-blocking read of an empty pipe: EAGAIN");

    /* 64 KiB through the pipe in chunks, checksummed. */
    static char big[65536];
    for (int i = 0; i < (int)sizeof big; i++) big[i] = (char)(i * 7);
    CHECK(fcntl(p[1], F_SETFL, O_NONBLOCK) == 0, "write end O_NONBLOCK");
    size_t off = 0, got = 0;
    unsigned sum_in = 0, sum_out = 0;
    while (got < sizeof big) {
        if (off < sizeof big) {
            ssize_t w = write(p[1], big + off, sizeof big - off > 3000 ? 3000 : sizeof big - off);
            if (w > 0) { for (ssize_t k = 0; k < w; k++) sum_in += (unsigned char)big[off + k]; off += w; }
        }
        ssize_t r = read(p[0], buf, sizeof buf);
        if (r > 0) { for (ssize_t k = 0; k < r; k++) sum_out += (unsigned char)buf[k]; got += r; }
    }
    CHECK(sum_in == sum_out, "64 KiB checksum matches");

    int q[2];
    CHECK(pipe2(q, O_CLOEXEC) == 0 && fcntl(q[0], F_GETFD) == FD_CLOEXEC, "pipe2 O_CLOEXEC");
    CHECK(write(q[1], "x", 1) == 1, "write 1");
    CHECK(close(q[1]) == 0, "close write end");
    CHECK(read(q[0], buf, sizeof buf) == 1, "read the byte");
    pf.fd = q[0]; pf.events = POLLIN; pf.revents = 0;
    CHECK(poll(&pf, 1, 1000) == 1 && (pf.revents & POLLHUP), "poll: POLLHUP after the writer closed");
    CHECK(read(q[0], buf, sizeof buf) == 0, "read at EOF returns 0");
    close(q[0]);
    CHECK(dup2(p[0], 0) == 0, "dup2 the pipe onto stdin");
    CHECK(write(p[1], "via stdin\n", 10) == 10, "write to the pipe");
    CHECK(fgets(buf, sizeof buf, stdin) && strcmp(buf, "via stdin\n") == 0, "stdio reads it from stdin");

    /* vmsplice: guest pages into a pipe, and out of one into guest memory */
    {
        int v[2];
        CHECK(pipe(v) == 0, "pipe for vmsplice");
        static char page_buf[8192] __attribute__((aligned(4096)));
        strcpy(page_buf, "spliced from guest memory");
        struct iovec iov[2] = {{page_buf, 10}, {page_buf + 10, 16}};
        CHECK(vmsplice(v[1], iov, 2, 0) == 26, "vmsplice 26 bytes into the pipe");
        char back[64] = {0};
        struct iovec out = {back, sizeof back};
        CHECK(vmsplice(v[0], &out, 1, 0) == 26 && strcmp(back, "spliced from guest memory") == 0,
              "vmsplice from the read end copies them out");
        EXPECT_ERRNO(vmsplice(v[1], guest_bad_ptr(8), 1, 0), EFAULT, "vmsplice(bad iovec)");
        struct iovec bad = {guest_bad_ptr(8), 4};
        EXPECT_ERRNO(vmsplice(v[1], &bad, 1, 0), EFAULT, "vmsplice(iovec with a bad buffer)");
        EXPECT_ERRNO(vmsplice(v[1], iov, 1, 0x100), EINVAL, "vmsplice(unknown flag)");
        EXPECT_ERRNO(vmsplice(99, iov, 1, 0), EBADF, "vmsplice(bad fd)");
        EXPECT_ERRNO(vmsplice(99, iov, 1, 0x100), EINVAL, "vmsplice(bad fd, unknown flag): flags first");
        close(v[0]);
        close(v[1]);
    }
    return guest_done();
}
