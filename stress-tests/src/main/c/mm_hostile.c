/*
 * Memory syscalls given hostile arguments (issue 9's fuzz findings), each compared with native:
 * a refused call must change nothing. In parallel mode Herd patches guest atomics into traps
 * (DESIGN fact 3); a failing munmap over the code once made Herd forget those sites, so the
 * atomics after it ran as garbage syscalls. mprotect(PROT_EXEC) with a huge length once scanned
 * the address space page by page (a hang), and a shrinking mremap with a huge old length unmapped
 * everything above the address, the stack included.
 */
#include "guest.h"
#include <pthread.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define PAGE 4096UL
#define ITER 200000

static long counter;

static void *adder(void *arg) {
    for (int i = 0; i < ITER; i++) __atomic_fetch_add(&counter, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

/* Two threads add with lock-prefixed instructions: exact only if the atomics are really atomic. */
static void check_atomics(const char *when) {
    counter = 0;
    pthread_t a, b;
    pthread_create(&a, NULL, adder, NULL);
    pthread_create(&b, NULL, adder, NULL);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    CHECK(counter == 2L * ITER, "atomics exact %s (%ld)", when, counter);
}

int main(void) {
    uintptr_t code = (uintptr_t)adder & ~(PAGE - 1);
    check_atomics("before");

    /* munmap refused: unaligned address; a length past the end of the address space. */
    EXPECT_ERRNO(munmap((void *)(code + 1), PAGE), EINVAL, "munmap unaligned inside the code");
    EXPECT_ERRNO(munmap((void *)code, 1UL << 62), EINVAL, "munmap of the code with a length past the space");
    EXPECT_ERRNO(munmap((void *)code, 0), EINVAL, "munmap of the code with length 0");
    check_atomics("after refused munmaps");

    /* mprotect adding PROT_EXEC with a huge length: ENOMEM at the first hole, at once. */
    /* A page followed by a hole, so that Linux stops at it (it changes the mapped prefix). */
    char *page = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(page != MAP_FAILED && munmap(page + PAGE, PAGE) == 0, "mmap a page before a hole");
    EXPECT_ERRNO(mprotect(page, 1UL << 46, PROT_READ | PROT_EXEC), ENOMEM, "mprotect exec with a 64 TiB length");
    EXPECT_ERRNO(mprotect(page, (size_t)-PAGE, PROT_READ | PROT_EXEC), ENOMEM, "mprotect exec with a wrapping length");
    /* The mapped prefix was changed (Linux changes up to the first hole). */
    unsigned char vec;
    CHECK(mincore(page, PAGE, &vec) == 0, "the page is still mapped");

    /* mremap shrinking with an old length past the space: EINVAL, nothing unmapped. */
    char *two = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(two != MAP_FAILED, "mmap two pages");
    two[PAGE] = 7;
    EXPECT_ERRNO(mremap(two, 1UL << 47, PAGE, 0), EINVAL, "mremap shrink with a 128 TiB old length");
    EXPECT_ERRNO(mremap(two, 1UL << 62, PAGE, MREMAP_MAYMOVE), EINVAL, "mremap shrink (may move) with a 2^62 old length");
    CHECK(two[PAGE] == 7, "the second page is still mapped with its contents");
    volatile char on_stack[64];
    on_stack[0] = 1;
    CHECK(on_stack[0] == 1, "the stack is still there");
    check_atomics("after refused mprotect and mremap");

    /* x86 has no execute-only or write-only pages: both read fine, in code and in syscalls. */
    char *xo = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    xo[0] = 42;
    xo[1] = 43;
    CHECK(mprotect(xo, PAGE, PROT_EXEC) == 0, "mprotect exec-only");
    CHECK(*(volatile char *)xo == 42, "an exec-only page reads");
    int fds[2];
    char got[2] = {0, 0};
    CHECK(pipe(fds) == 0, "pipe");
    CHECK(write(fds[1], xo, 2) == 2 && read(fds[0], got, 2) == 2 && got[1] == 43, "write() from an exec-only page");
    CHECK(mprotect(xo, PAGE, PROT_WRITE) == 0, "mprotect write-only");
    CHECK(*(volatile char *)xo == 42, "a write-only page reads");
    xo[2] = 44;
    CHECK(write(fds[1], xo + 1, 2) == 2 && read(fds[0], got, 2) == 2 && got[0] == 43 && got[1] == 44,
          "write() from a write-only page");

    /* A 1 GiB RWX heap, as JITs reserve: nothing in it to scan for atomics until code is written. */
    char *heap = mmap(NULL, 1UL << 30, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    CHECK(heap != MAP_FAILED, "mmap a 1 GiB RWX heap");
    heap[12345] = 1;
    CHECK(mprotect(heap, 1UL << 30, PROT_READ | PROT_WRITE) == 0 && mprotect(heap, 1UL << 30, PROT_READ | PROT_EXEC) == 0,
          "mprotect it RW, then RX again");
    CHECK(heap[12345] == 1 && munmap(heap, 1UL << 30) == 0, "read and unmap it");
    check_atomics("after the RWX heap");

    /* Commit limit (Linux's heuristic overcommit): one request for more than RAM + swap is
     * refused; MAP_NORESERVE and read-only private mappings are not accounted. 512 GiB is more
     * than this machine has (the differential run is the oracle). */
    {
        size_t huge = 1UL << 39;
        void *p = mmap(NULL, huge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        printf("mmap(512 GiB, RW, private anon): %s\n", p == MAP_FAILED ? strerrorname_np(errno) : "mapped");
        if (p != MAP_FAILED) munmap(p, huge);
        p = mmap(NULL, huge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        printf("mmap(512 GiB, RW, private anon, MAP_NORESERVE): %s\n", p == MAP_FAILED ? strerrorname_np(errno) : "mapped");
        if (p != MAP_FAILED) munmap(p, huge);
        p = mmap(NULL, huge, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        printf("mmap(512 GiB, read-only, private anon): %s\n", p == MAP_FAILED ? strerrorname_np(errno) : "mapped");
        if (p != MAP_FAILED) munmap(p, huge);
        char *cur = sbrk(0);
        CHECK(syscall(SYS_brk, cur + huge) == (long)cur, "brk(+512 GiB) is refused: the break stays");
        CHECK(sbrk(0) == cur, "sbrk(0) unchanged");
    }
    return guest_done();
}
