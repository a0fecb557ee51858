/* xorshift [N]: a register-only loop of N xorshift64 steps (default 300,000,000): no memory
 * traffic, so it shows the emulator's translated-code speed. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 300000000L;
    uint64_t x = 88172645463325252ULL;
    for (long i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    printf("xorshift: %ld steps -> %016llx\n", n, (unsigned long long)x);
    return 0;
}
