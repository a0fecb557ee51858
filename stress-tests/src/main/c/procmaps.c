/* procmaps: /proc/self/cmdline, environ and auxv are this program's (argv and envp as NUL-separated
 * strings, the auxiliary vector getauxval reads); /proc/self/maps describes this process's memory as the kernel prints it: the code
 * of main is an executable mapping of this program (by its resolved path); a local variable lies
 * in [stack]; brk memory in [heap]; an anonymous mapping with the protection mprotect gave it; a
 * file mapping with its path and offset; glibc's pthread_getattr_np (which reads this file for the
 * main thread) returns a stack that holds a local variable. Prints only invariants. */
#include "guest.h"
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <unistd.h>

struct line { uintptr_t start, end; char perms[5]; unsigned long offset; char name[PATH_MAX]; };

static int find(uintptr_t addr, struct line *out) {
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f) return 0;
    char buf[PATH_MAX + 128];
    int found = 0;
    while (!found && fgets(buf, sizeof buf, f)) {
        struct line l;
        unsigned dmaj, dmin;
        unsigned long ino;
        int pos = 0;
        l.name[0] = 0;
        if (sscanf(buf, "%lx-%lx %4s %lx %x:%x %lu %n", &l.start, &l.end, l.perms, &l.offset, &dmaj, &dmin, &ino, &pos) < 7) continue;
        if (pos > 0) {
            snprintf(l.name, sizeof l.name, "%s", buf + pos);
            l.name[strcspn(l.name, "\n")] = 0;
        }
        if (addr >= l.start && addr < l.end) {
            *out = l;
            found = 1;
        }
    }
    fclose(f);
    return found;
}

extern char **environ;

static size_t slurp(const char *path, char *buf, size_t cap) {
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    size_t n = fread(buf, 1, cap, f);
    fclose(f);
    return n;
}

/* argv or envp as the kernel shows it: each string and its NUL */
static size_t joined(char **v, char *buf, size_t cap) {
    size_t n = 0;
    for (; *v; v++) {
        size_t l = strlen(*v) + 1;
        if (n + l > cap) break;
        memcpy(buf + n, *v, l);
        n += l;
    }
    return n;
}

int main(int argc, char **argv) {
    static char got[65536], want[65536];
    size_t g = slurp("/proc/self/cmdline", got, sizeof got), w = joined(argv, want, sizeof want);
    CHECK(g == w && !memcmp(got, want, g), "/proc/self/cmdline is argv");
    g = slurp("/proc/self/environ", got, sizeof got);
    w = joined(environ, want, sizeof want);
    CHECK(g == w && !memcmp(got, want, g), "/proc/self/environ is the initial environment");
    unsigned long ent[2] = {0, 0};
    int pagesz = 0, entry = 0;
    FILE *af = fopen("/proc/self/auxv", "r");
    while (af && fread(ent, sizeof ent, 1, af) == 1 && ent[0] != AT_NULL) {
        if (ent[0] == AT_PAGESZ) pagesz = ent[1] == getauxval(AT_PAGESZ);
        if (ent[0] == AT_ENTRY) entry = ent[1] == getauxval(AT_ENTRY); /* glibc rewrites its AT_HWCAP copy */
    }
    if (af) fclose(af);
    CHECK(pagesz && entry, "/proc/self/auxv holds what getauxval reads (AT_PAGESZ, AT_ENTRY)");
    struct line l;
    char *self = realpath("/proc/self/exe", NULL);
    CHECK(find((uintptr_t)&main, &l) && l.perms[2] == 'x' && l.perms[3] == 'p' && self && !strcmp(l.name, self),
          "main's code: an executable private mapping of this program");
    volatile int local = 1;
    CHECK(find((uintptr_t)&local, &l) && !strcmp(l.name, "[stack]") && !strncmp(l.perms, "rw", 2), "a local: [stack], rw");
    void *cur = sbrk(0);
    sbrk(4096);
    CHECK(find((uintptr_t)cur, &l) && !strcmp(l.name, "[heap]"), "brk memory: [heap]");
    long pg = sysconf(_SC_PAGESIZE);
    char *a = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    mprotect(a + pg, pg, PROT_READ);
    CHECK(find((uintptr_t)a, &l) && !strcmp(l.perms, "rw-p") && l.name[0] == 0 && l.end == (uintptr_t)(a + pg),
          "anonymous mapping: rw-p, no name, split by mprotect");
    CHECK(find((uintptr_t)(a + pg), &l) && !strcmp(l.perms, "r--p"), "its mprotected half: r--p");
    int fd = open("/proc/self/exe", O_RDONLY);
    char *fm = mmap(NULL, pg, PROT_READ, MAP_SHARED, fd, pg);
    CHECK(fm != MAP_FAILED && find((uintptr_t)fm, &l) && !strcmp(l.perms, "r--s") && l.offset == (unsigned long)pg
          && self && !strcmp(l.name, self), "file mapping: r--s, its path and offset");
    pthread_attr_t at;
    void *stack = NULL;
    size_t size = 0;
    CHECK(pthread_getattr_np(pthread_self(), &at) == 0 && pthread_attr_getstack(&at, &stack, &size) == 0
          && (uintptr_t)&local >= (uintptr_t)stack && (uintptr_t)&local < (uintptr_t)stack + size,
          "pthread_getattr_np: the main thread's stack holds a local");
    free(self);
    return guest_done();
}
