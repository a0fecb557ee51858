/* getppid [N]: N raw getppid system calls (default 1,000,000): the syscall round trip. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 1000000;
    long sum = 0;
    for (long i = 0; i < n; i++) sum += syscall(SYS_getppid) > 0;
    printf("getppid: %ld calls, %ld positive\n", n, sum);
    return sum == n ? 0 : 1;
}
