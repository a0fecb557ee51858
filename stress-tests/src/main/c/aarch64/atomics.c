/* atomics (aarch64): every family of arm64 atomic instruction, from 4 threads on shared words,
 * must come out exact -- exclusive pairs (LDXR/STXR in byte, half, word and doubleword sizes, the
 * acquire/release forms, LDXP/STXP on a 16-byte pair) and the LSE instructions (CAS, CASP, LDADD,
 * LDCLR, LDEOR, LDSET, SWP). Written in inline assembly so the instruction is the one named,
 * whatever the compiler would pick. Under herd's parallel mode each thread is a separate engine:
 * only real atomics make the totals exact (DESIGN facts 2 and 13). */
#include "guest.h"
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#define THREADS 4
#define ITERS 20000

static volatile uint8_t  b8;
static volatile uint16_t h16;
static volatile uint32_t w32, w32_acq, cas32, add32, swp_owner, set32, clr32, eor32;
static volatile uint64_t x64, cas64, add64;
static volatile unsigned __int128 pair __attribute__((aligned(16)));
static volatile unsigned __int128 casp_pair __attribute__((aligned(16)));
static volatile int start;

static void ldxr_add8(volatile uint8_t *p) {
    uint32_t v, fail;
    __asm__ volatile("1: ldxrb %w0, [%2]\n add %w0, %w0, #1\n stxrb %w1, %w0, [%2]\n cbnz %w1, 1b"
                     : "=&r"(v), "=&r"(fail) : "r"(p) : "memory");
}
static void ldxr_add16(volatile uint16_t *p) {
    uint32_t v, fail;
    __asm__ volatile("1: ldxrh %w0, [%2]\n add %w0, %w0, #1\n stxrh %w1, %w0, [%2]\n cbnz %w1, 1b"
                     : "=&r"(v), "=&r"(fail) : "r"(p) : "memory");
}
static void ldxr_add32(volatile uint32_t *p) {
    uint32_t v, fail;
    __asm__ volatile("1: ldxr %w0, [%2]\n add %w0, %w0, #1\n stxr %w1, %w0, [%2]\n cbnz %w1, 1b"
                     : "=&r"(v), "=&r"(fail) : "r"(p) : "memory");
}
static void ldaxr_add32(volatile uint32_t *p) {
    uint32_t v, fail;
    __asm__ volatile("1: ldaxr %w0, [%2]\n add %w0, %w0, #1\n stlxr %w1, %w0, [%2]\n cbnz %w1, 1b"
                     : "=&r"(v), "=&r"(fail) : "r"(p) : "memory");
}
static void ldxr_add64(volatile uint64_t *p) {
    uint64_t v;
    uint32_t fail;
    __asm__ volatile("1: ldxr %0, [%2]\n add %0, %0, #1\n stxr %w1, %0, [%2]\n cbnz %w1, 1b"
                     : "=&r"(v), "=&r"(fail) : "r"(p) : "memory");
}
/* both halves +1 in one exclusive pair: they must stay equal and reach the total */
static void ldxp_add(volatile unsigned __int128 *p) {
    uint64_t lo, hi;
    uint32_t fail;
    __asm__ volatile("1: ldaxp %0, %1, [%3]\n add %0, %0, #1\n add %1, %1, #1\n stlxp %w2, %0, %1, [%3]\n cbnz %w2, 1b"
                     : "=&r"(lo), "=&r"(hi), "=&r"(fail) : "r"(p) : "memory");
}
static void cas_add32(volatile uint32_t *p) {
    uint32_t old = *p, seen;
    for (;;) {
        uint32_t want = old + 1;
        seen = old;
        __asm__ volatile(".arch_extension lse\n casal %w0, %w2, [%1]" : "+r"(seen) : "r"(p), "r"(want) : "memory");
        if (seen == old) return;
        old = seen;
    }
}
static void cas_add64(volatile uint64_t *p) {
    uint64_t old = *p, seen;
    for (;;) {
        uint64_t want = old + 1;
        seen = old;
        __asm__ volatile(".arch_extension lse\n casal %0, %2, [%1]" : "+r"(seen) : "r"(p), "r"(want) : "memory");
        if (seen == old) return;
        old = seen;
    }
}
/* CASP on a 16-byte pair: both halves +1 */
static void casp_add(volatile unsigned __int128 *p) {
    for (;;) {
        register uint64_t o0 __asm__("x4"), o1 __asm__("x5"), n0 __asm__("x6"), n1 __asm__("x7");
        uint64_t lo = (uint64_t)*p, hi = (uint64_t)(*p >> 64);
        o0 = lo; o1 = hi; n0 = lo + 1; n1 = hi + 1;
        __asm__ volatile(".arch_extension lse\n caspal %0, %1, %2, %3, [%4]"
                         : "+r"(o0), "+r"(o1) : "r"(n0), "r"(n1), "r"(p) : "memory");
        if (o0 == lo && o1 == hi) return;
    }
}
static void ldadd32(volatile uint32_t *p) {
    uint32_t old;
    __asm__ volatile(".arch_extension lse\n ldaddal %w1, %w0, [%2]" : "=&r"(old) : "r"(1u), "r"(p) : "memory");
}
static void ldadd64(volatile uint64_t *p) {
    uint64_t old;
    __asm__ volatile(".arch_extension lse\n ldaddal %1, %0, [%2]" : "=&r"(old) : "r"((uint64_t)1), "r"(p) : "memory");
}
static uint32_t ldset32(volatile uint32_t *p, uint32_t bits) {
    uint32_t old;
    __asm__ volatile(".arch_extension lse\n ldsetal %w1, %w0, [%2]" : "=&r"(old) : "r"(bits), "r"(p) : "memory");
    return old;
}
static uint32_t ldclr32(volatile uint32_t *p, uint32_t bits) {
    uint32_t old;
    __asm__ volatile(".arch_extension lse\n ldclral %w1, %w0, [%2]" : "=&r"(old) : "r"(bits), "r"(p) : "memory");
    return old;
}
static uint32_t ldeor32(volatile uint32_t *p, uint32_t bits) {
    uint32_t old;
    __asm__ volatile(".arch_extension lse\n ldeoral %w1, %w0, [%2]" : "=&r"(old) : "r"(bits), "r"(p) : "memory");
    return old;
}
static uint32_t swp32(volatile uint32_t *p, uint32_t v) {
    uint32_t old;
    __asm__ volatile(".arch_extension lse\n swpal %w1, %w0, [%2]" : "=&r"(old) : "r"(v), "r"(p) : "memory");
    return old;
}

