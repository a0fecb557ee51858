/* sysfuzz: a syscall fuzzer reproducible by seed (issue 9).
 *
 *   sysfuzz SEED [ROUNDS [NR]]
 *
 * For every x86_64 syscall number 0..MAX_NR (and a few out-of-range numbers) it makes ROUNDS calls
 * (default 4) with hostile arguments drawn from SEED, the syscall number and the round only (not
 * from earlier results), so the same seed makes the same calls natively and under herd. NR limits
 * the run to one number. It must be started in a fresh scratch directory it may fill (the cwd),
 * preferably as an unprivileged user: the arguments never name files outside the cwd, but the
 * calls are real.
 *
 * Output (on the original stdout; fds 0-2 are /dev/null while fuzzing): one line per call,
 *   INDEX NR NAME ARGCLASSES RESULT
 * RESULT is "ok=V" (V the value if it is below 65536, else "big") or "-ERRNONAME". ARGCLASSES has
 * one short class name per argument (see cls_name). Excluded numbers print "INDEX NR NAME skip".
 * Values that differ between runs (pids, addresses, times) never appear.
 *
 * Arguments by type (the per-syscall signature, one letter per argument):
 *   f fd         fixture fds (a file, read-only file, directory, pipe ends, socket, eventfd, ...),
 *                -1, an unopened fd, AT_FDCWD, random
 *   d dirfd      AT_FDCWD, the directory fixture, a file fixture, -1, unopened
 *   p path       fixed relative names in the cwd, "", a name too long, or a bad pointer
 *   P pointer    NULL, unmapped, kernel, non-canonical, read-only page, PROT_NONE page, a buffer
 *                that ends 1..64 bytes before a PROT_NONE page (partially mapped), a valid
 *                zeroed / random / misaligned buffer
 *   n length     0, 1, small, a page, the buffer size, one more, huge, negative, random
 *   x int/flags  0, 1, small, one bit, random 32/64-bit, -1, INT_MIN
 *   k pid/id     0, own pid, 1, -1, nonexistent, random
 *   s signal     0..65, random
 *   t timeout    a valid short timeout (1 ms or 0) or a bad pointer: never NULL, never long
 *   m ms timeout 0..5
 *   a, l         address and length inside the fuzzer's own scratch window (memory calls)
 *   j            timer id (a fixture SIGEV_NONE timer, 0, -1, random)
 *   ?            any of the above
 * After each number's calls the process state is restored: fds, cwd, umask, signal actions,
 * mask, altstack, timers, affinity, the scratch window and files. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/resource.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define MAX_NR 470
#define PAGE 4096UL
#define OUTFD 1000
#define DIRFD 1001
#define FIX_FIRST 3
#define FIX_COUNT 14
#define UNOPENED_FD 999
/* The scratch window: WIN_SIZE bytes at a fixed address far from code, heap and stack (inside
 * Herd's 1 TiB guest space). Only memory calls' 'a'/'l' arguments point into it. */
#define WIN ((char *)0x6000000000UL)
#define WIN_SIZE (1UL << 30)
#define SCR_PAGES 32UL
#define BUF_SIZE (4 * PAGE)

/* Layout of the scratch area at WIN (pages): 0-3 rw buffer, 4 PROT_NONE, 5 read-only (zero),
 * 6 PROT_NONE, 7 unmapped, 8-11 rw buffer (random), 12 PROT_NONE, 13-31 rw (mm playground). */
#define P_BUF (WIN + 0 * PAGE)
#define P_GUARD1 (WIN + 4 * PAGE)
#define P_RO (WIN + 5 * PAGE)
#define P_NONE (WIN + 6 * PAGE)
#define P_UNMAPPED (WIN + 7 * PAGE)
#define P_RBUF (WIN + 8 * PAGE)
#define P_GUARD2 (WIN + 12 * PAGE)
#define P_MM (WIN + 13 * PAGE)

static int out_fd = OUTFD;
static uint64_t rng;

