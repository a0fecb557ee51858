/* sig_fpu: handlers that use SSE and x87 (and change the rounding modes and precision control)
 * interrupt a loop that accumulates in SSE registers, packed SSE and x87 with a non-default
 * rounding mode: the interrupted computation is never corrupted (every chunk equals the value
 * computed with signals blocked), and each handler starts with the kernel's fresh FPU state
 * (MXCSR 0x1f80: round to nearest; x87 control word 0x37f). argv[1]: "thread" (another thread
 * sends SIGUSR1 with pthread_kill, waiting for each to be handled) or "timer" (setitimer, 1 ms
 * SIGALRMs); argv[2]: number of signals (default 300). */
#include "guest.h"
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <xmmintrin.h>
#include <emmintrin.h>

/* SSE rounding control in MXCSR (libm's fesetround is not linked into the guests) */
#define RC_UP 0x4000u
#define RC_ZERO 0x6000u
static void set_sse_rounding(unsigned rc) { _mm_setcsr((_mm_getcsr() & ~0x6000u) | rc); }
static unsigned sse_rounding(void) { return _mm_getcsr() & 0x6000u; }

static volatile int handled, bad_mxcsr, bad_fcw;
static volatile double handler_sink;

static void handler(int sig) {
    unsigned mx = _mm_getcsr();
    unsigned short cw;
    __asm__ volatile("fnstcw %0" : "=m"(cw));
    if ((mx & ~0x3fu) != 0x1f80) bad_mxcsr++;
    if (cw != 0x37f) bad_fcw++;
    /* SSE work in another rounding mode */
    set_sse_rounding(RC_UP);
    volatile double x = 1.0;
    for (int i = 1; i < 50; i++) x = x / 3.0 + (double)i * 1.1;
    handler_sink = x;
    /* trash every xmm register and the x87 stack, change x87 precision; never restored here */
    __asm__ volatile(
        "pcmpeqd %%xmm0, %%xmm0\n pcmpeqd %%xmm1, %%xmm1\n pcmpeqd %%xmm2, %%xmm2\n pcmpeqd %%xmm3, %%xmm3\n"
        "pcmpeqd %%xmm4, %%xmm4\n pcmpeqd %%xmm5, %%xmm5\n pcmpeqd %%xmm6, %%xmm6\n pcmpeqd %%xmm7, %%xmm7\n"
        "pcmpeqd %%xmm8, %%xmm8\n pcmpeqd %%xmm9, %%xmm9\n pcmpeqd %%xmm10, %%xmm10\n pcmpeqd %%xmm11, %%xmm11\n"
        "pcmpeqd %%xmm12, %%xmm12\n pcmpeqd %%xmm13, %%xmm13\n pcmpeqd %%xmm14, %%xmm14\n pcmpeqd %%xmm15, %%xmm15\n"
        ::: "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10",
            "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
    unsigned short lowprec = 0x07f; /* single precision, round to nearest */
    __asm__ volatile("fldcw %0" : : "m"(lowprec));
    volatile long double y = 1.0L;
    for (int i = 1; i < 20; i++) y = y / 7.0L + i;
    handler_sink += (double)y;
    handled++;
}

struct result { double s; double p0, p1; long double l; };

__attribute__((noinline)) static struct result chunk(int n) {
    double s = 0.0;
    __m128d acc = _mm_setzero_pd();
    const __m128d third = _mm_set_pd(1.0 / 3.0, 1.0 / 7.0);
    long double l = 0.0L;
    for (int i = 1; i <= n; i++) {
        double d = (double)i;
        s += d / 3.0;
        s *= 1.0000001;
        acc = _mm_add_pd(_mm_mul_pd(_mm_set1_pd(d), third), acc);
        l += (long double)d / 11.0L;
    }
    struct result r;
    r.s = s;
    r.p0 = _mm_cvtsd_f64(acc);
    r.p1 = _mm_cvtsd_f64(_mm_unpackhi_pd(acc, acc));
    r.l = l;
    return r;
}

static pthread_t main_thread;
static volatile int total, done;

static void *sender(void *arg) {
    for (int i = 0; i < total; i++) {
        int before = handled;
        pthread_kill(main_thread, SIGUSR1);
        while (handled == before) sched_yield();
    }
    done = 1;
    return NULL;
}

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "thread";
    total = argc > 2 ? atoi(argv[2]) : 300;
    int timer = strcmp(mode, "timer") == 0;
    main_thread = pthread_self();
    signal(timer ? SIGALRM : SIGUSR1, handler);

    set_sse_rounding(RC_ZERO);
    unsigned short ext = 0x37f | 0xc00; /* x87: round toward zero too */
    __asm__ volatile("fldcw %0" : : "m"(ext));
    const int N = 20000;
    struct result want = chunk(N);

    pthread_t t;
    if (timer) {
        struct itimerval it = {{0, 1000}, {0, 1000}};
        setitimer(ITIMER_REAL, &it, NULL);
    } else {
        pthread_create(&t, NULL, sender, NULL);
    }
    int chunks = 0, bad = 0;
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (timer ? handled < total : !done) {
        struct result r = chunk(N);
        chunks++;
        if (memcmp(&r.s, &want.s, sizeof r.s) || memcmp(&r.p0, &want.p0, sizeof r.p0)
            || memcmp(&r.p1, &want.p1, sizeof r.p1) || r.l != want.l) bad++;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec - t0.tv_sec > 60) break;
    }
    if (timer) {
        struct itimerval off = {{0, 0}, {0, 0}};
        setitimer(ITIMER_REAL, &off, NULL);
    } else {
        pthread_join(t, NULL);
    }
    CHECK(handled >= total, "at least %d signals handled during the computation", total);
    CHECK(bad == 0, "every interrupted chunk equals the undisturbed result");
    CHECK(bad_mxcsr == 0, "handlers start with MXCSR 0x1f80 (round to nearest)");
    CHECK(bad_fcw == 0, "handlers start with x87 control word 0x37f");
    CHECK(sse_rounding() == RC_ZERO, "the main thread's SSE rounding mode survived");
    unsigned short cw;
    __asm__ volatile("fnstcw %0" : "=m"(cw));
    CHECK(cw == (0x37f | 0xc00), "the main thread's x87 control word survived");
    return guest_done();
}
