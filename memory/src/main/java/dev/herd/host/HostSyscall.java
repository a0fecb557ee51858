package dev.herd.host;

/** Host (x86_64) syscall numbers used by Herd's own host-kernel calls (asm/unistd_64.h). */
public final class HostSyscall {
    private HostSyscall() {}

    public static final int READ = 0, WRITE = 1, CLOSE = 3, FSTAT = 5, LSEEK = 8, MMAP = 9, MPROTECT = 10,
            MUNMAP = 11, MREMAP = 25, MADVISE = 28, DUP = 32, DUP3 = 292, GETPID = 39, FCNTL = 72,
            FTRUNCATE = 77, GETTID = 186, FUTEX = 202, TGKILL = 234, OPENAT = 257, READLINKAT = 267,
            FALLOCATE = 285, MEMFD_CREATE = 319, OPENAT2 = 437, CLOSE_RANGE = 436;
    /** Added by the memory module. */
    public static final int PREAD64 = 17, PWRITE64 = 18;
    public static final int GETPPID = 110, GETUID = 102, GETGID = 104, GETEUID = 107, GETEGID = 108,
            PRLIMIT64 = 302, UNAME = 63, GETRANDOM = 318, CLOCK_GETTIME = 228, CLOCK_GETRES = 229,
            CLOCK_NANOSLEEP = 230, NANOSLEEP = 35, GETTIMEOFDAY = 96, SCHED_YIELD = 24, SYSINFO = 99,
            TIMES = 100, GETRUSAGE = 98, SCHED_GETAFFINITY = 204, SCHED_SETAFFINITY = 203, GETCPU = 309,
            GETPGRP = 111, GETPGID = 121, GETSID = 124, SETPGID = 109, SETSID = 112, GETGROUPS = 115,
            GETRESUID = 118, GETRESGID = 120, PRCTL = 157, TIME = 201, UMASK = 95;
}