static uint64_t next(void) {
    uint64_t z = (rng += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static unsigned pick(unsigned n) { return (unsigned)(next() % n); }

static void emit(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void emit(const char *fmt, ...) {
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n > (int)sizeof line - 1) n = sizeof line - 1;
    for (int off = 0; off < n;) {
        ssize_t w = write(out_fd, line + off, n - off);
        if (w <= 0) {
            if (w < 0 && errno == EINTR) continue;
            _exit(3);
        }
        off += w;
    }
}

static void die(const char *what) {
    emit("sysfuzz: setup failed: %s: %s\n", what, strerrorname_np(errno) ? strerrorname_np(errno) : "?");
    _exit(2);
}

/* ---- the syscall table: name and signature, NULL signature = excluded (reason in name) ---- */
struct sc {
    const char *name;
    const char *sig;
    const char *skip;
};

static const struct sc table[MAX_NR + 1] = {
    [0] = {"read", "fPn"}, [1] = {"write", "fPn"}, [2] = {"open", "pxx"}, [3] = {"close", "f"},
    [4] = {"stat", "pP"}, [5] = {"fstat", "fP"}, [6] = {"lstat", "pP"}, [7] = {"poll", "Pnm"},
    [8] = {"lseek", "f?x"}, [9] = {"mmap", "alxxf?"}, [10] = {"mprotect", "alx"}, [11] = {"munmap", "al"},
    [12] = {"brk", "?"}, [13] = {"rt_sigaction", "sPPn"}, [14] = {"rt_sigprocmask", "xPPn"},
    [15] = {"rt_sigreturn", NULL, "restores registers from garbage"}, [16] = {"ioctl", "fxP"},
    [17] = {"pread64", "fPn?"}, [18] = {"pwrite64", "fPn?"}, [19] = {"readv", "fPn"}, [20] = {"writev", "fPn"},
    [21] = {"access", "px"}, [22] = {"pipe", "P"}, [23] = {"select", "nPPPt"}, [24] = {"sched_yield", ""},
    [25] = {"mremap", "allxa"}, [26] = {"msync", "alx"}, [27] = {"mincore", "PnP"}, [28] = {"madvise", "alx"},
    [29] = {"shmget", "?nx"}, [30] = {"shmat", "kax"}, [31] = {"shmctl", "kxP"}, [32] = {"dup", "f"},
    [33] = {"dup2", "ff"}, [34] = {"pause", NULL, "blocks forever"}, [35] = {"nanosleep", "tP"},
    [36] = {"getitimer", "xP"}, [37] = {"alarm", "x"}, [38] = {"setitimer", "xPP"}, [39] = {"getpid", ""},
    [40] = {"sendfile", "ffPn"}, [41] = {"socket", "xxx"}, [42] = {"connect", "fPn"}, [43] = {"accept", "fPP"},
    [44] = {"sendto", "fPnxPn"}, [45] = {"recvfrom", "fPnxPP"}, [46] = {"sendmsg", "fPx"},
    [47] = {"recvmsg", "fPx"}, [48] = {"shutdown", "fx"}, [49] = {"bind", "fPn"}, [50] = {"listen", "fx"},
    [51] = {"getsockname", "fPP"}, [52] = {"getpeername", "fPP"}, [53] = {"socketpair", "xxxP"},
    [54] = {"setsockopt", "fxxPn"}, [55] = {"getsockopt", "fxxPP"},
    [56] = {"clone", NULL, "creates a process or thread"}, [57] = {"fork", NULL, "creates a process"},
    [58] = {"vfork", NULL, "creates a process"}, [59] = {"execve", NULL, "replaces the image"},
    [60] = {"exit", NULL, "ends the thread"}, [61] = {"wait4", "kPxP"}, [62] = {"kill", NULL, "sends signals"},
    [63] = {"uname", "P"}, [64] = {"semget", "?xx"}, [65] = {"semop", "kPn"}, [66] = {"semctl", "kxx?"},
    [67] = {"shmdt", "a"}, [68] = {"msgget", "?x"}, [69] = {"msgsnd", "kPnx"}, [70] = {"msgrcv", "kPn?x"},
    [71] = {"msgctl", "kxP"}, [72] = {"fcntl", "fx?"}, [73] = {"flock", "fx"}, [74] = {"fsync", "f"},
    [75] = {"fdatasync", "f"}, [76] = {"truncate", "p?"}, [77] = {"ftruncate", "f?"}, [78] = {"getdents", "fPn"},
    [79] = {"getcwd", "Pn"}, [80] = {"chdir", "p"}, [81] = {"fchdir", "f"}, [82] = {"rename", "pp"},
    [83] = {"mkdir", "px"}, [84] = {"rmdir", "p"}, [85] = {"creat", "px"}, [86] = {"link", "pp"},
    [87] = {"unlink", "p"}, [88] = {"symlink", "pp"}, [89] = {"readlink", "pPn"}, [90] = {"chmod", "px"},
    [91] = {"fchmod", "fx"}, [92] = {"chown", "pkk"}, [93] = {"fchown", "fkk"}, [94] = {"lchown", "pkk"},
    [95] = {"umask", "x"}, [96] = {"gettimeofday", "PP"}, [97] = {"getrlimit", "xP"}, [98] = {"getrusage", "xP"},
    [99] = {"sysinfo", "P"}, [100] = {"times", "P"}, [101] = {"ptrace", NULL, "debugs processes"},
    [102] = {"getuid", ""}, [103] = {"syslog", "xPn"}, [104] = {"getgid", ""},
    [105] = {"setuid", NULL, "changes credentials"}, [106] = {"setgid", NULL, "changes credentials"},
    [107] = {"geteuid", ""}, [108] = {"getegid", ""}, [109] = {"setpgid", NULL, "changes the process group"},
    [110] = {"getppid", ""}, [111] = {"getpgrp", ""}, [112] = {"setsid", NULL, "changes the session"},
    [113] = {"setreuid", NULL, "changes credentials"}, [114] = {"setregid", NULL, "changes credentials"},
    [115] = {"getgroups", "nP"}, [116] = {"setgroups", NULL, "changes credentials"},
    [117] = {"setresuid", NULL, "changes credentials"}, [118] = {"getresuid", "PPP"},
    [119] = {"setresgid", NULL, "changes credentials"}, [120] = {"getresgid", "PPP"}, [121] = {"getpgid", "k"},
    [122] = {"setfsuid", NULL, "changes credentials"}, [123] = {"setfsgid", NULL, "changes credentials"},
    [124] = {"getsid", "k"}, [125] = {"capget", "PP"}, [126] = {"capset", NULL, "changes credentials"},
    [127] = {"rt_sigpending", "Pn"}, [128] = {"rt_sigtimedwait", "PPtn"},
    [129] = {"rt_sigqueueinfo", NULL, "sends signals"}, [130] = {"rt_sigsuspend", NULL, "blocks until a signal"},
    [131] = {"sigaltstack", "PP"}, [132] = {"utime", "pP"}, [133] = {"mknod", "pxx"}, [134] = {"uselib", "p"},
    [135] = {"personality", NULL, "changes the process"}, [136] = {"ustat", "xP"}, [137] = {"statfs", "pP"},
    [138] = {"fstatfs", "fP"}, [139] = {"sysfs", "x??"}, [140] = {"getpriority", "xk"},
    [141] = {"setpriority", "xkx"}, [142] = {"sched_setparam", "kP"}, [143] = {"sched_getparam", "kP"},
    [144] = {"sched_setscheduler", "kxP"}, [145] = {"sched_getscheduler", "k"},
    [146] = {"sched_get_priority_max", "x"}, [147] = {"sched_get_priority_min", "x"},
    [148] = {"sched_rr_get_interval", "kP"}, [149] = {"mlock", "al"}, [150] = {"munlock", "al"},
    [151] = {"mlockall", "x"}, [152] = {"munlockall", ""}, [153] = {"vhangup", NULL, "hangs up the terminal"},
    [154] = {"modify_ldt", "xPn"}, [155] = {"pivot_root", NULL, "changes the root"}, [156] = {"_sysctl", "P"},
    [157] = {"prctl", "x????"}, [158] = {"arch_prctl", "xP"}, [159] = {"adjtimex", NULL, "sets the host clock"},
    [160] = {"setrlimit", "xP"}, [161] = {"chroot", NULL, "changes the root"},
    [162] = {"sync", NULL, "host-wide and slow"}, [163] = {"acct", NULL, "host-wide"},
    [164] = {"settimeofday", NULL, "sets the host clock"}, [165] = {"mount", NULL, "host-wide"},
    [166] = {"umount2", NULL, "host-wide"}, [167] = {"swapon", NULL, "host-wide"},
    [168] = {"swapoff", NULL, "host-wide"}, [169] = {"reboot", NULL, "host-wide"},
    [170] = {"sethostname", NULL, "host-wide"}, [171] = {"setdomainname", NULL, "host-wide"},
    [172] = {"iopl", NULL, "I/O privileges"}, [173] = {"ioperm", NULL, "I/O privileges"},
    [174] = {"create_module", "p?"}, [175] = {"init_module", NULL, "host-wide"},
    [176] = {"delete_module", NULL, "host-wide"}, [177] = {"get_kernel_syms", "P"}, [178] = {"query_module", "p?P?P"},
    [179] = {"quotactl", NULL, "host-wide"}, [180] = {"nfsservctl", "?PP"}, [181] = {"getpmsg", "?????"},
    [182] = {"putpmsg", "?????"}, [183] = {"afs_syscall", "?????"}, [184] = {"tuxcall", "???"},
    [185] = {"security", "???"}, [186] = {"gettid", ""}, [187] = {"readahead", "f?n"},
    [188] = {"setxattr", "ppPnx"}, [189] = {"lsetxattr", "ppPnx"}, [190] = {"fsetxattr", "fpPnx"},
    [191] = {"getxattr", "ppPn"}, [192] = {"lgetxattr", "ppPn"}, [193] = {"fgetxattr", "fpPn"},
    [194] = {"listxattr", "pPn"}, [195] = {"llistxattr", "pPn"}, [196] = {"flistxattr", "fPn"},
    [197] = {"removexattr", "pp"}, [198] = {"lremovexattr", "pp"}, [199] = {"fremovexattr", "fp"},
    [200] = {"tkill", NULL, "sends signals"}, [201] = {"time", "P"}, [202] = {"futex", "Pxxt?x"},
    [203] = {"sched_setaffinity", "knP"}, [204] = {"sched_getaffinity", "knP"}, [205] = {"set_thread_area", "P"},
    [206] = {"io_setup", "xP"}, [207] = {"io_destroy", "?"}, [208] = {"io_getevents", "?xxPt"},
    [209] = {"io_submit", "?xP"}, [210] = {"io_cancel", "?PP"}, [211] = {"get_thread_area", "P"},
    [212] = {"lookup_dcookie", "?Pn"}, [213] = {"epoll_create", "x"}, [214] = {"epoll_ctl_old", "????"},
    [215] = {"epoll_wait_old", "????"}, [216] = {"remap_file_pages", "alxxx"}, [217] = {"getdents64", "fPn"},
    [218] = {"set_tid_address", "P"}, [219] = {"restart_syscall", ""}, [220] = {"semtimedop", "kPnt"},
    [221] = {"fadvise64", "f??x"}, [222] = {"timer_create", "xPP"}, [223] = {"timer_settime", "jxPP"},
    [224] = {"timer_gettime", "jP"}, [225] = {"timer_getoverrun", "j"}, [226] = {"timer_delete", "j"},
    [227] = {"clock_settime", NULL, "sets the host clock"}, [228] = {"clock_gettime", "xP"},
    [229] = {"clock_getres", "xP"}, [230] = {"clock_nanosleep", "xxtP"}, [231] = {"exit_group", NULL, "ends the process"},
    [232] = {"epoll_wait", "fPxm"}, [233] = {"epoll_ctl", "fxfP"}, [234] = {"tgkill", NULL, "sends signals"},
    [235] = {"utimes", "pP"}, [236] = {"vserver", "?????"}, [237] = {"mbind", "alxPnx"},
    [238] = {"set_mempolicy", "xPn"}, [239] = {"get_mempolicy", "PPn?x"}, [240] = {"mq_open", "pxxP"},
    [241] = {"mq_unlink", "p"}, [242] = {"mq_timedsend", "fPnxt"}, [243] = {"mq_timedreceive", "fPnPt"},
    [244] = {"mq_notify", "fP"}, [245] = {"mq_getsetattr", "fPP"}, [246] = {"kexec_load", NULL, "host-wide"},
    [247] = {"waitid", "xkPxP"}, [248] = {"add_key", "ppPnk"}, [249] = {"request_key", NULL, "runs an upcall"},
    [250] = {"keyctl", "x????"}, [251] = {"ioprio_set", "xkx"}, [252] = {"ioprio_get", "xk"},
    [253] = {"inotify_init", ""}, [254] = {"inotify_add_watch", "fpx"}, [255] = {"inotify_rm_watch", "fx"},
    [256] = {"migrate_pages", "knPP"}, [257] = {"openat", "dpxx"}, [258] = {"mkdirat", "dpx"},
    [259] = {"mknodat", "dpxx"}, [260] = {"fchownat", "dpkkx"}, [261] = {"futimesat", "dpP"},
    [262] = {"newfstatat", "dpPx"}, [263] = {"unlinkat", "dpx"}, [264] = {"renameat", "dpdp"},
    [265] = {"linkat", "dpdpx"}, [266] = {"symlinkat", "pdp"}, [267] = {"readlinkat", "dpPn"},
    [268] = {"fchmodat", "dpx"}, [269] = {"faccessat", "dpx"}, [270] = {"pselect6", "nPPPtP"},
    [271] = {"ppoll", "PntPn"}, [272] = {"unshare", NULL, "changes namespaces"}, [273] = {"set_robust_list", "Pn"},
    [274] = {"get_robust_list", "kPP"}, [275] = {"splice", "fPfPnx"}, [276] = {"tee", "ffnx"},
    [277] = {"sync_file_range", "f??x"}, [278] = {"vmsplice", "fPnx"}, [279] = {"move_pages", "knPPPx"},
    [280] = {"utimensat", "dpPx"}, [281] = {"epoll_pwait", "fPxmPn"}, [282] = {"signalfd", "fPn"},
    [283] = {"timerfd_create", "xx"}, [284] = {"eventfd", "x"}, [285] = {"fallocate", "fx?n"},
    [286] = {"timerfd_settime", "fxPP"}, [287] = {"timerfd_gettime", "fP"}, [288] = {"accept4", "fPPx"},
    [289] = {"signalfd4", "fPnx"}, [290] = {"eventfd2", "xx"}, [291] = {"epoll_create1", "x"},
    [292] = {"dup3", "ffx"}, [293] = {"pipe2", "Px"}, [294] = {"inotify_init1", "x"}, [295] = {"preadv", "fPn??"},
    [296] = {"pwritev", "fPn??"}, [297] = {"rt_tgsigqueueinfo", NULL, "sends signals"},
    [298] = {"perf_event_open", "Pkxfx"}, [299] = {"recvmmsg", "fPnxt"}, [300] = {"fanotify_init", "xx"},
    [301] = {"fanotify_mark", "fxxdp"}, [302] = {"prlimit64", "kxPP"}, [303] = {"name_to_handle_at", "dpPPx"},
    [304] = {"open_by_handle_at", "fPx"}, [305] = {"clock_adjtime", NULL, "sets the host clock"},
    [306] = {"syncfs", "f"}, [307] = {"sendmmsg", "fPnx"}, [308] = {"setns", NULL, "changes namespaces"},
    [309] = {"getcpu", "PPP"}, [310] = {"process_vm_readv", NULL, "other processes' memory"},
    [311] = {"process_vm_writev", NULL, "other processes' memory"}, [312] = {"kcmp", "kkx??"},
    [313] = {"finit_module", NULL, "host-wide"}, [314] = {"sched_setattr", "kPx"}, [315] = {"sched_getattr", "kPnx"},
    [316] = {"renameat2", "dpdpx"}, [317] = {"seccomp", NULL, "filters this process's syscalls"},
    [318] = {"getrandom", "Pnx"}, [319] = {"memfd_create", "px"}, [320] = {"kexec_file_load", NULL, "host-wide"},
    [321] = {"bpf", "xPn"}, [322] = {"execveat", NULL, "replaces the image"}, [323] = {"userfaultfd", "x"},
    [324] = {"membarrier", "xxk"}, [325] = {"mlock2", "alx"}, [326] = {"copy_file_range", "fPfPnx"},
    [327] = {"preadv2", "fPn??x"}, [328] = {"pwritev2", "fPn??x"}, [329] = {"pkey_mprotect", "alxx"},
    [330] = {"pkey_alloc", "xx"}, [331] = {"pkey_free", "x"}, [332] = {"statx", "dpxxP"},
    [333] = {"io_pgetevents", "?xxPtP"}, [334] = {"rseq", "Pnxx"},
    [335] = {"uretprobe", NULL, "SIGILL outside a uprobe trampoline"},
    [336] = {"uprobe", NULL, "SIGILL outside a uprobe trampoline"},
    [424] = {"pidfd_send_signal", NULL, "sends signals"}, [425] = {"io_uring_setup", "xP"},
    [426] = {"io_uring_enter", "fxxxPn"}, [427] = {"io_uring_register", "fxPx"},
    [428] = {"open_tree", NULL, "mount API"}, [429] = {"move_mount", NULL, "mount API"},
    [430] = {"fsopen", NULL, "mount API"}, [431] = {"fsconfig", NULL, "mount API"},
    [432] = {"fsmount", NULL, "mount API"}, [433] = {"fspick", NULL, "mount API"}, [434] = {"pidfd_open", "kx"},
    [435] = {"clone3", NULL, "creates a process or thread"}, [436] = {"close_range", "ffx"},
    [437] = {"openat2", "dpPn"}, [438] = {"pidfd_getfd", "fxx"}, [439] = {"faccessat2", "dpxx"},
    [440] = {"process_madvise", "fPnxx"}, [441] = {"epoll_pwait2", "fPxtPn"},
    [442] = {"mount_setattr", NULL, "mount API"}, [443] = {"quotactl_fd", NULL, "host-wide"},
    [444] = {"landlock_create_ruleset", "Pnx"}, [445] = {"landlock_add_rule", "fxPx"},
    [446] = {"landlock_restrict_self", NULL, "confines this process for good"}, [447] = {"memfd_secret", "x"},
    [448] = {"process_mrelease", "fx"}, [449] = {"futex_waitv", "Pxxtx"}, [450] = {"set_mempolicy_home_node", "alxx"},
    [451] = {"cachestat", "fPPx"}, [452] = {"fchmodat2", "dpxx"}, [453] = {"map_shadow_stack", "anx"},
    [454] = {"futex_wake", "Pxxx"}, [455] = {"futex_wait", "Pxxxtx"}, [456] = {"futex_requeue", "Pxxx"},
    [457] = {"statmount", "PPnx"}, [458] = {"listmount", "PPnx"}, [459] = {"lsm_get_self_attr", "xPPx"},
    [460] = {"lsm_set_self_attr", NULL, "changes this process's LSM attributes"}, [461] = {"lsm_list_modules", "PPx"},
    [462] = {"mseal", NULL, "seals memory for good"}, [463] = {"setxattrat", "dpxpPn"}, [464] = {"getxattrat", "dpxpPn"},
    [465] = {"listxattrat", "dpxPn"}, [466] = {"removexattrat", "dpxp"}, [467] = {"open_tree_attr", NULL, "mount API"},
    [468] = {"file_getattr", "dpPnx"}, [469] = {"file_setattr", "dpPnx"},
};

/* Numbers past the table: unknown, or with high bits set (the kernel looks at the low 32 bits). */
static const long extra_numbers[] = {471, 512, 547, 1000, 0x3fffffff, 0x40000000L | 39, (1L << 32) | 39, -1};
#define EXTRA_COUNT (sizeof extra_numbers / sizeof extra_numbers[0])

/* ---- fixtures ---- */
static const char *fixture_file[] = {"f", "ro", "d", "sock", "new", "l"};
static timer_t fixture_timer;
static int have_timer;
static struct rlimit saved_limits[16];
static unsigned long cur_brk;

static void put_fd(int fd, int at) {
    if (fd < 0) die("fixture fd");
    if (fd != at) {
        if (dup2(fd, at) < 0) die("dup2 fixture");
        close(fd);
    }
}

/* removes NAME under DIRFD_ (a file, or a directory tree the calls made), whatever its mode */
static void remove_tree(int dirfd, const char *name, int depth) {
    fchmodat(dirfd, name, 0700, 0);
    if (unlinkat(dirfd, name, 0) == 0 || errno == ENOENT) return;
    int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    if (fd >= 0 && depth < 8) {
        char buf[4096];
        long n;
        while ((n = syscall(SYS_getdents64, fd, buf, sizeof buf)) > 0) {
            for (long off = 0; off < n;) {
                unsigned short reclen = *(unsigned short *)(buf + off + 16);
                const char *child = buf + off + 19;
                if (strcmp(child, ".") && strcmp(child, "..")) remove_tree(fd, child, depth + 1);
                off += reclen;
            }
        }
    }
    if (fd >= 0) close(fd);
    unlinkat(dirfd, name, AT_REMOVEDIR);
}

static void make_files(void) {
    fchdir(DIRFD);
    fchmod(DIRFD, 0700);
    umask(022);
    for (unsigned i = 0; i < sizeof fixture_file / sizeof fixture_file[0]; i++) remove_tree(AT_FDCWD, fixture_file[i], 0);
    static const char content[] = "sysfuzz fixture file: 64 bytes of known content, no newline...\n";
    int fd = open("f", O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || write(fd, content, 64) != 64) die("create f");
    close(fd);
    fd = open("ro", O_RDWR | O_CREAT | O_TRUNC, 0444);
    if (fd < 0 || write(fd, content, 64) != 64) die("create ro");
    close(fd);
    if (mkdir("d", 0755) < 0) die("mkdir d");
    if (symlink("f", "l") < 0) die("symlink l");
}

static void make_fds(void) {
    for (int fd = FIX_FIRST; fd < OUTFD; fd++) close(fd);
    for (int fd = DIRFD + 1; fd < 1100; fd++) close(fd);
    int fd;
    put_fd(open("f", O_RDWR), 3);
    put_fd(open("ro", O_RDONLY), 4);
    put_fd(open("d", O_RDONLY | O_DIRECTORY), 5);
    int p[2];
    if (pipe2(p, O_NONBLOCK) < 0) die("pipe2");
    put_fd(p[0], 30);
    put_fd(p[1], 31);
    if (write(31, "pipe data", 9) != 9) die("pipe write");
    put_fd(30, 6);
    put_fd(31, 7);
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, p) < 0) die("socketpair");
    put_fd(p[0], 32);
    put_fd(p[1], 33);
    if (write(33, "socket data", 11) != 11) die("socket write");
    put_fd(32, 8);
    close(33); /* the peer is gone: reads see the data then EOF, writes EPIPE (SIGPIPE ignored) */
    put_fd(eventfd(1, EFD_NONBLOCK), 9);
    fd = epoll_create1(0);
    put_fd(fd, 10);
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 6};
    if (epoll_ctl(10, EPOLL_CTL_ADD, 6, &ev) < 0) die("epoll_ctl");
    put_fd(timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK), 11);
    put_fd(open("/dev/null", O_RDWR), 12);
    sigset_t none;
    sigemptyset(&none);
    sigaddset(&none, SIGUSR2);
    fd = signalfd(-1, &none, SFD_NONBLOCK);
    put_fd(fd >= 0 ? fd : eventfd(0, EFD_NONBLOCK), 13);
    put_fd(inotify_init1(IN_NONBLOCK), 14);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    strcpy(sa.sun_path, "sock");
    unlink("sock");
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 4) < 0) die("listening socket");
    put_fd(fd, 15);
    fd = syscall(SYS_memfd_create, "sysfuzz", 0);
    if (fd < 0 || write(fd, "memfd", 5) != 5) die("memfd");
    put_fd(fd, 16);
}

