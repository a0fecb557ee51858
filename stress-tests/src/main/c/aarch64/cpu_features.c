/* cpu_features (aarch64): every feature AT_HWCAP/AT_HWCAP2 advertises must execute. For each
 * advertised bit one instruction of that feature runs under a SIGILL handler; an advertised
 * feature whose instruction raises SIGILL is a FAIL (a program that trusts the auxv, as glibc's
 * ifuncs and libgcc's outline atomics do, would die). Prints the advertised set, then the checks.
 * What is advertised depends on the CPU (herd: QEMU's max model as its ID registers say; qemu-user
 * and real hardware differ), so the checks are per run, not compared across runtimes. */
#include "guest.h"
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/auxv.h>

static sigjmp_buf env;
static volatile int sigill;

static void on_sigill(int sig) {
    (void)sig;
    sigill = 1;
    siglongjmp(env, 1);
}

static uint64_t word[4] __attribute__((aligned(64)));

#define TRY(name, asm_text)                                                                      \
    static int try_##name(void) {                                                                \
        sigill = 0;                                                                              \
        if (sigsetjmp(env, 1) == 0) {                                                            \
            register uint64_t *p __asm__("x9") = word;                                           \
            __asm__ volatile(asm_text : : "r"(p) : "x0", "x1", "v0", "v1", "v2", "v3", "memory", "cc"); \
        }                                                                                        \
        return !sigill;                                                                          \
    }

TRY(fp, "fadd d0, d0, d0")
TRY(asimd, "add v0.16b, v0.16b, v0.16b")
TRY(aes, ".arch_extension aes\n aese v0.16b, v1.16b")
TRY(pmull, ".arch_extension aes\n pmull v0.1q, v0.1d, v1.1d")
TRY(sha1, ".arch_extension sha2\n sha1h s0, s1")
TRY(sha2, ".arch_extension sha2\n sha256h q0, q1, v2.4s")
TRY(crc32, ".arch_extension crc\n crc32b w0, w0, w1")
TRY(atomics, ".arch_extension lse\n ldadd x0, x1, [x9]")
TRY(fphp, ".arch_extension fp16\n fadd h0, h0, h0")
TRY(asimdhp, ".arch_extension fp16\n fadd v0.8h, v0.8h, v0.8h")
TRY(cpuid, "mrs x0, midr_el1")
TRY(asimdrdm, ".arch_extension rdma\n sqrdmlah v0.4s, v1.4s, v2.4s")
TRY(jscvt, ".arch armv8.3-a\n fjcvtzs w0, d0")
TRY(fcma, ".arch armv8.3-a\n fcmla v0.4s, v1.4s, v2.4s, #0")
TRY(lrcpc, ".arch armv8.3-a\n ldapr x0, [x9]")
TRY(dcpop, ".arch armv8.2-a\n dc cvap, x9")
TRY(sha3, ".arch_extension sha3\n eor3 v0.16b, v1.16b, v2.16b, v3.16b")
TRY(sm3, ".arch_extension sm4\n sm3ss1 v0.4s, v1.4s, v2.4s, v3.4s")
TRY(sm4, ".arch_extension sm4\n sm4e v0.4s, v1.4s")
TRY(asimddp, ".arch_extension dotprod\n sdot v0.4s, v1.16b, v2.16b")
TRY(sha512, ".arch_extension sha3\n sha512h q0, q1, v2.2d")
TRY(asimdfhm, ".arch_extension fp16fml\n fmlal v0.2s, v1.2h, v2.2h")
TRY(dit, ".arch armv8.4-a\n msr dit, #1\n msr dit, #0")
TRY(uscat, "ldr x0, [x9, #1]")
TRY(ilrcpc, ".arch armv8.4-a\n ldapur x0, [x9, #8]")
TRY(flagm, ".arch armv8.4-a\n cfinv")
TRY(sb, ".arch_extension sb\n sb")
TRY(dcpodp, ".arch armv8.5-a\n dc cvadp, x9")
TRY(flagm2, ".arch armv8.5-a\n axflag\n xaflag")
TRY(frint, ".arch armv8.5-a\n frint32z d0, d1")
TRY(i8mm, ".arch armv8.6-a+i8mm\n smmla v0.4s, v1.16b, v2.16b")
TRY(bf16, ".arch armv8.6-a+bf16\n bfdot v0.2s, v1.4h, v2.4h")
TRY(rng, ".arch_extension rng\n mrs x0, rndr")

struct feature { const char *name; int hwcap2; int bit; int (*run)(void); };
static const struct feature features[] = {
    {"fp", 0, 0, try_fp}, {"asimd", 0, 1, try_asimd}, {"aes", 0, 3, try_aes}, {"pmull", 0, 4, try_pmull},
    {"sha1", 0, 5, try_sha1}, {"sha2", 0, 6, try_sha2}, {"crc32", 0, 7, try_crc32}, {"atomics", 0, 8, try_atomics},
    {"fphp", 0, 9, try_fphp}, {"asimdhp", 0, 10, try_asimdhp}, {"cpuid", 0, 11, try_cpuid},
    {"asimdrdm", 0, 12, try_asimdrdm}, {"jscvt", 0, 13, try_jscvt}, {"fcma", 0, 14, try_fcma},
    {"lrcpc", 0, 15, try_lrcpc}, {"dcpop", 0, 16, try_dcpop}, {"sha3", 0, 17, try_sha3}, {"sm3", 0, 18, try_sm3},
    {"sm4", 0, 19, try_sm4}, {"asimddp", 0, 20, try_asimddp}, {"sha512", 0, 21, try_sha512},
    {"asimdfhm", 0, 23, try_asimdfhm}, {"dit", 0, 24, try_dit}, {"uscat", 0, 25, try_uscat},
    {"ilrcpc", 0, 26, try_ilrcpc}, {"flagm", 0, 27, try_flagm}, {"sb", 0, 29, try_sb},
    {"dcpodp", 1, 0, try_dcpodp}, {"flagm2", 1, 7, try_flagm2}, {"frint", 1, 8, try_frint},
    {"i8mm", 1, 13, try_i8mm}, {"bf16", 1, 14, try_bf16}, {"rng", 1, 16, try_rng},
};

int main(void) {
    unsigned long hwcap = getauxval(AT_HWCAP), hwcap2 = getauxval(AT_HWCAP2);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigill;
    sigaction(SIGILL, &sa, NULL);
    printf("hwcap %#lx hwcap2 %#lx\n", hwcap, hwcap2);
    unsigned long known = 0, known2 = 0;
    for (size_t i = 0; i < sizeof features / sizeof *features; i++) {
        const struct feature *f = &features[i];
        if (f->hwcap2) known2 |= 1ul << f->bit; else known |= 1ul << f->bit;
        if (!((f->hwcap2 ? hwcap2 : hwcap) >> f->bit & 1)) continue;
        CHECK(f->run(), "advertised %s executes", f->name);
    }
    /* Bits this guest has no instruction for must not be advertised (SVE and the rest need state
     * Herd's frames do not carry; EVTSTRM is a timer property). */
    CHECK((hwcap & ~known) == 0, "no hwcap bits beyond the known ones (%#lx)", hwcap & ~known);
    CHECK((hwcap2 & ~known2) == 0, "no hwcap2 bits beyond the known ones (%#lx)", hwcap2 & ~known2);
    CHECK(hwcap & (1ul << 8), "LSE atomics advertised (the model is chosen for them)");
    return guest_done();
}
