/* ro_atomic: a locked read-modify-write on a read-only page is SIGSEGV (SEGV_ACCERR), natively and
 * under herd: a page made read-only after a write (a stale writable TLB entry in the engine) and
 * a const global never written. libunicorn's atomic helpers skip its permission check, so with
 * translator atomics this once killed the JVM (ELF fuzz seed 1 case 3763). Each case ends the
 * process with its fault: status 139. */
#include "guest.h"
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

static int page[1024] __attribute__((aligned(4096)));
static const int constant = 5;

int main(int argc, char **argv) {
    if (argc > 1 && (strcmp(argv[1], "cmpxchg8b") == 0 || strcmp(argv[1], "cmpxchg16b") == 0)) {
        uint64_t lo = 1, hi = 0, nlo = 2, nhi = 0;
        page[0] = 1;
        CHECK(mprotect(page, sizeof page, PROT_READ) == 0, "mprotect the written page read-only");
        printf("%s on it\n", argv[1]);
        fflush(stdout);
        if (strcmp(argv[1], "cmpxchg8b") == 0)
            __asm__ volatile("lock cmpxchg8b (%2)" : "+a"(lo), "+d"(hi) : "r"(page), "b"(nlo), "c"(nhi) : "memory");
        else
            __asm__ volatile("lock cmpxchg16b (%2)" : "+a"(lo), "+d"(hi) : "r"(page), "b"(nlo), "c"(nhi) : "memory");
        printf("FAIL: %s on a read-only page did not fault\n", argv[1]);
        return guest_done() + 1;
    }
    if (argc > 1 && strcmp(argv[1], "const") == 0) {
        printf("const: read %d\n", constant);
        fflush(stdout);
        __atomic_fetch_add((int *)&constant, 1, __ATOMIC_SEQ_CST);
        printf("FAIL: the atomic add on a const global did not fault\n");
        return 1;
    }
    page[0] = 1; /* the engine now holds a writable translation of the page */
    CHECK(mprotect(page, sizeof page, PROT_READ) == 0, "mprotect the written page read-only");
    printf("mprotected: read %d\n", page[0]);
    fflush(stdout);
    __atomic_fetch_add(&page[0], 1, __ATOMIC_SEQ_CST);
    printf("FAIL: the atomic add on a read-only page did not fault\n");
    return guest_done() + 1;
}