static void noop_handler(int sig) { (void)sig; }

static void reset_signals(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = noop_handler;
    sigfillset(&sa.sa_mask);
    for (int s = 1; s < 65; s++) {
        if (s == SIGKILL || s == SIGSTOP) continue;
        if (s == 32 || s == 33) continue; /* glibc's own */
        sigaction(s, &sa, NULL);
    }
    /* faults stay fatal: a fault the fuzzer did not expect must end the run (status 128+N), not
     * spin through a handler that returns onto the faulting instruction */
    signal(SIGSEGV, SIG_DFL);
    signal(SIGBUS, SIG_DFL);
    signal(SIGILL, SIG_DFL);
    signal(SIGFPE, SIG_DFL);
    signal(SIGTRAP, SIG_DFL);
    signal(SIGSYS, SIG_DFL);
    signal(SIGPIPE, SIG_IGN);
    signal(SIGTSTP, SIG_IGN);
    signal(SIGTTIN, SIG_IGN);
    signal(SIGTTOU, SIG_IGN);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    stack_t ss = {.ss_flags = SS_DISABLE};
    sigaltstack(&ss, NULL);
}

static void reset_timers(void) {
    alarm(0);
    struct itimerval zero = {0};
    setitimer(ITIMER_REAL, &zero, NULL);
    setitimer(ITIMER_VIRTUAL, &zero, NULL);
    setitimer(ITIMER_PROF, &zero, NULL);
    if (have_timer) syscall(SYS_timer_delete, (long)(int)(intptr_t)fixture_timer);
    for (long id = 0; id < 64; id++) syscall(SYS_timer_delete, id);
    struct sigevent sev;
    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_NONE;
    have_timer = syscall(SYS_timer_create, CLOCK_MONOTONIC, &sev, &fixture_timer) == 0;
}

