/* thr_mmrace [FLIPS]: a thread touches its own pages while another thread keeps changing the pages
 * between them (issue 9).
 *
 * Layout: 15 adjacent pages [own0][mid1][own1][mid2] ... [mid7][own7]. The own pages stay
 * read-write for the whole run; the main thread flips the middle pages, one after the other, FLIPS
 * times (default 300) between read-write and PROT_NONE with mprotect, then FLIPS times between
 * unmapped and mapped read-write (munmap + mmap MAP_FIXED). A toucher thread meanwhile writes own0
 * and reads and writes own1..own7, in one basic block and with no syscall, until the flips are done.
 *
 * Why this is a race under Herd: Herd's Unicorn regions are maximal runs of equal protection, so
 * own(j-1), mid(j) and own(j) are one region while mid(j) is read-write and two otherwise: every
 * flip moves region boundaries around the toucher's pages, while its engine may still run with the
 * previous regions (it is kicked to re-sync, but a data region it touches in between is mapped on
 * first touch from the newest plan). Natively nothing here can fault. Herd used to raise a spurious
 * SIGSEGV (SEGV_ACCERR) when the newest region overlapped a stale one the engine still held. */
#include "guest.h"
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#define PAGE 4096
#define OWN 8                          /* own pages; OWN - 1 middle pages between them */
#define NPAGES (2 * OWN - 1)

static unsigned char *base;
static volatile int done;
static volatile long touches;

#define OWNP(j) ((volatile uint64_t *) (base + 2 * (j) * PAGE))
#define TOUCH(j) do { sum += OWNP(j)[0]; OWNP(j)[0] = i; } while (0)

static void *toucher(void *arg) {
    uint64_t i = 0, sum = 0;
    while (!done) {
        i++;
        OWNP(0)[0] = i;   /* a write first ... */
        TOUCH(1);         /* ... then for each later page a read first, then a write */
        TOUCH(2);
        TOUCH(3);
        TOUCH(4);
        TOUCH(5);
        TOUCH(6);
        TOUCH(7);
        touches = (long) i;
    }
    *(uint64_t *) arg = sum;
    return NULL;
}

int main(int argc, char **argv) {
    long flips = argc > 1 ? atol(argv[1]) : 300;
    if (flips < 1) flips = 1;
    base = mmap(NULL, NPAGES * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(base != MAP_FAILED, "mmap %d pages", NPAGES);
    if (base == MAP_FAILED) return guest_done();
    int bad = 0;
    for (int j = 1; j < OWN; j++) if (mprotect(base + (2 * j - 1) * PAGE, PAGE, PROT_NONE) != 0) bad++;
    CHECK(bad == 0, "middle pages PROT_NONE");

    uint64_t sum = 0;
    pthread_t t;
    CHECK(pthread_create(&t, NULL, toucher, &sum) == 0, "start the toucher");
    while (touches < 2) sched_yield(); /* so the toucher has read back a write of its own */

    bad = 0;
    for (long k = 0; k < flips; k++) {
        unsigned char *mid = base + (2 * (k % (OWN - 1)) + 1) * PAGE;
        if (mprotect(mid, PAGE, PROT_READ | PROT_WRITE) != 0) bad++;
        mid[k % PAGE] = 1;
        if (mprotect(mid, PAGE, PROT_NONE) != 0) bad++;
    }
    CHECK(bad == 0, "%ld mprotect flips of middle pages", flips);

    bad = 0;
    for (long k = 0; k < flips; k++) {
        unsigned char *mid = base + (2 * (k % (OWN - 1)) + 1) * PAGE;
        if (munmap(mid, PAGE) != 0) bad++;
        void *p = mmap(mid, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
        if (p != mid) bad++;
        else mid[k % PAGE] = 1;
    }
    CHECK(bad == 0, "%ld munmap/mmap flips of middle pages", flips);

    done = 1;
    CHECK(pthread_join(t, NULL) == 0, "join the toucher");
    uint64_t last = OWNP(0)[0];
    bad = last == 0;
    for (int j = 1; j < OWN; j++) if (OWNP(j)[0] != last) bad++;
    CHECK(!bad, "every own page holds the toucher's last value");
    CHECK(sum > 0, "the toucher read back its own writes");
    CHECK(munmap(base, NPAGES * PAGE) == 0, "munmap");
    return guest_done();
}
