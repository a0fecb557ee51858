/* aio: Linux native AIO (io_setup, io_submit, io_getevents, io_pgetevents, io_cancel, io_destroy)
 * through raw syscalls, compared with native (issue 8): reads, writes, vectored and fsync
 * requests, completion through an eventfd, a bad buffer reported in the event, and the errors in
 * Linux's order. */
#include "guest.h"
#include <fcntl.h>
#include <linux/aio_abi.h>
#include <signal.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define R(what, expr) do { errno = 0; long r_ = (long)(expr); int e_ = errno; \
        printf("%-52s ret=%ld errno=%s\n", what, r_ < 0 ? -1L : r_, r_ < 0 ? strerrorname_np(e_) : "0"); } while (0)

static long io_setup(unsigned n, aio_context_t *c) { return syscall(SYS_io_setup, n, c); }
static long io_destroy(aio_context_t c) { return syscall(SYS_io_destroy, c); }
static long io_submit(aio_context_t c, long n, struct iocb **v) { return syscall(SYS_io_submit, c, n, v); }
static long io_getevents(aio_context_t c, long min, long n, struct io_event *e, struct timespec *t) {
    return syscall(SYS_io_getevents, c, min, n, e, t);
}
static long io_cancel(aio_context_t c, struct iocb *i, struct io_event *e) { return syscall(SYS_io_cancel, c, i, e); }

static struct iocb make(int op, int fd, void *buf, long n, long off, uint64_t data) {
    struct iocb cb;
    memset(&cb, 0, sizeof cb);
    cb.aio_lio_opcode = op;
    cb.aio_fildes = fd;
    cb.aio_buf = (uint64_t)(uintptr_t)buf;
    cb.aio_nbytes = n;
    cb.aio_offset = off;
    cb.aio_data = data;
    return cb;
}

/* submits one request and reaps its event; prints what came back */
static long run_one(aio_context_t ctx, struct iocb *cb, const char *what) {
    struct iocb *v[1] = {cb};
    long s = io_submit(ctx, 1, v);
    if (s != 1) {
        printf("%s: io_submit ret=%ld errno=%s\n", what, s, strerrorname_np(errno));
        return s;
    }
    struct io_event ev;
    long g = io_getevents(ctx, 1, 1, &ev, NULL);
    CHECK(g == 1 && ev.obj == (uint64_t)(uintptr_t)cb && ev.data == cb->aio_data, "%s: one event, obj and data are ours", what);
    printf("%s: res=%lld\n", what, (long long)ev.res);
    return ev.res;
}