static void reset_window(void) {
    munmap(WIN, WIN_SIZE);
    if (mmap(WIN, SCR_PAGES * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0) != WIN)
        die("scratch window");
    memset(P_BUF, 0, BUF_SIZE);
    uint64_t s = 0x5eed;
    for (size_t i = 0; i < BUF_SIZE / 8; i++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        ((uint64_t *)P_RBUF)[i] = s;
    }
    memset(P_GUARD1 - 64, 'a', 64);
    memset(P_GUARD2 - 64, 'a', 64);
    mprotect(P_GUARD1, PAGE, PROT_NONE);
    mprotect(P_RO, PAGE, PROT_READ);
    mprotect(P_NONE, PAGE, PROT_NONE);
    munmap(P_UNMAPPED, PAGE);
    mprotect(P_GUARD2, PAGE, PROT_NONE);
}

static void reset_all(void) {
    reset_signals();
    reset_timers();
    make_files();
    make_fds();
    reset_window();
    cpu_set_t all;
    memset(&all, 0xff, sizeof all);
    sched_setaffinity(0, sizeof all, &all);
    for (int r = 0; r < 16; r++) setrlimit(r, &saved_limits[r]);
    /* SysV and POSIX IPC objects the last calls created are removed right after those calls. */
}

/* ---- argument classes ---- */
enum cls {
    C_NULL, C_UNMAPPED, C_KERNEL, C_NONCANON, C_RO, C_NONE, C_PARTIAL, C_BUF, C_RBUF, C_MISALIGNED,
    C_PTRM1, C_PATH, C_TIMEOUT,
    C_ZERO, C_ONE, C_SMALL, C_PAGE, C_BUFSZ, C_BUFSZ1, C_HUGE, C_NEG, C_RAND32, C_RAND64, C_BIT, C_INTMIN,
    C_FD, C_FDM1, C_FDUNOPENED, C_FDCWD, C_FD0,
    C_PID_SELF, C_PID_INIT, C_PID_NONE,
    C_SCRATCH, C_SCRATCH_ODD, C_MMLEN, C_SIG, C_TIMER,
    C_COUNT
};

