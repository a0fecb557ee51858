/* hello [STATUS [WORDS...]]: prints a greeting and its arguments, exits with STATUS (default 0).
 * Also built as hello-static-pie (-static-pie) and hello-aarch64 (for the CLI's bad-ELF tests). */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
    printf("hello, world\n");
    for (int i = 2; i < argc; i++)
        printf("word %d: %s\n", i - 1, argv[i]);
    fprintf(stderr, "hello on stderr\n");
    return argc > 1 ? atoi(argv[1]) : 0;
}