static long swp_violations, bit_violations;
static volatile uint64_t guarded; /* incremented plainly, only under the SWP lock */
static pthread_mutex_t stats = PTHREAD_MUTEX_INITIALIZER;

static void *worker(void *arg) {
    uint32_t me = (uint32_t)(uintptr_t)arg, bit = 1u << me;
    long my_swp = 0, my_bits = 0;
    while (!start) { }
    for (int i = 0; i < ITERS; i++) {
        ldxr_add8(&b8);
        ldxr_add16(&h16);
        ldxr_add32(&w32);
        ldaxr_add32(&w32_acq);
        ldxr_add64(&x64);
        ldxp_add(&pair);
        cas_add32(&cas32);
        cas_add64(&cas64);
        casp_add(&casp_pair);
        ldadd32(&add32);
        ldadd64(&add64);
        /* a test-and-set lock made of SWP: the plain increment inside must never race */
        while (swp32(&swp_owner, 1) != 0) { }
        guarded = guarded + 1;
        if (swp32(&swp_owner, 0) != 1) my_swp++;
        /* each thread owns one bit: set and clear it, flip it twice; other bits are not ours to see change */
        if (ldset32(&set32, bit) & bit) my_bits++;
        if (!(ldclr32(&set32, bit) & bit)) my_bits++;
        ldeor32(&eor32, bit);
        ldeor32(&eor32, bit);
        (void)ldclr32(&clr32, bit);
    }
    pthread_mutex_lock(&stats);
    swp_violations += my_swp;
    bit_violations += my_bits;
    pthread_mutex_unlock(&stats);
    return NULL;
}

int main(void) {
    pthread_t t[THREADS];
    clr32 = 0xffffffffu;
    for (int i = 0; i < THREADS; i++) pthread_create(&t[i], NULL, worker, (void *)(uintptr_t)i);
    start = 1;
    for (int i = 0; i < THREADS; i++) pthread_join(t[i], NULL);
    const uint64_t n = (uint64_t)THREADS * ITERS;
    CHECK(b8 == (uint8_t)n, "LDXRB/STXRB byte counter (%u of %u)", (unsigned)b8, (unsigned)(uint8_t)n);
    CHECK(h16 == (uint16_t)n, "LDXRH/STXRH halfword counter (%u of %u)", (unsigned)h16, (unsigned)(uint16_t)n);
    CHECK(w32 == n, "LDXR/STXR word counter (%u of %llu)", w32, (unsigned long long)n);
    CHECK(w32_acq == n, "LDAXR/STLXR word counter (%u)", w32_acq);
    CHECK(x64 == n, "LDXR/STXR doubleword counter (%llu)", (unsigned long long)x64);
    CHECK((uint64_t)pair == n && (uint64_t)(pair >> 64) == n, "LDAXP/STLXP pair counter (%llu, %llu)",
          (unsigned long long)(uint64_t)pair, (unsigned long long)(uint64_t)(pair >> 64));
    CHECK(cas32 == n, "CASAL word counter (%u)", cas32);
    CHECK(cas64 == n, "CASAL doubleword counter (%llu)", (unsigned long long)cas64);
    CHECK((uint64_t)casp_pair == n && (uint64_t)(casp_pair >> 64) == n, "CASPAL pair counter (%llu, %llu)",
          (unsigned long long)(uint64_t)casp_pair, (unsigned long long)(uint64_t)(casp_pair >> 64));
    CHECK(add32 == n, "LDADDAL word counter (%u)", add32);
    CHECK(add64 == n, "LDADDAL doubleword counter (%llu)", (unsigned long long)add64);
    CHECK(swp_violations == 0 && guarded == n, "SWPAL lock: mutual exclusion (%llu of %llu, %ld bad releases)",
          (unsigned long long)guarded, (unsigned long long)n, swp_violations);
    CHECK(bit_violations == 0 && set32 == 0, "LDSETAL/LDCLRAL on owned bits (%ld surprises, final %#x)", bit_violations, set32);
    CHECK(eor32 == 0, "LDEORAL flips cancel (%#x)", eor32);
    CHECK(clr32 == 0xffffffffu - ((1u << THREADS) - 1), "LDCLRAL cleared exactly the owned bits (%#x)", clr32);
    return guest_done();
}