static const char *const cls_names[C_COUNT] = {
    "null", "unmapped", "kernel", "noncanon", "ro", "none", "partial", "buf", "rbuf", "misal",
    "ptr-1", "path", "tmo",
    "0", "1", "small", "page", "bufsz", "bufsz+1", "huge", "neg", "r32", "r64", "bit", "intmin",
    "fd", "fd-1", "fd999", "cwd", "fd0",
    "self", "init", "nopid",
    "scr", "scr+1", "mmlen", "sig", "timer",
};

static const char *const paths[] = {"f", "d", "l", "ro", "nx/y", "new", "", "d/../f", "sock", ".", "LONG"};

static long path_arg(void) {
    unsigned i = pick(sizeof paths / sizeof paths[0]);
    char *s = P_BUF + 2 * PAGE + 512 * (next() % 4); /* in the valid buffer's third page */
    if (strcmp(paths[i], "LONG") == 0) {
        memset(s, 'x', 300);
        s[300] = 0;
    } else {
        strcpy(s, paths[i]);
    }
    return (long)s;
}

static long ptr_of(enum cls c) {
    switch (c) {
    case C_NULL: return 0;
    case C_UNMAPPED: return (long)P_UNMAPPED + 8 * pick(8);
    case C_KERNEL: return (long)0xffffffff81000000UL;
    case C_NONCANON: return (long)0x0000800000000000UL;
    case C_RO: return (long)P_RO;
    case C_NONE: return (long)P_NONE;
    case C_PARTIAL: {
        static const int back[] = {1, 3, 8, 12, 24, 64};
        char *g = pick(2) ? P_GUARD1 : P_GUARD2;
        return (long)(g - back[pick(6)]);
    }
    case C_BUF: return (long)P_BUF;
    case C_RBUF: return (long)P_RBUF;
    case C_MISALIGNED: return (long)P_BUF + 1 + pick(7);
    case C_PTRM1: return -1;
    case C_PATH: return path_arg();
    default: return 0;
    }
}

