/* cpu_isa: every instruction-set feature CPUID advertises works, with results equal to a
 * software reference: x87, MMX, TSC, SSE3, SSSE3, SSE4.1, SSE4.2 (string compares, crc32), POPCNT,
 * LZCNT, CX16, LAHF/SAHF in 64-bit mode, AES-NI, PCLMULQDQ, MOVBE; and the x86-64 baseline as
 * glibc's loader computes it (CMOV CX8 FPU FXSR MMX SSE SSE2: below it, ld.so refuses libc.so.6).
 * Prints the same lines whatever the CPU: a feature that is not advertised is not run. */
#include "guest.h"
#include <cpuid.h>
#include <immintrin.h>
#include <stdint.h>

static unsigned c1, d1, c81, b7;

#define T(f) __attribute__((target(f), noinline))

__attribute__((noinline)) static int x87(void) {
    volatile long double a = 2.0L, b = 3.0L;
    long double r = a * b + 0.5L;
    long double s;
    __asm__("fsqrt" : "=t"(s) : "0"((long double)2.25L));
    return r == 6.5L && s == 1.5L;
}

T("mmx") static int mmx(void) {
    __m64 a = _mm_set_pi8(1, 2, 3, 4, 5, 6, 7, 8), b = _mm_set_pi8(10, 20, 30, 40, 50, 60, 70, 80);
    __m64 c = _mm_add_pi8(a, b);
    long long v = _mm_cvtm64_si64(c);
    _mm_empty();
    return v == 0x0b16212c37424d58LL;
}

static int tsc(void) {
    unsigned lo, hi, lo2, hi2;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    for (volatile int i = 0; i < 100000; i++) {}
    __asm__ volatile("rdtsc" : "=a"(lo2), "=d"(hi2));
    return (((uint64_t)hi2 << 32) | lo2) > (((uint64_t)hi << 32) | lo);
}

T("sse3") static int sse3(void) {
    __m128d a = _mm_set_pd(4.0, 1.5), b = _mm_set_pd(10.0, 2.5);
    double out[2];
    _mm_storeu_pd(out, _mm_hadd_pd(a, b)); /* {1.5+4, 2.5+10} */
    __m128 x = _mm_set_ps(4, 3, 2, 1), y = _mm_set_ps(40, 30, 20, 10);
    float o[4];
    _mm_storeu_ps(o, _mm_addsub_ps(x, y)); /* {1-10, 2+20, 3-30, 4+40} */
    return out[0] == 5.5 && out[1] == 12.5 && o[0] == -9 && o[1] == 22 && o[2] == -27 && o[3] == 44;
}

