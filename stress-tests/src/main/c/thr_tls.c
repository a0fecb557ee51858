/* thr_tls: __thread variables: every thread starts with the initial values of .tdata and zeroed
 * .tbss, sees its own copy (distinct addresses, writes invisible to others), at the same offset
 * from its thread pointer; alignment of an over-aligned TLS variable holds. */
#include "guest.h"
#include <pthread.h>
#include <stdint.h>

#define NT 16

__thread int tdata = 1234;
__thread long long tdata64 = 0x1122334455667788LL;
__thread char tstr[32] = "initial tls string";
__thread long tbss;
__thread char tbss_arr[4096];
__thread int tal __attribute__((aligned(64))) = 77;

struct seen {
    uintptr_t addr, tp;
    int init_ok, own_ok, zero_ok, align_ok;
};
static struct seen seen[NT + 1];
static pthread_barrier_t bar;

static void run(int id) {
    struct seen *s = &seen[id];
    int zero = tbss == 0;
    for (int k = 0; k < 4096; k++) zero &= tbss_arr[k] == 0;
    s->zero_ok = zero;
    s->init_ok = tdata == 1234 && tdata64 == 0x1122334455667788LL && strcmp(tstr, "initial tls string") == 0 && tal == 77;
    s->align_ok = ((uintptr_t)&tal % 64) == 0;
    s->addr = (uintptr_t)&tdata;
    s->tp = (uintptr_t)__builtin_thread_pointer();
    tdata = id * 10;
    tdata64 = id * 1000000007LL;
    snprintf(tstr, sizeof tstr, "thread %d", id);
    tbss = -id;
    memset(tbss_arr, id, sizeof tbss_arr);
    tal = id + 5;
    pthread_barrier_wait(&bar); /* everyone has written its own copy */
    char want[32];
    snprintf(want, sizeof want, "thread %d", id);
    int own = tdata == id * 10 && tdata64 == id * 1000000007LL && strcmp(tstr, want) == 0 && tbss == -id && tal == id + 5;
    for (int k = 0; k < 4096; k++) own &= tbss_arr[k] == (char)id;
    s->own_ok = own;
}

static void *thread(void *arg) {
    run((int)(intptr_t)arg);
    return NULL;
}

int main(int argc, char **argv) {
    pthread_barrier_init(&bar, NULL, NT + 1);
    pthread_t th[NT];
    for (int i = 1; i <= NT; i++) pthread_create(&th[i - 1], NULL, thread, (void *)(intptr_t)i);
    run(0);
    for (int i = 0; i < NT; i++) pthread_join(th[i], NULL);
    int init = 1, own = 1, zero = 1, align = 1, distinct = 1, offset = 1;
    for (int i = 0; i <= NT; i++) {
        init &= seen[i].init_ok;
        own &= seen[i].own_ok;
        zero &= seen[i].zero_ok;
        align &= seen[i].align_ok;
        if (seen[i].addr - seen[i].tp != seen[0].addr - seen[0].tp) offset = 0;
        for (int j = 0; j < i; j++) if (seen[i].addr == seen[j].addr || seen[i].tp == seen[j].tp) distinct = 0;
    }
    CHECK(init, "every thread starts with the .tdata initial values");
    CHECK(zero, "every thread starts with zeroed .tbss");
    CHECK(own, "every thread keeps its own values while others write theirs");
    CHECK(distinct, "TLS addresses and thread pointers differ between threads");
    CHECK(offset, "a TLS variable is at the same offset from every thread pointer");
    CHECK(align, "64-byte aligned TLS variable aligned in every thread");
    CHECK(tdata == 0 && tbss == 0, "main thread's copy unchanged by the others");
    return guest_done();
}