static long fd_of(void) {
    return FIX_FIRST + pick(FIX_COUNT);
}

static long int_of(enum cls c) {
    switch (c) {
    case C_ZERO: return 0;
    case C_ONE: return 1;
    case C_SMALL: return 2 + pick(63);
    case C_PAGE: return PAGE;
    case C_BUFSZ: return BUF_SIZE;
    case C_BUFSZ1: return BUF_SIZE + 1;
    case C_HUGE: {
        static const long h[] = {0x7fffffffffffffffL, 1L << 62, 0xffffffffL, 0x80000000L, 1L << 40, 0x7fffffffL};
        return h[pick(6)];
    }
    case C_NEG: {
        static const long n[] = {-1, -2, -4096, -22, -65536};
        return n[pick(5)];
    }
    case C_RAND32: return (long)(uint32_t)next();
    case C_RAND64: return (long)next();
    case C_BIT: return 1L << pick(64);
    case C_INTMIN: return (long)INT_MIN;
    case C_FD: return fd_of();
    case C_FDM1: return -1;
    case C_FDUNOPENED: return UNOPENED_FD;
    case C_FDCWD: return AT_FDCWD;
    case C_FD0: return 0;
    case C_PID_SELF: return getpid();
    case C_PID_INIT: return 1;
    case C_PID_NONE: return 0x3ffffff;
    case C_SIG: return pick(66);
    case C_TIMER: return have_timer ? (long)(intptr_t)fixture_timer : 0;
    default: return ptr_of(c);
    }
}

/* Weighted class choices per signature letter. */
static enum cls choose(char t) {
    static const enum cls ptrs[] = {C_NULL, C_UNMAPPED, C_KERNEL, C_NONCANON, C_RO, C_NONE, C_PARTIAL, C_PARTIAL,
                                    C_BUF, C_BUF, C_BUF, C_RBUF, C_RBUF, C_MISALIGNED, C_PTRM1};
    static const enum cls lens[] = {C_ZERO, C_ZERO, C_ONE, C_SMALL, C_SMALL, C_PAGE, C_BUFSZ, C_BUFSZ1, C_HUGE,
                                    C_HUGE, C_NEG, C_RAND64, C_INTMIN};
    static const enum cls ints[] = {C_ZERO, C_ZERO, C_ONE, C_SMALL, C_SMALL, C_BIT, C_RAND32, C_RAND64, C_NEG,
                                    C_INTMIN, C_HUGE};
    static const enum cls fds[] = {C_FD, C_FD, C_FD, C_FD, C_FD, C_FD, C_FDM1, C_FDUNOPENED, C_FDCWD, C_FD0, C_RAND32};
    static const enum cls dirfds[] = {C_FDCWD, C_FDCWD, C_FDCWD, C_FD, C_FD, C_FDM1, C_FDUNOPENED};
    static const enum cls pathc[] = {C_PATH, C_PATH, C_PATH, C_PATH, C_PATH, C_PATH, C_NULL, C_UNMAPPED, C_KERNEL,
                                     C_RO, C_PARTIAL, C_NONE};
    /* no random pids: a call must never reach another process of the same user */
    static const enum cls pids[] = {C_ZERO, C_PID_SELF, C_PID_SELF, C_PID_INIT, C_FDM1, C_PID_NONE, C_INTMIN};
    static const enum cls tmos[] = {C_TIMEOUT, C_TIMEOUT, C_TIMEOUT, C_UNMAPPED, C_KERNEL, C_RO, C_PARTIAL, C_NONE};
    static const enum cls timers[] = {C_TIMER, C_TIMER, C_ZERO, C_FDM1, C_RAND32};
#define PICK(a) a[pick(sizeof a / sizeof a[0])]
    switch (t) {
    case 'f': return PICK(fds);
    case 'd': return PICK(dirfds);
    case 'p': return PICK(pathc);
    case 'P': return PICK(ptrs);
    case 'n': return PICK(lens);
    case 'x': return PICK(ints);
    case 'k': return PICK(pids);
    case 's': return pick(4) ? C_SIG : PICK(ints);
    case 't': return PICK(tmos);
    case 'm': return C_SMALL;
    case 'a': return pick(8) == 0 ? (pick(2) ? C_KERNEL : C_SCRATCH_ODD) : C_SCRATCH;
    case 'l': return C_MMLEN;
    case 'j': return PICK(timers);
    default: {
        switch (pick(5)) {
        case 0: return PICK(ptrs);
        case 1: return PICK(lens);
        case 2: return PICK(fds);
        default: return PICK(ints);
        }
    }
    }
}

