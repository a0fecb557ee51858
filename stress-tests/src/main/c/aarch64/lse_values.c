/* lse_values (aarch64): what each LSE atomic returns and stores, in every size, including the
 * signed and unsigned min/max family (LDSMAX, LDSMIN, LDUMAX, LDUMIN) and sub-word values whose
 * top bit is set (a loaded byte or halfword is zero-extended into the register). The process makes
 * a thread first, so every atomic after it is translated as a host atomic (under herd each then
 * takes the direct path on host memory, herd_native.c); then two threads race LDUMAX/LDSMIN to
 * known extremes. Compared with qemu-aarch64. */
#include "guest.h"
#include <pthread.h>
#include <stdint.h>

static volatile uint8_t b;
static volatile uint16_t h;
static volatile uint32_t w;
static volatile uint64_t x;

/* NAME_SIZE(p, v): the instruction MNEMONIC with register width R ("w" or "x"); returns the old value. */
#define LSE_ONE(NAME, SIZE, TYPE, MNEMONIC, R)                                                        \
    static uint64_t NAME##_##SIZE(volatile TYPE *p, uint64_t v) {                                     \
        uint64_t old;                                                                                 \
        __asm__ volatile(".arch_extension lse\n" MNEMONIC " %" R "1, %" R "0, [%2]"                   \
                         : "=&r"(old) : "r"(v), "r"(p) : "memory");                                   \
        return old;                                                                                   \
    }
#define LSE(NAME)                                   \
    LSE_ONE(NAME, b, uint8_t, #NAME "b", "w")       \
    LSE_ONE(NAME, h, uint16_t, #NAME "h", "w")      \
    LSE_ONE(NAME, w, uint32_t, #NAME, "w")          \
    LSE_ONE(NAME, x, uint64_t, #NAME, "x")

LSE(ldaddal)
LSE(ldclral)
LSE(ldeoral)
LSE(ldsetal)
LSE(ldsmaxal)
LSE(ldsminal)
LSE(ldumaxal)
LSE(lduminal)
LSE(swpal)

static uint64_t cas_x(volatile uint64_t *p, uint64_t expect, uint64_t v) {
    __asm__ volatile(".arch_extension lse\n casal %x0, %x1, [%2]" : "+r"(expect) : "r"(v), "r"(p) : "memory");
    return expect;
}
static uint64_t cas_b(volatile uint8_t *p, uint64_t expect, uint64_t v) {
    __asm__ volatile(".arch_extension lse\n casalb %w0, %w1, [%2]" : "+r"(expect) : "r"(v), "r"(p) : "memory");
    return expect;
}

/* Runs op on each size from the same starting bytes and prints old value and result. */
#define ROW(NAME, START, V)                                                                                    \
    do {                                                                                                       \
        b = (uint8_t)(START); h = (uint16_t)(START); w = (uint32_t)(START); x = (uint64_t)(START);             \
        uint64_t ob = NAME##_b(&b, (V)), oh = NAME##_h(&h, (V)), ow = NAME##_w(&w, (V)), ox = NAME##_x(&x, (V)); \
        printf("%-9s start %#018llx v %#018llx: b %#llx->%#x h %#llx->%#x w %#llx->%#x x %#llx->%#llx\n",     \
               #NAME, (unsigned long long)(START), (unsigned long long)(V), (unsigned long long)ob, b,         \
               (unsigned long long)oh, h, (unsigned long long)ow, w, (unsigned long long)ox,                 \
               (unsigned long long)x);                                                                          \
    } while (0)

static void *nothing(void *arg) { return arg; }

static volatile uint64_t race_max, race_min;
static volatile int go;
#define RACE 200000

static void *racer(void *arg) {
    uint64_t id = (uint64_t)(uintptr_t)arg;
    while (!go) {}
    for (uint64_t i = 0; i < RACE; i++) {
        ldumaxal_x(&race_max, i * 2 + id);                 /* the largest: 2 * (RACE - 1) + 1 */
        ldsminal_x(&race_min, (uint64_t)-(int64_t)(i * 2 + id)); /* the smallest: -(2 * (RACE - 1) + 1) */
    }
    return NULL;
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, nothing, NULL) == 0 && pthread_join(t, NULL) == 0, "a thread came and went");

    static const uint64_t starts[] = {0, 0x7f, 0x80, 0xff, 0x7fff8001, 0x80000000ffff0001ULL, 0xffffffffffffffffULL};
    static const uint64_t values[] = {1, 0x80, 0x7f, 0xffffffff80ff8081ULL};
    for (unsigned i = 0; i < sizeof starts / sizeof *starts; i++) {
        for (unsigned j = 0; j < sizeof values / sizeof *values; j++) {
            ROW(ldaddal, starts[i], values[j]);
            ROW(ldclral, starts[i], values[j]);
            ROW(ldeoral, starts[i], values[j]);
            ROW(ldsetal, starts[i], values[j]);
            ROW(ldsmaxal, starts[i], values[j]);
            ROW(ldsminal, starts[i], values[j]);
            ROW(ldumaxal, starts[i], values[j]);
            ROW(lduminal, starts[i], values[j]);
            ROW(swpal, starts[i], values[j]);
        }
    }
    x = 5;
    printf("cas x: found %llu (expect 5 -> 9) now %llu\n", (unsigned long long)cas_x(&x, 5, 9), (unsigned long long)x);
    printf("cas x: found %llu (expect 5, no store) now %llu\n", (unsigned long long)cas_x(&x, 5, 11), (unsigned long long)x);
    b = 0xfe;
    printf("cas b: found %#llx (expect 0xfe -> 0x81) now %#x\n", (unsigned long long)cas_b(&b, 0xfe, 0x81), b);
    printf("cas b: found %#llx (expect 0xfe, no store) now %#x\n", (unsigned long long)cas_b(&b, 0xfe, 0x7f), b);

    race_max = 0;
    race_min = 0;
    pthread_t r[2];
    for (uintptr_t i = 0; i < 2; i++) pthread_create(&r[i], NULL, racer, (void *)i);
    go = 1;
    for (int i = 0; i < 2; i++) pthread_join(r[i], NULL);
    CHECK(race_max == 2 * (RACE - 1) + 1, "two threads' LDUMAX: the largest value won");
    CHECK((int64_t)race_min == -(int64_t)(2 * (RACE - 1) + 1), "two threads' LDSMIN: the smallest value won");
    return guest_done();
}
