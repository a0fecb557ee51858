/* getrandom: returns the requested length; two draws differ. */
#include "guest.h"
#include <sys/random.h>

int main(void) {
    static unsigned char a[4096], b[4096];
    size_t sizes[] = {1, 16, 256, 4096};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        CHECK(getrandom(a, sizes[i], 0) == (ssize_t)sizes[i], "getrandom(%zu) returns %zu", sizes[i], sizes[i]);
    }
    CHECK(getrandom(b, 4096, GRND_NONBLOCK) == 4096, "GRND_NONBLOCK 4096");
    CHECK(memcmp(a, b, 4096) != 0, "two 4 KiB draws differ");
    int nonzero = 0;
    for (int i = 0; i < 4096; i++) nonzero += b[i] != 0;
    CHECK(nonzero > 3900, "mostly non-zero bytes");
    errno = 0;
    CHECK(getrandom(guest_bad_ptr(8), 16, 0) == -1 && errno == EFAULT, "bad buffer: EFAULT");
    errno = 0;
    CHECK(getrandom(a, 16, 0x4000) == -1 && errno == EINVAL, "unknown flag: EINVAL");
    return guest_done();
}
