package dev.herd.host;

/** Host (x86_64) syscall numbers used by Herd's own host-kernel calls (asm/unistd_64.h). */
public final class HostSyscall {
    private HostSyscall() {}

    public static final int READ = 0, WRITE = 1, CLOSE = 3, FSTAT = 5, LSEEK = 8, MMAP = 9, MPROTECT = 10,
            MUNMAP = 11, MREMAP = 25, MADVISE = 28, DUP = 32, DUP3 = 292, GETPID = 39, FCNTL = 72,
            FTRUNCATE = 77, GETTID = 186, FUTEX = 202, TGKILL = 234, OPENAT = 257, READLINKAT = 267,
            FALLOCATE = 285, MEMFD_CREATE = 319, OPENAT2 = 437, CLOSE_RANGE = 436;
}
