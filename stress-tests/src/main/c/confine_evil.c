/*
 * ConfinementTest copies this outside the root (as OUT/evil and OUT/ld.so): it must never run.
 * No libc (linked -nostdlib): it must work when loaded as an ELF interpreter too, where static
 * glibc's start-up would misread the program's auxv.
 */
#include <sys/syscall.h>

static long sys3(long n, long a, long b, long c) {
    long r;
    __asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
    return r;
}

void _start(void) {
    static const char msg[] = "ESCAPED: a program from outside the root ran\n";
    sys3(SYS_write, 1, (long)msg, sizeof msg - 1);
    sys3(SYS_exit_group, 99, 0, 0);
    for (;;) {}
}
