/* Helpers shared by the guest programs. Every check prints one deterministic line; the program
 * exits 0 if all checks held and 1 otherwise, so a differential test compares both the lines and
 * the verdict. Never print values that legitimately differ between runs (times, addresses, pids). */
#ifndef HERD_GUEST_H
#define HERD_GUEST_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int guest_failures;

/* CHECK(cond, "what"): prints "ok: what" or "FAIL: what (errno=NAME)". */
#define CHECK(cond, ...) guest_check(!!(cond), __LINE__, __VA_ARGS__)

static void guest_check(int ok, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#include <stdarg.h>
static void guest_check(int ok, int line, const char *fmt, ...) {
    int saved = errno;
    va_list ap;
    fputs(ok ? "ok: " : "FAIL: ", stdout);
    va_start(ap, fmt);
    vfprintf(stdout, fmt, ap);
    va_end(ap);
    if (!ok) {
        printf(" (line %d, errno %d %s)", line, saved, strerrorname_np(saved) ? strerrorname_np(saved) : "?");
        guest_failures++;
    }
    fputc('\n', stdout);
    errno = saved;
}

/* Expect a -1 return with a given errno; prints the errno's name and message either way. */
#define EXPECT_ERRNO(expr, want, what) do { \
        errno = 0; \
        long r_ = (long)(expr); \
        int e_ = errno; \
        printf("%s: ret=%ld errno=%s (%s)\n", (what), r_, e_ ? strerrorname_np(e_) : "0", strerror(e_)); \
        if (r_ != -1 || e_ != (want)) { printf("FAIL: %s expected errno %s\n", (what), strerrorname_np(want)); guest_failures++; } \
    } while (0)

/* A pointer the compiler cannot see through (so it does not warn about deliberate bad pointers). */
static inline void *guest_bad_ptr(unsigned long addr) {
    void *volatile p = (void *)addr;
    return p;
}

static int guest_done(void) {
    printf("%s\n", guest_failures ? "RESULT: FAIL" : "RESULT: ok");
    fflush(stdout);
    return guest_failures ? 1 : 0;
}

#endif
