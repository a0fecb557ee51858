/* thr_malloc: many short-lived threads, 8 at a time, each allocating, filling, checking and
 * freeing blocks of small, medium and mmap-sized (>128 KiB) lengths with realloc and calloc, and
 * handing one block to the next generation to free (cross-thread free between glibc arenas). */
#include "guest.h"
#include <pthread.h>
#include <stdint.h>

#define NT 8

static int bad;
static unsigned char *handoff[NT];

static uint32_t next(uint32_t *s) {
    *s ^= *s << 13; *s ^= *s >> 17; *s ^= *s << 5;
    return *s;
}

static void *work(void *arg) {
    unsigned id = (unsigned)(uintptr_t)arg;
    uint32_t seed = id * 2654435761u + 1;
    unsigned slot = id % NT;
    /* Free the block the previous thread in this slot left, after checking it. */
    unsigned char *prev = handoff[slot];
    if (prev) {
        for (int k = 0; k < 3000; k++) if (prev[k] != (unsigned char)(prev[0] + k)) { bad = 1; break; }
        free(prev);
    }
    enum { N = 40 };
    unsigned char *p[N];
    size_t len[N];
    for (int i = 0; i < N; i++) {
        uint32_t r = next(&seed);
        len[i] = (i % 10 == 9) ? 130000 + r % 70000 : (i % 3 == 0 ? 16 + r % 64 : 100 + r % 4000);
        p[i] = (i & 1) ? malloc(len[i]) : calloc(1, len[i]);
        if (!p[i]) { bad = 1; return NULL; }
        if (!(i & 1)) for (size_t k = 0; k < len[i]; k += 97) if (p[i][k]) bad = 1;
        memset(p[i], (int)(id + i), len[i]);
    }
    for (int i = 0; i < N; i += 4) {
        size_t nl = len[i] * 2 + 10;
        unsigned char *q = realloc(p[i], nl);
        if (!q) { bad = 1; return NULL; }
        for (size_t k = 0; k < len[i]; k++) if (q[k] != (unsigned char)(id + i)) { bad = 1; break; }
        memset(q, (int)(id + i), nl);
        p[i] = q;
        len[i] = nl;
    }
    for (int i = 0; i < N; i++) {
        for (size_t k = 0; k < len[i]; k += 31) if (p[i][k] != (unsigned char)(id + i)) bad = 1;
        free(p[i]);
    }
    unsigned char *h = malloc(3000);
    for (int k = 0; k < 3000; k++) h[k] = (unsigned char)(id + k);
    handoff[slot] = h;
    return NULL;
}

int main(int argc, char **argv) {
    int gens = argc > 1 ? atoi(argv[1]) : 25;
    int ok = 1;
    for (int g = 0; g < gens; g++) {
        pthread_t th[NT];
        for (int i = 0; i < NT; i++) ok &= pthread_create(&th[i], NULL, work, (void *)(uintptr_t)(g * NT + i)) == 0;
        for (int i = 0; i < NT; i++) ok &= pthread_join(th[i], NULL) == 0;
    }
    for (int i = 0; i < NT; i++) {
        if (handoff[i]) {
            for (int k = 0; k < 3000; k++) if (handoff[i][k] != (unsigned char)(handoff[i][0] + k)) bad = 1;
            free(handoff[i]);
        }
    }
    CHECK(ok, "%d short-lived threads created and joined", gens * NT);
    CHECK(!bad, "every block allocated, filled, checked and freed intact (incl. cross-thread frees)");
    return guest_done();
}