T("ssse3") static int ssse3(void) {
    __m128i v = _mm_setr_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    __m128i rev = _mm_setr_epi8(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
    uint8_t o[16];
    _mm_storeu_si128((__m128i *)o, _mm_shuffle_epi8(v, rev));
    __m128i n = _mm_setr_epi16(-5, 3, -32768, 7, 0, -1, 2, -2);
    int16_t a[8];
    _mm_storeu_si128((__m128i *)a, _mm_abs_epi16(n));
    return o[0] == 15 && o[15] == 0 && a[0] == 5 && a[2] == -32768 && a[5] == 1 && a[7] == 2;
}

T("sse4.1") static int sse41(void) {
    __m128i a = _mm_setr_epi32(5, -7, 100, 3), b = _mm_setr_epi32(2, -9, 50, 8);
    int32_t mx[4], ml[4];
    _mm_storeu_si128((__m128i *)mx, _mm_max_epi32(a, b));
    _mm_storeu_si128((__m128i *)ml, _mm_mullo_epi32(a, b));
    double r = _mm_cvtsd_f64(_mm_round_sd(_mm_setzero_pd(), _mm_set_sd(2.5), _MM_FROUND_TO_NEAREST_INT));
    int ext = _mm_extract_epi32(a, 2);
    return mx[0] == 5 && mx[1] == -7 && ml[1] == 63 && ml[2] == 5000 && r == 2.0 && ext == 100;
}

T("sse4.2") static int sse42(void) {
    uint32_t c = 0;
    const char *s = "herd emulator";
    for (const char *p = s; *p; p++) c = _mm_crc32_u8(c, (uint8_t)*p);
    uint32_t ref = 0; /* CRC-32C, bitwise */
    for (const char *p = s; *p; p++) {
        ref ^= (uint8_t)*p;
        for (int k = 0; k < 8; k++) ref = (ref >> 1) ^ (0x82F63B78 & -(ref & 1));
    }
    __m128i hay = _mm_loadu_si128((const __m128i *)"abcdefghijklmnop");
    __m128i needle = _mm_loadu_si128((const __m128i *)"jk\0\0\0\0\0\0\0\0\0\0\0\0\0\0");
    int idx = _mm_cmpestri(needle, 2, hay, 16, _SIDD_CMP_EQUAL_ORDERED);
    long long gt = _mm_extract_epi64(_mm_cmpgt_epi64(_mm_set_epi64x(5, -1), _mm_set_epi64x(4, 0)), 1);
    return c == ref && idx == 9 && gt == -1;
}

T("popcnt") static int popcnt(void) {
    volatile uint64_t x = 0xF0F0F0F0F0F0F0F1ULL;
    return __builtin_popcountll(x) == 33 && _mm_popcnt_u32(0xFFu) == 8;
}

T("lzcnt") static int lzcnt(void) {
    volatile uint32_t x = 0x00010000;
    volatile uint64_t z = 0;
    return _lzcnt_u32(x) == 15 && _lzcnt_u64(z) == 64;
}

T("cx16") static int cx16(void) {
    static __int128 v __attribute__((aligned(16)));
    v = 5;
    __int128 expected = 5, desired = ((__int128)7 << 64) | 9;
    int ok = __sync_bool_compare_and_swap(&v, expected, desired);
    return ok && v == desired && !__sync_bool_compare_and_swap(&v, expected, 1);
}

static int lahf_sahf(void) {
    unsigned char ah;
    /* set CF and ZF with a compare, read them with lahf; write them back with sahf and observe */
    __asm__ volatile("xor %%eax, %%eax\n cmp $0, %%eax\n stc\n lahf\n mov %%ah, %0" : "=r"(ah) : : "eax", "cc");
    unsigned char cf;
    __asm__ volatile("mov $0x01, %%ah\n sahf\n setc %0" : "=r"(cf) : : "eax", "cc");
    return (ah & 0x41) == 0x41 && cf == 1;
}

T("aes") static __m128i expand_step(__m128i key, __m128i assist) {
    assist = _mm_shuffle_epi32(assist, 0xff);
    key = _mm_xor_si128(key, _mm_slli_si128(key, 4));
    key = _mm_xor_si128(key, _mm_slli_si128(key, 4));
    key = _mm_xor_si128(key, _mm_slli_si128(key, 4));
    return _mm_xor_si128(key, assist);
}

#define EXPAND(i, rcon) k[i] = expand_step(k[i - 1], _mm_aeskeygenassist_si128(k[i - 1], rcon))

T("aes") static int aes(void) {
    /* FIPS-197 appendix C.1: AES-128, key 000102...0f, plaintext 00112233...ff */
    static const uint8_t key[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
    static const uint8_t pt[16] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
                                   0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};
    static const uint8_t ct[16] = {0x69, 0xc4, 0xe0, 0xd8, 0x6a, 0x7b, 0x04, 0x30,
                                   0xd8, 0xcd, 0xb7, 0x80, 0x70, 0xb4, 0xc5, 0x5a};
    __m128i k[11];
    k[0] = _mm_loadu_si128((const __m128i *)key);
    EXPAND(1, 0x01); EXPAND(2, 0x02); EXPAND(3, 0x04); EXPAND(4, 0x08); EXPAND(5, 0x10);
    EXPAND(6, 0x20); EXPAND(7, 0x40); EXPAND(8, 0x80); EXPAND(9, 0x1b); EXPAND(10, 0x36);
    __m128i st = _mm_xor_si128(_mm_loadu_si128((const __m128i *)pt), k[0]);
    for (int i = 1; i < 10; i++) st = _mm_aesenc_si128(st, k[i]);
    st = _mm_aesenclast_si128(st, k[10]);
    uint8_t out[16];
    _mm_storeu_si128((__m128i *)out, st);
    /* and back: the equivalent inverse cipher with AESIMC'd round keys */
    __m128i d = _mm_xor_si128(st, k[10]);
    for (int i = 9; i >= 1; i--) d = _mm_aesdec_si128(d, _mm_aesimc_si128(k[i]));
    d = _mm_aesdeclast_si128(d, k[0]);
    uint8_t back[16];
    _mm_storeu_si128((__m128i *)back, d);
    return !memcmp(out, ct, 16) && !memcmp(back, pt, 16);
}

T("pclmul") static int pclmul(void) {
    __m128i a = _mm_set_epi64x(0, 0x3), b = _mm_set_epi64x(0, 0x5);
    uint64_t r[2];
    _mm_storeu_si128((__m128i *)r, _mm_clmulepi64_si128(a, b, 0x00)); /* (x+1)(x^2+1) = x^3+x^2+x+1 */
    return r[0] == 0xF && r[1] == 0;
}

T("movbe") static int movbe(void) {
    uint32_t src = 0x11223344, dst;
    __asm__ volatile("movbe %1, %0" : "=r"(dst) : "m"(src));
    return dst == 0x44332211;
}

int main(void) {
    unsigned a, b, c, d;
    __get_cpuid(1, &a, &b, &c1, &d1);
    __get_cpuid(0x80000001, &a, &b, &c81, &d);
    __get_cpuid_count(7, 0, &a, &b7, &c, &d);
    /* glibc's x86-64 baseline: what ld.so demands of every libc.so.6 */
    CHECK((d1 & bit_CMOV) && (d1 & bit_CMPXCHG8B) && (d1 & (1u << 0)) && (d1 & bit_FXSAVE) && (d1 & bit_MMX)
          && (d1 & bit_SSE) && (d1 & bit_SSE2), "the x86-64 baseline is advertised");
    CHECK(!(d1 & 1u) || x87(), "x87 works where advertised");
    CHECK(!(d1 & bit_MMX) || mmx(), "MMX works where advertised");
    CHECK(!(d1 & (1u << 4)) || tsc(), "RDTSC counts up where advertised");
    CHECK(!(c1 & bit_SSE3) || sse3(), "SSE3 works where advertised");
    CHECK(!(c1 & bit_SSSE3) || ssse3(), "SSSE3 works where advertised");
    CHECK(!(c1 & bit_SSE4_1) || sse41(), "SSE4.1 works where advertised");
    CHECK(!(c1 & bit_SSE4_2) || sse42(), "SSE4.2 works where advertised");
    CHECK(!(c1 & bit_POPCNT) || popcnt(), "POPCNT works where advertised");
    CHECK(!(c81 & bit_LZCNT) || lzcnt(), "LZCNT works where advertised");
    CHECK(!(c1 & bit_CMPXCHG16B) || cx16(), "CMPXCHG16B works where advertised");
    CHECK(!(c81 & bit_LAHF_LM) || lahf_sahf(), "LAHF/SAHF work where advertised");
    CHECK(!(c1 & bit_AES) || aes(), "AES-NI works where advertised");
    CHECK(!(c1 & bit_PCLMUL) || pclmul(), "PCLMULQDQ works where advertised");
    CHECK(!(c1 & bit_MOVBE) || movbe(), "MOVBE works where advertised");
    (void)b7;
    return guest_done();
}
