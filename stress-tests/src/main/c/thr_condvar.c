/* thr_condvar: a bounded buffer (8 slots) with 3 producers and 3 consumers on a mutex and two
 * condition variables; every item is consumed exactly once (count, sum and a checksum), and every
 * consumer sees each producer's items in increasing order. */
#include "guest.h"
#include <pthread.h>
#include <stdint.h>

#define NP 3
#define NC 3
#define CAP 8

static long items;
static long buf[CAP];
static int head, tail, count;
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t not_full = PTHREAD_COND_INITIALIZER, not_empty = PTHREAD_COND_INITIALIZER;
static int max_count, order_errors;

struct cres { long n; uint64_t sum, hash; };
static struct cres results[NC];

static void put(long v) {
    pthread_mutex_lock(&m);
    while (count == CAP) pthread_cond_wait(&not_full, &m);
    buf[tail] = v;
    tail = (tail + 1) % CAP;
    count++;
    if (count > max_count) max_count = count;
    pthread_cond_signal(&not_empty);
    pthread_mutex_unlock(&m);
}

static long take(void) {
    pthread_mutex_lock(&m);
    while (count == 0) pthread_cond_wait(&not_empty, &m);
    long v = buf[head];
    head = (head + 1) % CAP;
    count--;
    pthread_cond_signal(&not_full);
    pthread_mutex_unlock(&m);
    return v;
}

static uint64_t mix(uint64_t v) {
    v ^= v >> 33; v *= 0xff51afd7ed558ccdULL; v ^= v >> 33; v *= 0xc4ceb9fe1a85ec53ULL; v ^= v >> 33;
    return v;
}

static void *producer(void *arg) {
    long p = (intptr_t)arg;
    for (long k = 0; k < items; k++) put(p * items + k);
    return NULL;
}

static void *consumer(void *arg) {
    struct cres *r = arg;
    long last[NP];
    for (int p = 0; p < NP; p++) last[p] = -1;
    for (;;) {
        long v = take();
        if (v < 0) break;
        long p = v / items, k = v % items;
        if (k <= last[p]) order_errors++; /* racy increment is fine: it should stay 0 */
        last[p] = k;
        r->n++;
        r->sum += v;
        r->hash += mix(v);
    }
    return NULL;
}

int main(int argc, char **argv) {
    items = argc > 1 ? atol(argv[1]) : 20000;
    pthread_t pt[NP], ct[NC];
    for (int c = 0; c < NC; c++) pthread_create(&ct[c], NULL, consumer, &results[c]);
    for (int p = 0; p < NP; p++) pthread_create(&pt[p], NULL, producer, (void *)(intptr_t)p);
    for (int p = 0; p < NP; p++) pthread_join(pt[p], NULL);
    for (int c = 0; c < NC; c++) put(-1);
    for (int c = 0; c < NC; c++) pthread_join(ct[c], NULL);

    long n = 0;
    uint64_t sum = 0, hash = 0, wsum = 0, whash = 0;
    for (int c = 0; c < NC; c++) { n += results[c].n; sum += results[c].sum; hash += results[c].hash; }
    for (long v = 0; v < NP * items; v++) { wsum += v; whash += mix(v); }
    CHECK(n == NP * items, "every item consumed once (count)");
    CHECK(sum == wsum, "sum of consumed items exact");
    CHECK(hash == whash, "checksum of consumed items exact");
    CHECK(order_errors == 0, "each consumer sees each producer's items in order");
    CHECK(max_count <= CAP && count == 0, "buffer never over capacity, empty at the end");
    return guest_done();
}