static int is_fd_arg(char t) { return t == 'f' || t == 'd'; }

/* ---- special rules for calls that could hurt the fuzzer itself ---- */
static long mm_len(long addr) {
    long room = (long)(WIN + WIN_SIZE) - addr;
    switch (pick(6)) {
    case 0: return 0;
    case 1: return PAGE;
    case 2: return 1 + pick(3 * PAGE);
    case 3: {
        long pages = room > 0 && room <= (long)WIN_SIZE ? room / (long)PAGE : 1;
        if (pages > 64) pages = 64;
        return pages < 1 ? (long)PAGE : (long)PAGE * (long)(1 + pick((unsigned)pages));
    }
    case 4: return 1L << 62; /* overflows the address space: EINVAL, never reaches other mappings */
    default: return -PAGE;
    }
}

static long scratch_addr(enum cls c) {
    if (c == C_KERNEL) return (long)0xffffffff81000000UL;
    long a = (long)P_MM + (long)(PAGE * pick(SCR_PAGES - 13));
    return c == C_SCRATCH_ODD ? a + 1 + pick(100) : a;
}

static long fix_mmap_flags(long flags) {
    static const long common[] = {MAP_PRIVATE | MAP_ANONYMOUS, MAP_SHARED | MAP_ANONYMOUS, MAP_PRIVATE, MAP_SHARED,
                                  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, MAP_SHARED | MAP_FIXED,
                                  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE};
    if (pick(3)) flags = common[pick(7)] | (pick(4) ? 0 : (1L << pick(32)));
    flags &= ~(long)(MAP_POPULATE | MAP_LOCKED); /* no populating huge lengths */
    return flags;
}

static const long prctl_ok[] = {2, 3, 5, 7, 9, 11, 13, 16, 19, 21, 23, 25, 27, 30, 34, 37, 39, 40, 42, 44, 52, 56, 58,
                                0, 1000, 0x7fffffff};
static const long arch_prctl_ok[] = {0x1003, 0x1004, 0x1011, 0x1021, 0x1022, 0x1023, 0, 0x9999};
static const long keyctl_ok[] = {0, 3, 11, 17, 1000, -1};

/* calls whose result is an id that differs between runs (pids, IPC ids, times) */
static int varies(long nr) {
    switch (nr) {
    case 29: case 39: case 64: case 68: case 110: case 111: case 121: case 124: case 186: case 201: case 218: case 434:
        return 1;
    default:
        return (nr >> 32) != 0 || (nr & 0x40000000L) != 0;
    }
}

/* ---- one call ---- */
static long idx;