int main(void) {
    aio_context_t ctx = 0;
    R("io_setup(0, &ctx)", io_setup(0, &ctx));
    R("io_setup(8, bad)", io_setup(8, guest_bad_ptr(8)));
    aio_context_t nonzero = 5;
    R("io_setup(8, &nonzero)", io_setup(8, &nonzero));
    R("io_setup(8, &ctx)", io_setup(8, &ctx));
    CHECK(ctx != 0, "a context id");
    FILE *maps = fopen("/proc/self/maps", "r");
    char line[512];
    int aio_maps = 0;
    while (maps && fgets(line, sizeof line, maps)) if (strstr(line, "[aio]")) aio_maps++;
    if (maps) fclose(maps);
    CHECK(aio_maps == 1, "/proc/self/maps shows the context's [aio] mapping");

    char name[] = "/tmp/herd-aio-XXXXXX";
    int fd = mkstemp(name);
    CHECK(fd >= 0, "scratch file");
    static char wbuf[] = "hello from native aio";
    struct iocb w = make(IOCB_CMD_PWRITE, fd, wbuf, 21, 0, 0x1111);
    run_one(ctx, &w, "pwrite 21 bytes");
    char rbuf[64] = {0};
    struct iocb r = make(IOCB_CMD_PREAD, fd, rbuf, sizeof rbuf, 0, 0x2222);
    run_one(ctx, &r, "pread");
    CHECK(strcmp(rbuf, "hello from native aio") == 0, "the bytes read are the bytes written");
    char a[6] = {0}, b[20] = {0};
    struct iovec iov[2] = {{a, 5}, {b, 16}};
    struct iocb rv = make(IOCB_CMD_PREADV, fd, iov, 2, 6, 0x3333);
    run_one(ctx, &rv, "preadv into two buffers");
    CHECK(strcmp(a, "from ") == 0 && strcmp(b, "native aio") == 0, "preadv filled both buffers");
    struct iocb fs = make(IOCB_CMD_FSYNC, fd, NULL, 0, 0, 0x4444);
    run_one(ctx, &fs, "fsync");
    struct iocb bad = make(IOCB_CMD_PREAD, fd, guest_bad_ptr(4096), 8, 0, 0x5555);
    run_one(ctx, &bad, "pread into an unmapped buffer");

    /* completion signalled through an eventfd */
    int efd = eventfd(0, 0);
    struct iocb we = make(IOCB_CMD_PWRITE, fd, wbuf, 5, 100, 0x6666);
    we.aio_flags = IOCB_FLAG_RESFD;
    we.aio_resfd = efd;
    run_one(ctx, &we, "pwrite with IOCB_FLAG_RESFD");
    uint64_t count = 0;
    CHECK(read(efd, &count, 8) == 8 && count == 1, "the eventfd counted the completion");

    /* io_submit's errors */
    struct iocb *v[2] = {&w, &r};
    R("io_submit(nr 0)", io_submit(ctx, 0, v));
    R("io_submit(nr -1)", io_submit(ctx, -1, v));
    R("io_submit(bad ctx)", io_submit(ctx + 4096 * 7, 1, v));
    R("io_submit(bad array)", io_submit(ctx, 1, guest_bad_ptr(8)));
    struct iocb *badv[1] = {guest_bad_ptr(8)};
    R("io_submit(bad iocb)", io_submit(ctx, 1, badv));
    struct iocb res2 = make(IOCB_CMD_PREAD, fd, rbuf, 8, 0, 1);
    res2.aio_reserved2 = 1;
    struct iocb *rv2[1] = {&res2};
    R("io_submit(aio_reserved2 set)", io_submit(ctx, 1, rv2));
    struct iocb badfd = make(IOCB_CMD_PREAD, 999, rbuf, 8, 0, 1);
    struct iocb *bf[1] = {&badfd};
    R("io_submit(bad fd)", io_submit(ctx, 1, bf));
    struct iocb badop = make(99, fd, rbuf, 8, 0, 1);
    struct iocb *bo[1] = {&badop};
    R("io_submit(unknown opcode)", io_submit(ctx, 1, bo));
    struct iocb ok2 = make(IOCB_CMD_PREAD, fd, rbuf, 8, 0, 7);
    struct iocb *mixed[2] = {&ok2, &badfd};
    R("io_submit(good then bad fd): one submitted", io_submit(ctx, 2, mixed));
    struct io_event evs[4];
    R("io_getevents reaps it", io_getevents(ctx, 1, 4, evs, NULL));

    /* io_getevents' and io_cancel's errors */
    struct timespec zero = {0, 0};
    R("io_getevents(nothing pending, timeout 0)", io_getevents(ctx, 0, 4, evs, &zero));
    R("io_getevents(min > nr)", io_getevents(ctx, 2, 1, evs, &zero));
    R("io_getevents(bad ctx)", io_getevents(ctx + 4096 * 7, 0, 1, evs, &zero));
    R("io_getevents(bad timeout)", io_getevents(ctx, 0, 1, evs, guest_bad_ptr(8)));
    struct timespec short_wait = {0, 20 * 1000 * 1000};
    R("io_getevents(min 1, nothing pending, 20 ms)", io_getevents(ctx, 1, 1, evs, &short_wait));
    struct { void *sigmask; size_t size; } usig = {NULL, 0};
    R("io_pgetevents(no mask)", syscall(SYS_io_pgetevents, ctx, 0, 1, evs, &zero, &usig));
    sigset_t mask;
    sigemptyset(&mask);
    usig.sigmask = &mask;
    usig.size = 7;
    R("io_pgetevents(mask size 7)", syscall(SYS_io_pgetevents, ctx, 0, 1, evs, &zero, &usig));
    usig.size = 8;
    R("io_pgetevents(empty mask)", syscall(SYS_io_pgetevents, ctx, 0, 1, evs, &zero, &usig));
    R("io_cancel(completed request)", io_cancel(ctx, &w, evs));
    w.aio_key = 5;
    R("io_cancel(bad aio_key)", io_cancel(ctx, &w, evs));
    R("io_cancel(bad iocb)", io_cancel(ctx, guest_bad_ptr(8), evs));

    R("io_destroy", io_destroy(ctx));
    R("io_destroy again", io_destroy(ctx));
    R("io_submit after io_destroy", io_submit(ctx, 1, v));
    close(fd);
    unlink(name);
    return guest_done();
}
