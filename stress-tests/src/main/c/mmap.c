/* mmap: anonymous and file mappings, mprotect, mremap, partial munmap, MAP_FIXED. */
#include "guest.h"
#include <fcntl.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#define PG 4096

int main(int argc, char **argv) {
    unsigned char *p = mmap(NULL, 16 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(p != MAP_FAILED, "mmap 16 pages");
    CHECK(((uintptr_t)p % PG) == 0, "page aligned");
    int zero = 1;
    for (int i = 0; i < 16 * PG; i += 512) zero &= p[i] == 0;
    CHECK(zero, "anonymous memory is zero");
    for (int i = 0; i < 16 * PG; i++) p[i] = (unsigned char)(i ^ (i >> 8));
    CHECK(p[16 * PG - 1] == (unsigned char)((16 * PG - 1) ^ ((16 * PG - 1) >> 8)), "last byte written");

    CHECK(mprotect(p + 4 * PG, 4 * PG, PROT_READ) == 0, "mprotect 4 middle pages read-only");
    CHECK(p[4 * PG] == (unsigned char)(4 * PG ^ (4 * PG >> 8)), "read-only pages keep contents");
    CHECK(mprotect(p + 4 * PG, 4 * PG, PROT_READ | PROT_WRITE) == 0, "mprotect back to read-write");
    p[4 * PG] = 1;
    CHECK(p[4 * PG] == 1, "writable again");

    CHECK(munmap(p + 8 * PG, 4 * PG) == 0, "munmap a 4-page hole");
    CHECK(msync(p, PG, MS_ASYNC) == 0, "msync below the hole");
    errno = 0;
    CHECK(msync(p + 8 * PG, PG, MS_ASYNC) == -1 && errno == ENOMEM, "msync in the hole: ENOMEM");
    unsigned char *f = mmap(p + 8 * PG, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    CHECK(f == p + 8 * PG, "MAP_FIXED into the hole");
    CHECK(f[0] == 0 && f[2 * PG - 1] == 0, "fixed mapping is zero");
    unsigned char *nr = mmap(p, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    CHECK(nr == MAP_FAILED && errno == EEXIST, "MAP_FIXED_NOREPLACE over a mapping: EEXIST");
    unsigned char *over = mmap(p + 12 * PG, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    CHECK(over == p + 12 * PG && over[0] == 0, "MAP_FIXED replaces a page and zeroes it");
    CHECK(p[13 * PG] == (unsigned char)(13 * PG ^ (13 * PG >> 8)), "neighbouring page untouched");

    /* mremap: grow in place or move, contents preserved. */
    unsigned char *m = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    for (int i = 0; i < 4 * PG; i++) m[i] = (unsigned char)(i * 13);
    unsigned char *m2 = mremap(m, 4 * PG, 64 * PG, MREMAP_MAYMOVE);
    CHECK(m2 != MAP_FAILED, "mremap grow to 64 pages");
    int same = 1;
    for (int i = 0; i < 4 * PG; i++) same &= m2[i] == (unsigned char)(i * 13);
    CHECK(same, "mremap keeps contents");
    CHECK(m2[64 * PG - 1] == 0, "grown part is zero");
    m2[64 * PG - 1] = 9;
    unsigned char *m3 = mremap(m2, 64 * PG, 2 * PG, 0);
    CHECK(m3 == m2 && m3[PG] == (unsigned char)(PG * 13), "mremap shrink in place");
    CHECK(munmap(m3, 2 * PG) == 0, "munmap the remapped block");
    errno = 0;
    CHECK(mremap(p, PG, 2 * PG, 0) == MAP_FAILED && errno == ENOMEM, "mremap grow without MAYMOVE into a mapped neighbour: ENOMEM");

    /* File mapping of this program: starts with the ELF magic. */
    int fd = open(argv[0], O_RDONLY);
    CHECK(fd >= 0, "open own executable");
    unsigned char *e = mmap(NULL, PG, PROT_READ, MAP_PRIVATE, fd, 0);
    CHECK(e != MAP_FAILED && memcmp(e, "\177ELF", 4) == 0, "file mapping shows the ELF magic");
    close(fd);
    CHECK(e[4] == 2, "ELFCLASS64 (mapping survives close)");
    munmap(e, PG);
    /* Private file mapping, written: copy-on-write, the file is unchanged. */
    char path[] = "/tmp/herd-mmap-XXXXXX";
    fd = mkstemp(path);
    CHECK(fd >= 0 && write(fd, "abcdefgh", 8) == 8, "temp file");
    unlink(path);
    char *w = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    CHECK(w != MAP_FAILED && memcmp(w, "abcdefgh", 8) == 0, "private file mapping reads the file");
    w[0] = 'X';
    char back[8];
    CHECK(pread(fd, back, 8, 0) == 8 && back[0] == 'a', "private write does not reach the file");
    char *s = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    CHECK(s != MAP_FAILED, "shared file mapping");
    s[1] = 'Y';
    CHECK(pread(fd, back, 8, 0) == 8 && back[1] == 'Y', "shared write reaches the file");
    close(fd);

    errno = 0;
    CHECK(mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == MAP_FAILED && errno == EINVAL, "length 0: EINVAL");
    errno = 0;
    CHECK(munmap(p + 1, PG) == -1 && errno == EINVAL, "unaligned munmap: EINVAL");
    errno = 0;
    CHECK(mprotect(p + 1, PG, PROT_READ) == -1 && errno == EINVAL, "unaligned mprotect: EINVAL");
    CHECK(munmap(p, 16 * PG) == 0, "munmap across the hole and pieces");
    /* munmap of something already unmapped succeeds */
    CHECK(munmap(p, PG) == 0, "munmap unmapped range succeeds");
    /* large mapping, touched sparsely */
    unsigned char *big = mmap(NULL, 256u << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    CHECK(big != MAP_FAILED, "256 MiB mapping");
    for (size_t i = 0; i < (256u << 20); i += 1u << 20) big[i] = 1;
    CHECK(big[255u << 20] == 1, "touched every MiB");
    CHECK(munmap(big, 256u << 20) == 0, "munmap 256 MiB");
    /* mincore: a touched anonymous page is resident; unmapped range ENOMEM; unaligned EINVAL */
    {
        long pgsz = sysconf(_SC_PAGESIZE);
        unsigned char vec[4];
        char *m = mmap(NULL, 4 * pgsz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        m[0] = 1;
        m[2 * pgsz] = 1;
        CHECK(mincore(m, 4 * pgsz, vec) == 0 && (vec[0] & 1) && (vec[2] & 1), "mincore: touched pages are resident");
        munmap(m + 3 * pgsz, pgsz);
        EXPECT_ERRNO(mincore(m, 4 * pgsz, vec), ENOMEM, "mincore over an unmapped page");
        EXPECT_ERRNO(mincore(m + 1, pgsz, vec), EINVAL, "mincore at an unaligned address");
        EXPECT_ERRNO(mincore(m, pgsz, guest_bad_ptr(16)), EFAULT, "mincore into a bad vector");
        munmap(m, 3 * pgsz);
    }
    return guest_done();
}
