/* sieve [N]: sieve of Eratosthenes up to N (default 20,000,000) in a byte array: store-heavy. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 20000000L;
    unsigned char *composite = malloc(n + 1);
    if (!composite) return 2;
    memset(composite, 0, n + 1);
    for (long i = 2; i * i <= n; i++)
        if (!composite[i])
            for (long j = i * i; j <= n; j += i) composite[j] = 1;
    long count = 0;
    for (long i = 2; i <= n; i++) count += !composite[i];
    printf("sieve: %ld primes up to %ld\n", count, n);
    free(composite);
    return 0;
}
