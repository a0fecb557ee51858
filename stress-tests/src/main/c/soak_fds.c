/* soak_fds [WARMUP] [ROUNDS]: per round open /dev/null, dup, dup2, fcntl(F_DUPFD_CLOEXEC), pipe,
 * socketpair, write and read through both, close everything; ROUNDS (default 20000) after WARMUP
 * (500). Fails if the lowest free descriptor moves (a descriptor leaked). See soak.h. */
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include "soak.h"

static int failures;

static void round_trip(void) {
    int a = open("/dev/null", O_RDWR | O_CLOEXEC);
    int b = dup(a), c = dup2(a, 100), d = fcntl(a, F_DUPFD_CLOEXEC, 50);
    int p[2], s[2];
    if (a < 0 || b < 0 || c != 100 || d < 50 || pipe(p) != 0 || socketpair(AF_UNIX, SOCK_STREAM, 0, s) != 0) {
        failures++;
        return;
    }
    char buf[4];
    if (write(p[1], "abc", 3) != 3 || read(p[0], buf, 3) != 3 || memcmp(buf, "abc", 3) != 0) failures++;
    if (write(s[0], "xyz", 3) != 3 || read(s[1], buf, 3) != 3 || memcmp(buf, "xyz", 3) != 0) failures++;
    int all[] = {a, b, c, d, p[0], p[1], s[0], s[1]};
    for (int i = 0; i < 8; i++) if (close(all[i]) != 0) failures++;
}

static void run(long n) { for (long i = 0; i < n; i++) round_trip(); }

int main(int argc, char **argv) {
    long warm = soak_arg(argc, argv, 1, 500), total = soak_arg(argc, argv, 2, 20000);
    run(warm);
    int low = dup(0);
    close(low);
    soak_pause("READY");
    run(total);
    int low2 = dup(0);
    close(low2);
    if (low2 != low) failures++;
    printf("fd rounds: %ld, lowest free fd unchanged: %s, failures: %d\n", total, low2 == low ? "yes" : "NO", failures);
    soak_pause("DONE");
    return failures == 0 ? 0 : 1;
}
