/* clone_raw (aarch64): clone(2) in arm64's argument order -- flags, stack, parent_tid, tls,
 * child_tid (the kernel's CONFIG_CLONE_BACKWARDS order; x86_64 swaps the last two) -- called with
 * svc directly, not through glibc (whose pthread_create uses clone3). The child runs a few
 * instructions on its own stack: records its TPIDR_EL0 and SP, sets a flag, exits. The parent
 * checks CLONE_PARENT_SETTID, CLONE_SETTLS and CLONE_CHILD_CLEARTID (cleared and woken). */
#include "guest.h"
#include <linux/futex.h>
#include <sched.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

static volatile uint64_t child_tls, child_sp;
static volatile uint32_t child_ran;
static volatile pid_t ptid, ctid = -1;
static char stack[65536] __attribute__((aligned(16)));

static long raw_clone(unsigned long flags, void *sp, volatile pid_t *p, uint64_t tls, volatile pid_t *c) {
    register long x0 __asm__("x0") = (long)flags;
    register void *x1 __asm__("x1") = sp;
    register volatile pid_t *x2 __asm__("x2") = p;
    register uint64_t x3 __asm__("x3") = tls;
    register volatile pid_t *x4 __asm__("x4") = c;
    register volatile uint64_t *x10 __asm__("x10") = &child_tls;
    register volatile uint64_t *x11 __asm__("x11") = &child_sp;
    register volatile uint32_t *x12 __asm__("x12") = &child_ran;
    __asm__ volatile(
        "mov x8, #220\n"          /* __NR_clone */
        "svc #0\n"
        "cbnz x0, 1f\n"
        "mrs x13, tpidr_el0\n"    /* the child: its own registers and stack only */
        "str x13, [x10]\n"
        "mov x13, sp\n"
        "str x13, [x11]\n"
        "mov w13, #1\n"
        "stlr w13, [x12]\n"
        "mov x0, #0\n"
        "mov x8, #93\n"           /* __NR_exit */
        "svc #0\n"
        "1:\n"
        : "+r"(x0)
        : "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x10), "r"(x11), "r"(x12)
        : "x8", "x13", "memory", "cc");
    return x0;
}

int main(void) {
    const uint64_t tls = 0x5a5a000012345670ull;
    unsigned long flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM
                          | CLONE_SETTLS | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID;
    char *top = stack + sizeof stack;
    long tid = raw_clone(flags, top, &ptid, tls, &ctid);
    CHECK(tid > 0, "clone returned a thread id");
    while (!__atomic_load_n(&child_ran, __ATOMIC_ACQUIRE)) { }
    /* CLONE_CHILD_CLEARTID: the kernel clears ctid and wakes it when the child exits */
    for (pid_t v; (v = ctid) != 0; ) syscall(SYS_futex, &ctid, FUTEX_WAIT, v, NULL, NULL, 0);
    CHECK(ptid == tid, "CLONE_PARENT_SETTID stored the child's tid");
    CHECK(child_tls == tls, "CLONE_SETTLS: the child's TPIDR_EL0 is the fourth argument");
    CHECK(child_sp == (uint64_t)(uintptr_t)top, "the child runs on the new stack");
    CHECK(ctid == 0, "CLONE_CHILD_CLEARTID cleared the fifth argument's word");
    return guest_done();
}
