/* The seed design's transport, for comparison with the kernel proxy's shared-memory cells: a
 * server process that reads requests from a Unix socketpair (fd 3), runs them and writes the
 * replies back. Pointer arguments cannot be shared this way, so data travels in the messages:
 *   request  {int64 op, nr, a0..a5}  (64 bytes) [+ 64 payload bytes for OP_SEND]
 *   reply    {int64 result}          [+ 64 payload bytes for OP_RECV]
 * OP_SYSCALL runs syscall(nr, a0..a5) with numbers only; OP_SEND sends the payload on fd a0;
 * OP_RECV receives up to 64 bytes from fd a0; OP_SOCKETPAIR makes an AF_UNIX stream pair and
 * returns both fds packed (low 32 bits: first). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

enum { OP_SYSCALL = 1, OP_SEND = 2, OP_RECV = 3, OP_SOCKETPAIR = 4 };

static int full(int fd, void *p, size_t n, int writing) {
    size_t done = 0;
    while (done < n) {
        ssize_t r = writing ? write(fd, (char *)p + done, n - done) : read(fd, (char *)p + done, n - done);
        if (r <= 0) return -1;
        done += r;
    }
    return 0;
}

int main(void) {
    int64_t req[8];
    char payload[64];
    for (;;) {
        if (full(3, req, sizeof req, 0) != 0) return 0;
        int64_t reply[9];
        size_t replyLen = 8;
        long r;
        switch (req[0]) {
        case OP_SYSCALL:
            r = syscall(req[1], req[2], req[3], req[4], req[5], req[6], req[7]);
            break;
        case OP_SEND:
            if (full(3, payload, sizeof payload, 0) != 0) return 0;
            r = send((int)req[2], payload, sizeof payload, 0);
            break;
        case OP_RECV:
            r = recv((int)req[2], (char *)&reply[1], 64, 0);
            replyLen += 64;
            break;
        case OP_SOCKETPAIR: {
            int sv[2];
            r = socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
            if (r == 0) r = (long)(uint32_t)sv[0] | ((long)sv[1] << 32);
            break;
        }
        default:
            r = -1;
            errno = EINVAL;
        }
        reply[0] = r < 0 ? -errno : r;
        if (full(3, reply, replyLen, 1) != 0) return 0;
    }
}
