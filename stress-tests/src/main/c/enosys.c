/* Syscall numbers no kernel has: -1/ENOSYS every time. Under herd each distinct unknown number
 * also gets exactly one warning line on stderr (checked by CliTest, not by the differential run). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
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
    return 0;
}
