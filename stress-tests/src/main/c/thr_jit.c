/* thr_jit: a JIT pattern across threads. The main thread writes x86_64 machine code into an mmap'd
 * page and hands it to a runner thread, which calls it through a function pointer and reports the
 * result; then the code at the same address is rewritten and the runner (which executed the old
 * code) must run the new code. Variants (argv[1]):
 *   block  mprotect RW, write, mprotect RX; hand-off by mutex and condition variable
 *   spin   same, but the runner spins on an atomic generation counter (no syscalls while waiting)
 *   rwx    the page stays RWX and is rewritten in place with no mprotect at all (cross-modifying
 *          code as HotSpot-style JITs do); the runner spins, then serialises with cpuid
 *   fresh  mprotect RW, write, mprotect RX, then a new thread runs the code and is joined, every
 *          round (new threads may get pooled engines that ran the old code)
 *   atomic      generated code with a locked instruction (lock xadd) is made RX by mprotect and
 *               run by 4 threads at once: the shared counter must be exact
 *   atomic-rwx  the same code written into an RWX page (no mprotect after writing)
 * argv[2]: number of rewrites (calls per thread for the atomic variants). */
#include "guest.h"
#include <pthread.h>
#include <stdint.h>
#include <sys/mman.h>

#define PG 4096

enum { BLOCK, SPIN, RWX, FRESH };
static int variant;
static long rounds;
static unsigned char *page;
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static long gen, done;        /* generation published by the writer, acknowledged by the runner */
static size_t entry;          /* offset of the function in the page for this generation */
static int64_t result;
static int wrong;

typedef int (*fn_t)(int);

/* Three shapes of code, all taking edi and returning eax, with the round's constant baked in. */
static size_t emit(unsigned char *p, long r) {
    uint32_t k = (uint32_t)(r * 7919 + 13);
    size_t n = 0;
    switch (r % 3) {
    case 0: /* mov eax, k; add eax, edi; ret */
        p[n++] = 0xB8; memcpy(p + n, &k, 4); n += 4;
        p[n++] = 0x01; p[n++] = 0xF8; p[n++] = 0xC3;
        break;
    case 1: /* imul eax, edi, k; ret */
        p[n++] = 0x69; p[n++] = 0xC7; memcpy(p + n, &k, 4); n += 4;
        p[n++] = 0xC3;
        break;
    default: /* lea eax, [rdi+rdi*2]; add eax, k; ret */
        p[n++] = 0x8D; p[n++] = 0x04; p[n++] = 0x7F;
        p[n++] = 0x05; memcpy(p + n, &k, 4); n += 4;
        p[n++] = 0xC3;
        break;
    }
    return n;
}

static int64_t expect(long r, int x) {
    uint32_t k = (uint32_t)(r * 7919 + 13);
    switch (r % 3) {
    case 0: return (int32_t)(k + (uint32_t)x);
    case 1: return (int32_t)(k * (uint32_t)x);
    default: return (int32_t)((uint32_t)x * 3 + k);
    }
}

static int arg_for(long r) { return (int)(r * 31 + 5); }

static void *runner(void *unused) {
    long seen = 0;
    for (;;) {
        long g;
        if (variant == BLOCK) {
            pthread_mutex_lock(&m);
            while (gen == seen) pthread_cond_wait(&cv, &m);
            g = gen;
            pthread_mutex_unlock(&m);
        } else {
            while ((g = __atomic_load_n(&gen, __ATOMIC_ACQUIRE)) == seen) __builtin_ia32_pause();
            if (variant == RWX) {
                unsigned a = 0, b, c, d;
                __asm__ volatile("cpuid" : "+a"(a), "=b"(b), "=c"(c), "=d"(d) : : "memory");
            }
        }
        if (g < 0) return NULL;
        seen = g;
        fn_t f = (fn_t)(void *)(page + __atomic_load_n(&entry, __ATOMIC_ACQUIRE));
        int64_t v = f(arg_for(g - 1));
        if (variant == BLOCK) {
            pthread_mutex_lock(&m);
            result = v;
            done = g;
            pthread_cond_broadcast(&cv);
            pthread_mutex_unlock(&m);
        } else {
            __atomic_store_n(&result, v, __ATOMIC_RELAXED);
            __atomic_store_n(&done, g, __ATOMIC_RELEASE);
        }
    }
}

static void *fresh_runner(void *arg) {
    long g = (long)(intptr_t)arg;
    fn_t f = (fn_t)(void *)(page + entry);
    result = f(arg_for(g - 1));
    return NULL;
}

static void publish(long g) {
    if (variant == FRESH) {
        pthread_t t;
        if (g > 0) {
            pthread_create(&t, NULL, fresh_runner, (void *)(intptr_t)g);
            pthread_join(t, NULL);
        }
    } else if (variant == BLOCK) {
        pthread_mutex_lock(&m);
        gen = g;
        pthread_cond_broadcast(&cv);
        if (g > 0) while (done != g) pthread_cond_wait(&cv, &m);
        pthread_mutex_unlock(&m);
    } else {
        __atomic_store_n(&gen, g, __ATOMIC_RELEASE);
        if (g > 0) while (__atomic_load_n(&done, __ATOMIC_ACQUIRE) != g) __builtin_ia32_pause();
    }
}

