/* Syscall numbers no kernel has: -1/ENOSYS every time; only the number's low 32 bits count. Under herd each distinct unknown number
 * also gets exactly one warning line on stderr (checked by CliTest, not by the differential run). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static void call(long nr) {
    errno = 0;
    long r = syscall(nr, 1, 2, 3);
    printf("syscall(%ld) = %ld errno=%s\n", nr, r, strerrorname_np(errno));
}

int main(void) {
    call(100000);
    call(100000);
    call(99999);
    call(100000);
    /* Linux uses the low 32 bits of the number: this is 100000 again (no new warning) ... */
    call((1L << 32) | 100000);
    /* ... and this is getpid */
    printf("syscall(1<<32 | SYS_getpid) is getpid: %d\n", syscall((1L << 32) | SYS_getpid) == getpid());
    return 0;
}
