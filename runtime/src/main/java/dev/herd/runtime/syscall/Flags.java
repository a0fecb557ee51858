package dev.herd.runtime.syscall;

/** Symbolic decoding of Linux flag arguments for {@code --strace} (x86_64 values). */
final class Flags {
    private Flags() {}

    private record Bit(int value, String name) {}

    private static final Bit[] OPEN = {
            new Bit(0x40, "O_CREAT"), new Bit(0x80, "O_EXCL"), new Bit(0x100, "O_NOCTTY"), new Bit(0x200, "O_TRUNC"),
            new Bit(0x400, "O_APPEND"), new Bit(0x800, "O_NONBLOCK"), new Bit(0x101000, "O_SYNC"), new Bit(0x410000, "O_TMPFILE"), new Bit(0x1000, "O_DSYNC"),
            new Bit(0x2000, "O_ASYNC"), new Bit(0x4000, "O_DIRECT"), new Bit(0x10000, "O_DIRECTORY"),
            new Bit(0x20000, "O_NOFOLLOW"), new Bit(0x40000, "O_NOATIME"), new Bit(0x80000, "O_CLOEXEC"),
            new Bit(0x200000, "O_PATH")};
    private static final Bit[] PROT = {new Bit(1, "PROT_READ"), new Bit(2, "PROT_WRITE"), new Bit(4, "PROT_EXEC")};
    private static final Bit[] MAP = {
            new Bit(0x10, "MAP_FIXED"), new Bit(0x20, "MAP_ANONYMOUS"), new Bit(0x100, "MAP_GROWSDOWN"),
            new Bit(0x800, "MAP_DENYWRITE"), new Bit(0x1000, "MAP_EXECUTABLE"), new Bit(0x2000, "MAP_LOCKED"),
            new Bit(0x4000, "MAP_NORESERVE"), new Bit(0x8000, "MAP_POPULATE"), new Bit(0x10000, "MAP_NONBLOCK"),
            new Bit(0x20000, "MAP_STACK"), new Bit(0x40000, "MAP_HUGETLB"), new Bit(0x100000, "MAP_FIXED_NOREPLACE")};
    private static final Bit[] AT = {
            new Bit(0x100, "AT_SYMLINK_NOFOLLOW"), new Bit(0x200, "AT_REMOVEDIR"), new Bit(0x400, "AT_SYMLINK_FOLLOW"),
            new Bit(0x800, "AT_NO_AUTOMOUNT"), new Bit(0x1000, "AT_EMPTY_PATH")};
    private static final String[] SIGNALS = {"0", "SIGHUP", "SIGINT", "SIGQUIT", "SIGILL", "SIGTRAP", "SIGABRT",
            "SIGBUS", "SIGFPE", "SIGKILL", "SIGUSR1", "SIGSEGV", "SIGUSR2", "SIGPIPE", "SIGALRM", "SIGTERM",
            "SIGSTKFLT", "SIGCHLD", "SIGCONT", "SIGSTOP", "SIGTSTP", "SIGTTIN", "SIGTTOU", "SIGURG", "SIGXCPU",
            "SIGXFSZ", "SIGVTALRM", "SIGPROF", "SIGWINCH", "SIGIO", "SIGPWR", "SIGSYS"};
    private static final String[] CLOCKS = {"CLOCK_REALTIME", "CLOCK_MONOTONIC", "CLOCK_PROCESS_CPUTIME_ID",
            "CLOCK_THREAD_CPUTIME_ID", "CLOCK_MONOTONIC_RAW", "CLOCK_REALTIME_COARSE", "CLOCK_MONOTONIC_COARSE",
            "CLOCK_BOOTTIME", "CLOCK_REALTIME_ALARM", "CLOCK_BOOTTIME_ALARM", "10", "CLOCK_TAI"};

    static String openFlags(int v) {
        String access = switch (v & 3) {
            case 0 -> "O_RDONLY";
            case 1 -> "O_WRONLY";
            case 2 -> "O_RDWR";
            default -> "O_ACCMODE";
        };
        return bits(access, v & ~3, OPEN);
    }

    static String prot(int v) { return v == 0 ? "PROT_NONE" : bits(null, v, PROT); }

    static String mapFlags(int v) {
        String type = switch (v & 0xf) {
            case 1 -> "MAP_SHARED";
            case 2 -> "MAP_PRIVATE";
            case 3 -> "MAP_SHARED_VALIDATE";
            default -> "0x" + Integer.toHexString(v & 0xf);
        };
        return bits(type, v & ~0xf, MAP);
    }

    static String atFlags(int v) { return v == 0 ? "0" : bits(null, v, AT); }

    static String whence(int v) {
        return switch (v) {
            case 0 -> "SEEK_SET";
            case 1 -> "SEEK_CUR";
            case 2 -> "SEEK_END";
            case 3 -> "SEEK_DATA";
            case 4 -> "SEEK_HOLE";
            default -> Integer.toString(v);
        };
    }

    static String signal(int v) {
        if (v >= 0 && v < SIGNALS.length) return SIGNALS[v];
        if (v >= 32 && v <= 64) return "SIGRT_" + (v - 32);
        return Integer.toString(v);
    }

    static String clock(int v) { return v >= 0 && v < CLOCKS.length ? CLOCKS[v] : Integer.toString(v); }

    private static String bits(String first, int v, Bit[] table) {
        StringBuilder sb = new StringBuilder();
        if (first != null) sb.append(first);
        int rest = v;
        for (Bit b : table) {
            if ((rest & b.value) == b.value && b.value != 0) {
                if (!sb.isEmpty()) sb.append('|');
                sb.append(b.name);
                rest &= ~b.value;
            }
        }
        if (rest != 0) {
            if (!sb.isEmpty()) sb.append('|');
            sb.append("0x").append(Integer.toHexString(rest));
        }
        return sb.isEmpty() ? "0" : sb.toString();
    }
}
