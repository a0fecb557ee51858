/* api_probe MODE ...: small behaviours the embedding-API tests hook (built by dev.herd.TestGuests).
 *   pid              print getpid()
 *   enosys           call syscall 100000 and print the result and errno
 *   cat PATH         print the content of PATH (open/read)
 *   threads N K      N threads each call getpid K times; print "threads done"
 *   echo             for each stdin line: getppid, then print "got LINE"
 *   spin             loop forever calling sched_yield (to be stopped)
 *   stores N         print the address of a page-aligned 4 KiB buffer, then for each stdin line:
 *                    N 8-byte stores into it, then print "stored"
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static long k_calls;
static volatile long store_buf[512] __attribute__((aligned(4096)));

static void *worker(void *arg) {
    for (long i = 0; i < k_calls; i++) syscall(SYS_getpid);
    return arg;
}

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (strcmp(argv[1], "pid") == 0) {
        printf("pid=%ld\n", (long)syscall(SYS_getpid));
    } else if (strcmp(argv[1], "enosys") == 0) {
        errno = 0;
        long r = syscall(100000, 1, 2, 3);
        printf("r=%ld errno=%d\n", r, errno);
    } else if (strcmp(argv[1], "cat") == 0 && argc > 2) {
        int fd = open(argv[2], O_RDONLY);
        if (fd < 0) { printf("open failed errno=%d\n", errno); return 1; }
        char buf[256];
        ssize_t n = read(fd, buf, sizeof buf - 1);
        if (n < 0) n = 0;
        buf[n] = 0;
        printf("content=%s\n", buf);
        close(fd);
    } else if (strcmp(argv[1], "threads") == 0 && argc > 3) {
        int n = atoi(argv[2]);
        k_calls = atol(argv[3]);
        pthread_t th[64];
        if (n > 64) n = 64;
        for (int i = 0; i < n; i++) pthread_create(&th[i], NULL, worker, NULL);
        for (int i = 0; i < n; i++) pthread_join(th[i], NULL);
        printf("threads done\n");
    } else if (strcmp(argv[1], "echo") == 0) {
        char line[256];
        while (fgets(line, sizeof line, stdin)) {
            syscall(SYS_getppid);
            printf("got %s", line);
        }
    } else if (strcmp(argv[1], "spin") == 0) {
        printf("spinning\n");
        for (;;) syscall(SYS_sched_yield);
    } else if (strcmp(argv[1], "stores") == 0 && argc > 2) {
        long n = atol(argv[2]);
        char line[256];
        printf("buf=%p\n", (void *)store_buf);
        while (fgets(line, sizeof line, stdin)) {
            for (long i = 0; i < n; i++) store_buf[(i * 7) % 512] = i;
            printf("stored\n");
        }
    } else {
        return 2;
    }
    return 0;
}
