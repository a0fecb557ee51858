/* thr_atomic: 4 threads hammer shared atomics of every width, exact totals: fetch_add on 8/16/32/
 * 64-bit (with wrap-around), add/sub with unused results (lock add/sub), compare-exchange loops
 * (64 and 16 bit), fetch_or/fetch_and/fetch_xor on bit masks, exchange chains, __sync builtins,
 * and a misaligned-within-cacheline 64-bit counter in a packed struct. */
#include "guest.h"
#include <pthread.h>
#include <stdint.h>

#define NT 4

static long iters;
static uint8_t c8;
static uint16_t c16;
static uint32_t c32;
static uint64_t c64, sub64 = UINT64_MAX, cas64, sync64;
static uint16_t cas16;
static uint64_t bits_or, bits_and = UINT64_MAX, bits_xor;
static uint64_t xchg_sum;
static uint64_t token = 1;
static struct __attribute__((packed)) { char pad[3]; uint32_t v; } odd;
static uint64_t maxv;

static void *work(void *arg) {
    unsigned id = (unsigned)(uintptr_t)arg;
    for (long i = 0; i < iters; i++) {
        __atomic_fetch_add(&c8, 1, __ATOMIC_RELAXED);
        __atomic_fetch_add(&c16, 3, __ATOMIC_RELAXED);
        __atomic_fetch_add(&c32, 5, __ATOMIC_SEQ_CST);
        if (__atomic_fetch_add(&c64, 7, __ATOMIC_SEQ_CST) % 7 != 0) __atomic_store_n(&maxv, UINT64_MAX, __ATOMIC_SEQ_CST);
        __atomic_sub_fetch(&sub64, 2, __ATOMIC_SEQ_CST);

        uint64_t old = __atomic_load_n(&cas64, __ATOMIC_RELAXED);
        while (!__atomic_compare_exchange_n(&cas64, &old, old * 3 % 1000003 + 1, 1, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED)) {}
        uint16_t o16 = __atomic_load_n(&cas16, __ATOMIC_RELAXED);
        while (!__atomic_compare_exchange_n(&cas16, &o16, (uint16_t)(o16 + 11), 0, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED)) {}

        __sync_fetch_and_add(&sync64, 13);
        __atomic_fetch_add(&odd.v, 1, __ATOMIC_SEQ_CST);

        /* Each thread owns 16 bits: set, clear and toggle only its own bits. */
        uint64_t mine = (uint64_t)1 << (id * 16 + (i & 15));
        __atomic_fetch_or(&bits_or, mine, __ATOMIC_SEQ_CST);
        __atomic_fetch_and(&bits_and, ~mine, __ATOMIC_SEQ_CST);
        __atomic_fetch_xor(&bits_xor, mine, __ATOMIC_SEQ_CST);

        /* Exchange chain: the token value moves from hand to hand; each taker adds what it got. */
        uint64_t got = __atomic_exchange_n(&token, 0, __ATOMIC_SEQ_CST);
        if (got) {
            __atomic_fetch_add(&xchg_sum, got, __ATOMIC_SEQ_CST);
            __atomic_store_n(&token, got, __ATOMIC_SEQ_CST);
        }
    }
    return NULL;
}

int main(int argc, char **argv) {
    iters = argc > 1 ? atol(argv[1]) : 50000;
    pthread_t th[NT];
    for (int i = 0; i < NT; i++) pthread_create(&th[i], NULL, work, (void *)(uintptr_t)i);
    for (int i = 0; i < NT; i++) pthread_join(th[i], NULL);
    uint64_t n = (uint64_t)NT * iters;
    CHECK(c8 == (uint8_t)n, "8-bit fetch_add total (mod 256)");
    CHECK(c16 == (uint16_t)(3 * n), "16-bit fetch_add total (mod 65536)");
    CHECK(c32 == (uint32_t)(5 * n), "32-bit fetch_add total");
    CHECK(c64 == 7 * n && maxv == 0, "64-bit fetch_add total, every old value a multiple");
    CHECK(sub64 == UINT64_MAX - 2 * n, "64-bit sub_fetch total");
    uint64_t want = 0;
    for (uint64_t k = 0; k < n; k++) want = want * 3 % 1000003 + 1;
    CHECK(cas64 == want, "64-bit compare-exchange loop (non-commutative update) exact");
    CHECK(cas16 == (uint16_t)(11 * n), "16-bit compare-exchange loop total");
    CHECK(sync64 == 13 * n, "__sync_fetch_and_add total");
    CHECK(odd.v == (uint32_t)n, "misaligned 32-bit fetch_add total");
    uint64_t all = 0;
    for (unsigned id = 0; id < NT; id++) all |= (iters >= 16 ? 0xffffULL : ((1ULL << iters) - 1)) << (id * 16);
    CHECK(bits_or == all, "fetch_or set every thread's bits");
    CHECK(bits_and == ~all, "fetch_and cleared every thread's bits");
    uint64_t x = 0;
    for (unsigned id = 0; id < NT; id++)
        for (long i = 0; i < iters; i++) x ^= (uint64_t)1 << (id * 16 + (i & 15));
    CHECK(bits_xor == x, "fetch_xor toggles exact");
    CHECK(token == 1 && xchg_sum >= 1 && xchg_sum <= n, "exchange chain kept the token");
    return guest_done();
}
