/* malloc: allocator stress. Many sizes from 1 byte to 4 MiB (above glibc's 128 KiB mmap
 * threshold, so mmap/munmap), realloc growth and shrink across that threshold (mremap), calloc,
 * aligned allocations and raw brk/sbrk. Contents are checked with checksums. */
#include "guest.h"
#include <malloc.h>
#include <stdint.h>
#include <unistd.h>

static uint64_t fill(unsigned char *p, size_t n, uint64_t seed) {
    uint64_t x = seed | 1, sum = 0;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        p[i] = (unsigned char)x;
        sum = sum * 31 + p[i];
    }
    return sum;
}

static uint64_t sum(const unsigned char *p, size_t n) {
    uint64_t s = 0;
    for (size_t i = 0; i < n; i++) s = s * 31 + p[i];
    return s;
}

#define SLOTS 257

int main(void) {
    static unsigned char *ptr[SLOTS];
    static size_t len[SLOTS];
    static uint64_t chk[SLOTS];
    uint64_t x = 88172645463325252ULL;
    int bad = 0;
    size_t big = 0;

    /* Random alloc/free churn; every 16th size is large (up to 4 MiB). */
    for (int round = 0; round < 4000; round++) {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        int s = (int)(x % SLOTS);
        if (ptr[s]) {
            if (sum(ptr[s], len[s]) != chk[s]) bad++;
            free(ptr[s]);
            ptr[s] = NULL;
        } else {
            size_t n = (round % 16 == 0) ? (size_t)(x >> 40) % (4u << 20) + (128u << 10) : (size_t)(x >> 33) % 4096 + 1;
            if (n > (128u << 10)) big++;
            ptr[s] = malloc(n);
            len[s] = n;
            /* only fill a prefix of large blocks to keep the store count modest */
            size_t m = n > 65536 ? 65536 : n;
            len[s] = m;
            chk[s] = fill(ptr[s], m, x);
        }
    }
    for (int s = 0; s < SLOTS; s++) {
        if (ptr[s] && sum(ptr[s], len[s]) != chk[s]) bad++;
        free(ptr[s]);
    }
    CHECK(bad == 0, "churn: all %d-slot contents intact", SLOTS);
    CHECK(big > 50, "churn used blocks above the mmap threshold");

    /* realloc growth 1 KiB -> 8 MiB and back, content preserved (crosses into mremap). */
    size_t n = 1024;
    unsigned char *p = malloc(n);
    uint64_t c = fill(p, n, 42);
    int grew_ok = 1;
    while (n < (8u << 20)) {
        p = realloc(p, n * 2);
        if (!p || sum(p, 1024) != c) grew_ok = 0;
        p[n * 2 - 1] = 0x5a;               /* touch the new end */
        n *= 2;
    }
    CHECK(grew_ok, "realloc growth to 8 MiB keeps the first KiB");
    CHECK(p[n - 1] == 0x5a, "last byte of the 8 MiB block written");
    p = realloc(p, 2048);
    CHECK(p && sum(p, 1024) == c, "realloc shrink keeps contents");
    free(p);

    /* calloc returns zeroed memory, also for recycled and mmapped chunks. */
    for (int i = 0; i < 8; i++) {
        unsigned char *q = malloc(1000 + i * 300000);
        memset(q, 0xff, 1000 + i * 300000);
        free(q);
        q = calloc(1, 1000 + i * 300000);
        int zero = 1;
        for (size_t k = 0; k < (size_t)(1000 + i * 300000); k += 97) zero &= q[k] == 0;
        CHECK(zero, "calloc(%d) is zeroed", 1000 + i * 300000);
        free(q);
    }

    /* Aligned allocations. */
    for (size_t a = 16; a <= 65536; a *= 4) {
        void *q = NULL;
        CHECK(posix_memalign(&q, a, 3000) == 0 && ((uintptr_t)q % a) == 0, "posix_memalign(%zu)", a);
        free(q);
        q = aligned_alloc(a, a * 2);
        CHECK(q && ((uintptr_t)q % a) == 0, "aligned_alloc(%zu)", a);
        free(q);
    }

    /* Raw brk via sbrk. */
    char *b0 = sbrk(0);
    CHECK(b0 != (void *)-1, "sbrk(0)");
    char *b1 = sbrk(1 << 20);
    CHECK(b1 == b0, "sbrk(+1 MiB) returns the old break");
    memset(b1, 7, 1 << 20);
    CHECK(b1[0] == 7 && b1[(1 << 20) - 1] == 7, "new brk memory is writable");
    CHECK(sbrk(0) == b0 + (1 << 20), "break moved by 1 MiB");
    CHECK(sbrk(-(1 << 20)) == b0 + (1 << 20) && sbrk(0) == b0, "sbrk(-1 MiB) restores");
    char *b2 = sbrk(4096);
    CHECK(b2 == b0 && b2[0] == 0, "re-grown brk page is zero");
    sbrk(-4096);

    /* Many small allocations (fastbins/tcache), then freed in reverse. */
    static void *small[20000];
    for (int i = 0; i < 20000; i++) { small[i] = malloc(16 + i % 200); memset(small[i], i, 16); }
    int ok = 1;
    for (int i = 19999; i >= 0; i--) { ok &= ((unsigned char *)small[i])[15] == (unsigned char)i; free(small[i]); }
    CHECK(ok, "20000 small blocks intact");
    struct mallinfo2 mi = mallinfo2();
    CHECK(mi.uordblks < (1u << 20), "in-use bytes back under 1 MiB");
    return guest_done();
}