#define NA 4
static int64_t shared_counter;
static long calls;
static pthread_barrier_t bar;
typedef int64_t (*xadd_t)(int64_t *, int64_t);

static void *adder(void *arg) {
    xadd_t f = (xadd_t)(void *)page;
    int64_t olds = 0;
    pthread_barrier_wait(&bar);
    for (long i = 0; i < calls; i++) olds += f(&shared_counter, 1) >= 0;
    return (void *)(intptr_t)(olds == calls);
}

static int atomic_variant(int rwx) {
    calls = rounds;
    page = mmap(NULL, PG, PROT_READ | PROT_WRITE | (rwx ? PROT_EXEC : 0), MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(page != MAP_FAILED, "mmap a code page (%s)", rwx ? "RWX" : "RW");
    /* mov rax, rsi; lock xadd [rdi], rax; ret */
    static const unsigned char code[] = {0x48, 0x89, 0xF0, 0xF0, 0x48, 0x0F, 0xC1, 0x07, 0xC3};
    memcpy(page, code, sizeof code);
    if (!rwx) CHECK(mprotect(page, PG, PROT_READ | PROT_EXEC) == 0, "mprotect RX");
    pthread_barrier_init(&bar, NULL, NA);
    pthread_t t[NA];
    for (int i = 0; i < NA; i++) pthread_create(&t[i], NULL, adder, NULL);
    int ok = 1;
    for (int i = 0; i < NA; i++) {
        void *r;
        pthread_join(t[i], &r);
        ok &= r != NULL;
    }
    CHECK(ok, "generated lock xadd returned old values");
    CHECK(shared_counter == NA * calls, "%d threads running generated lock xadd: counter exact", NA);
    if (shared_counter != NA * calls) printf("counter %lld want %lld\n", (long long)shared_counter, (long long)(NA * calls));
    return guest_done();
}

int main(int argc, char **argv) {
    const char *v = argc > 1 ? argv[1] : "block";
    if (strcmp(v, "atomic") == 0 || strcmp(v, "atomic-rwx") == 0) {
        rounds = argc > 2 ? atol(argv[2]) : 100000;
        return atomic_variant(strcmp(v, "atomic-rwx") == 0);
    }
    variant = strcmp(v, "spin") == 0 ? SPIN : strcmp(v, "rwx") == 0 ? RWX : strcmp(v, "fresh") == 0 ? FRESH : BLOCK;
    rounds = argc > 2 ? atol(argv[2]) : 300;
    int prot = variant == RWX ? PROT_READ | PROT_WRITE | PROT_EXEC : PROT_READ | PROT_WRITE;
    page = mmap(NULL, PG, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(page != MAP_FAILED, "mmap a code page (%s)", variant == RWX ? "RWX" : "RW");
    pthread_t t;
    if (variant != FRESH) pthread_create(&t, NULL, runner, NULL);
    int prot_ok = 1;
    long first_wrong = -1;
    for (long r = 0; r < rounds; r++) {
        if (variant != RWX && r > 0) prot_ok &= mprotect(page, PG, PROT_READ | PROT_WRITE) == 0;
        /* Mostly the same address (rewritten in place); every 8th round elsewhere in the page. */
        size_t off = (r % 8 == 7) ? 64 * (size_t)(1 + r % 50) : 0;
        memset(page + off, 0xCC, 16); /* int3 padding: stale bytes would trap, not run on */
        emit(page + off, r);
        if (variant != RWX) prot_ok &= mprotect(page, PG, PROT_READ | PROT_EXEC) == 0;
        __atomic_store_n(&entry, off, __ATOMIC_RELEASE);
        publish(r + 1);
        int64_t got = variant == BLOCK || variant == FRESH ? result : __atomic_load_n(&result, __ATOMIC_RELAXED);
        if (got != expect(r, arg_for(r))) {
            if (first_wrong < 0) {
                first_wrong = r;
                printf("round %ld: got %lld want %lld\n", r, (long long)got, (long long)expect(r, arg_for(r)));
            }
            wrong++;
        }
    }
    publish(-1);
    if (variant != FRESH) pthread_join(t, NULL);
    CHECK(prot_ok, "every mprotect succeeded");
    CHECK(wrong == 0, "the runner thread ran the newest code in all %ld rounds", rounds);
    if (wrong) printf("%d wrong results\n", wrong);
    /* The writer itself runs the last code too. */
    fn_t f = (fn_t)(void *)(page + entry);
    CHECK(f(arg_for(rounds - 1)) == expect(rounds - 1, arg_for(rounds - 1)), "the writing thread runs the newest code");
    return guest_done();
}