static void do_call(long nr, const char *name, const char *sig, int round, uint64_t seed) {
    rng = seed * 0x100000001b3ULL ^ ((uint64_t)(nr & 0xffffffffffL) << 20) ^ (uint64_t)round;
    next();
    long a[6] = {0, 0, 0, 0, 0, 0};
    enum cls c[6];
    int argc = (int)strlen(sig);
    long last_addr = (long)P_MM;
    for (int i = 0; i < argc; i++) {
        c[i] = choose(sig[i]);
        if (sig[i] == 'a') last_addr = a[i] = scratch_addr(c[i]);
        else if (sig[i] == 'l') a[i] = mm_len(last_addr);
        else if (c[i] == C_TIMEOUT) {
            struct timespec *ts = (struct timespec *)(P_BUF + 3 * PAGE + 256 * i);
            ts->tv_sec = 0;
            ts->tv_nsec = pick(2) ? 1000000 : 0; /* as a timeval: 0 s, 1 s at most... */
            if (nr == 23) ts->tv_nsec = 1000;    /* select's timeval: 1 ms */
            a[i] = (long)ts;
        } else if (sig[i] == 'm') a[i] = pick(6);
        else a[i] = int_of(c[i]);
    }
    /* the output and scratch directory fds are never arguments */
    for (int i = 0; i < 6; i++) {
        int low = (int)a[i];
        if (i < argc && (low == OUTFD || low == DIRFD) && (is_fd_arg(sig[i]) || sig[i] == '?' || sig[i] == 'x'))
            a[i] = UNOPENED_FD;
    }
    /* per-call rules */
    switch (nr) {
    case 9: /* mmap */
        a[3] = fix_mmap_flags(a[3]);
        if (!(a[3] & (MAP_FIXED | MAP_FIXED_NOREPLACE)) && pick(2)) a[0] = 0;
        break;
    case 12: { /* brk: 0, the current break, a bit above, or values that fail; never lower */
        cur_brk = syscall(SYS_brk, 0);
        long choices[] = {0, cur_brk, cur_brk + PAGE, cur_brk + (1L << 20), 1, 0x7fffffffffffL, (long)0xffffffff81000000UL};
        a[0] = choices[pick(7)];
        break;
    }
    case 13: /* rt_sigaction: SIGKILL/SIGSTOP are refused anyway; act may be anything */
        break;
    case 25: { /* mremap: new_addr only in the window; growth bounded by the window */
        long fl = a[3];
        if (pick(2)) fl = (long[]){0, 1, 3, 5, 7}[pick(5)];
        a[3] = fl;
        a[4] = scratch_addr(C_SCRATCH);
        long room = (long)(WIN + WIN_SIZE) - ((fl & 2) ? a[4] : a[0]);
        if (a[2] > 0 && a[2] > room && a[2] < (1L << 47)) a[2] = room;
        break;
    }
    case 30: /* shmat: address only in the window or NULL */
        if (pick(2)) a[1] = 0;
        break;
    case 33: case 292: /* dup2/dup3 never onto 1 or 2 */
        if (a[1] == 1 || a[1] == 2) a[1] = UNOPENED_FD;
        break;
    case 3: /* close never 1 or 2 */
        if (a[0] == 1 || a[0] == 2) a[0] = UNOPENED_FD;
        break;
    case 103: /* syslog: no blocking READ */
        if (a[0] == 2) a[0] = 3;
        break;
    case 157: a[0] = prctl_ok[pick(sizeof prctl_ok / sizeof prctl_ok[0])]; break;
    case 158: a[0] = arch_prctl_ok[pick(sizeof arch_prctl_ok / sizeof arch_prctl_ok[0])]; break;
    case 250: a[0] = keyctl_ok[pick(sizeof keyctl_ok / sizeof keyctl_ok[0])]; break;
    case 160: case 302: { /* setrlimit/prlimit64: never lower a limit (the read-only page holds zeros) */
        int pi = nr == 160 ? 1 : 2;
        long res = nr == 160 ? a[0] : a[1];
        if (c[pi] == C_RO) a[pi] = (long)P_UNMAPPED, c[pi] = C_UNMAPPED;
        if (c[pi] == C_BUF || c[pi] == C_RBUF || c[pi] == C_MISALIGNED) {
            if (res >= 0 && res < 16) *(struct rlimit *)a[pi] = saved_limits[res];
            else memset((void *)a[pi], 0xff, sizeof(struct rlimit));
        }
        break;
    }
    case 285: /* fallocate: no multi-gigabyte allocations */
        if (a[3] > (16L << 20) && a[3] < (1L << 60)) a[3] = 16L << 20;
        if (a[2] > (16L << 20) && a[2] < (1L << 60)) a[2] = 16L << 20;
        break;
    case 436: /* close_range: never the output or directory fd */
        if ((unsigned)a[0] <= DIRFD && (unsigned)a[1] >= OUTFD) a[1] = OUTFD - 1;
        if (a[0] == 1 || a[0] == 2) a[0] = 3;
        break;
    case 202: { /* futex: a known op, a word that is never equal to val for waits */
        static const long ops[] = {0, 1, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 128, 129, 137, 256, 265};
        if (pick(4)) a[1] = ops[pick(sizeof ops / sizeof ops[0])];
        a[2] = 0x5a5a5a5a;
        break;
    }
    case 455: a[1] = 0x5a5a5a5a; break;
    case 141: case 142: case 144: case 251: case 314: { /* never this process's own priority or */
        /* policy: SCHED_IDLE or nice 19 starve the run on a loaded machine, unprivileged for good */
        int pi = nr == 141 || nr == 251 ? 1 : 0;
        if ((int)a[pi] == 0 || (int)a[pi] == getpid()) a[pi] = 0x3ffffff;
        break;
    }
    case 230: /* clock_nanosleep: no CPU-time clocks (a sleeping process's own never advances) */
        if ((int)a[0] == 2 || ((int)a[0] < 0 && (int)a[0] != -1)) a[0] = CLOCK_MONOTONIC;
        break; /* futex_wait: val never equals a word here */
    case 216: /* remap_file_pages length bounded like 'l' */
        break;
    default: break;
    }
    long r = syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
    int err = r < 0 && r > -4096 ? errno : 0;
    /* clean up what the call created */
    if (!err) {
        switch (nr) {
        case 9: case 25: case 453:
            if ((char *)r < WIN || (char *)r >= WIN + WIN_SIZE) munmap((void *)r, nr == 25 ? a[2] : a[1]);
            break;
        case 29: shmctl((int)r, IPC_RMID, NULL); break;
        case 64: semctl((int)r, 0, IPC_RMID); break;
        case 68: msgctl((int)r, IPC_RMID, NULL); break;
        case 30: shmdt((void *)r); break;
        case 12: if (r > (long)cur_brk) syscall(SYS_brk, cur_brk); break; /* malloc never saw it */
        default: break;
        }
    }
    if (nr == 240) for (unsigned i = 0; i < sizeof paths / sizeof paths[0]; i++) syscall(SYS_mq_unlink, paths[i]);
    char classes[160];
    int off = 0;
    for (int i = 0; i < argc; i++)
        off += snprintf(classes + off, sizeof classes - off, "%s%s", i ? "," : "", cls_names[c[i]]);
    if (argc == 0) strcpy(classes, "-");
    if (err) emit("%ld %ld %s %s -%s\n", idx, nr, name, classes, strerrorname_np(err) ? strerrorname_np(err) : "E?");
    else if (r >= 0 && r < 65536 && !varies(nr)) emit("%ld %ld %s %s ok=%ld\n", idx, nr, name, classes, r);
    else emit("%ld %ld %s %s ok=big\n", idx, nr, name, classes);
    idx++;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: sysfuzz SEED [ROUNDS [NR]]\n");
        return 2;
    }
    uint64_t seed = strtoull(argv[1], NULL, 0);
    int rounds = argc > 2 ? atoi(argv[2]) : 4;
    long only = argc > 3 ? strtol(argv[3], NULL, 0) : LONG_MIN;
    /* the output: the original stdout, moved out of the way; 0-2 become /dev/null */
    if (fcntl(1, F_DUPFD, OUTFD) != OUTFD) { perror("sysfuzz: dup stdout"); return 2; }
    int dfd = open(".", O_RDONLY | O_DIRECTORY);
    if (dfd < 0 || dup2(dfd, DIRFD) != DIRFD) die("open cwd");
    close(dfd);
    int nul = open("/dev/null", O_RDWR);
    dup2(nul, 0);
    dup2(nul, 1);
    dup2(nul, 2);
    if (nul > 2) close(nul);
    for (int r = 0; r < 16; r++) getrlimit(r, &saved_limits[r]);
    cur_brk = syscall(SYS_brk, 0);
    emit("sysfuzz seed %llu rounds %d\n", (unsigned long long)seed, rounds);
    reset_all();
    for (long nr = 0; nr <= MAX_NR + (long)EXTRA_COUNT; nr++) {
        long real = nr <= MAX_NR ? nr : extra_numbers[nr - MAX_NR - 1];
        if (only != LONG_MIN && real != only) continue;
        const struct sc *s = nr <= MAX_NR ? &table[nr] : NULL;
        const char *name = s && s->name ? s->name : "unknown";
        if (s && s->name && !s->sig) {
            emit("%ld %ld %s skip\n", idx++, real, name);
            continue;
        }
        const char *sig = s && s->name ? s->sig : "??????";
        for (int round = 0; round < rounds; round++) do_call(real, name, sig, round, seed);
        reset_all();
    }
    emit("sysfuzz done: %ld lines\n", idx);
    return 0;
}
