/* readlink: /proc/self/exe names this program. */
#include "guest.h"
#include <limits.h>
#include <unistd.h>

int main(int argc, char **argv) {
    char exe[PATH_MAX + 1];
    ssize_t n = readlink("/proc/self/exe", exe, PATH_MAX);
    CHECK(n > 0, "readlink /proc/self/exe");
    if (n < 0) n = 0;
    exe[n] = 0;
    const char *base = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
    size_t bl = strlen(base);
    CHECK((size_t)n > bl && exe[n - bl - 1] == '/' && strcmp(exe + n - bl, base) == 0, "ends with /%s", base);
    CHECK(exe[0] == '/', "is absolute");
    char small[4];
    CHECK(readlink("/proc/self/exe", small, sizeof small) == sizeof small, "truncates to the buffer size");
    return guest_done();
}
