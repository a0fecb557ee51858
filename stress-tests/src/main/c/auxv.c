/* auxv [ARGS...]: prints argc, argv, the environment (sorted) and the auxiliary-vector entries
 * whose values are the same natively and under an emulator. Values that legitimately differ
 * (AT_RANDOM bytes, AT_HWCAP bits, AT_SYSINFO_EHDR, stack addresses) are reduced to invariants. */
#include "guest.h"
#include <elf.h>
#include <link.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

extern char **environ;
extern char _start[];

static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int main(int argc, char **argv) {
    printf("argc=%d\n", argc);
    for (int i = 0; i < argc; i++)
        printf("argv[%d]=\"%s\"\n", i, argv[i]);
    CHECK(argv[argc] == NULL, "argv is NULL-terminated");

    size_t n = 0;
    while (environ[n]) n++;
    char **env = malloc((n + 1) * sizeof *env);
    memcpy(env, environ, n * sizeof *env);
    qsort(env, n, sizeof *env, cmp);
    printf("envc=%zu\n", n);
    for (size_t i = 0; i < n; i++)
        printf("env: %s\n", env[i]);
    const char *v = getenv("HERD_TEST_VAR");
    printf("HERD_TEST_VAR=%s\n", v ? v : "(unset)");
    /* environ follows argv on the initial stack */
    CHECK(environ == argv + argc + 1, "environ directly follows argv");

    printf("AT_PAGESZ=%lu\n", getauxval(AT_PAGESZ));
    CHECK(getauxval(AT_PAGESZ) == (unsigned long)sysconf(_SC_PAGESIZE), "AT_PAGESZ == sysconf(_SC_PAGESIZE)");
    printf("AT_CLKTCK=%lu\n", getauxval(AT_CLKTCK));
    printf("AT_PHENT=%lu\n", getauxval(AT_PHENT));
    printf("AT_PHNUM=%lu\n", getauxval(AT_PHNUM));
    CHECK(getauxval(AT_PHDR) != 0, "AT_PHDR present");
    {
        const ElfW(Phdr) *ph = (const ElfW(Phdr) *)getauxval(AT_PHDR);
        int load = 0;
        for (unsigned long i = 0; ph && i < getauxval(AT_PHNUM); i++)
            if (ph[i].p_type == PT_LOAD) load++;
        CHECK(load > 0, "AT_PHDR points at program headers with a PT_LOAD");
    }
    CHECK(getauxval(AT_ENTRY) == (unsigned long)_start, "AT_ENTRY == _start");
    printf("AT_BASE=%lu\n", getauxval(AT_BASE));
    printf("AT_FLAGS=%lu\n", getauxval(AT_FLAGS));
    printf("AT_UID==getuid: %d\n", getauxval(AT_UID) == getuid());
    printf("AT_EUID==geteuid: %d\n", getauxval(AT_EUID) == geteuid());
    printf("AT_GID==getgid: %d\n", getauxval(AT_GID) == getgid());
    printf("AT_EGID==getegid: %d\n", getauxval(AT_EGID) == getegid());
    printf("AT_SECURE=%lu\n", getauxval(AT_SECURE));
    CHECK(getauxval(AT_HWCAP) != 0, "AT_HWCAP non-zero");
    const char *platform = (const char *)getauxval(AT_PLATFORM);
    printf("AT_PLATFORM=%s\n", platform ? platform : "(none)");
    const char *execfn = (const char *)getauxval(AT_EXECFN);
    CHECK(execfn != NULL && strcmp(execfn, argv[0]) == 0, "AT_EXECFN equals argv[0]");
    const unsigned char *rnd = (const unsigned char *)getauxval(AT_RANDOM);
    CHECK(rnd != NULL, "AT_RANDOM present");
    if (rnd) {
        int nonzero = 0;
        for (int i = 0; i < 16; i++) nonzero |= rnd[i];
        CHECK(nonzero, "AT_RANDOM's 16 bytes are not all zero");
    }
    return guest_done();
}
