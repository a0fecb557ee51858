package dev.herd.signals;

/** Linux signal numbers and sigset helpers (identical on x86_64 and aarch64). */
public final class Signals {
    private Signals() {}

    public static final int SIGHUP = 1, SIGINT = 2, SIGQUIT = 3, SIGILL = 4, SIGTRAP = 5, SIGABRT = 6, SIGBUS = 7,
            SIGFPE = 8, SIGKILL = 9, SIGUSR1 = 10, SIGSEGV = 11, SIGUSR2 = 12, SIGPIPE = 13, SIGALRM = 14,
            SIGTERM = 15, SIGCHLD = 17, SIGCONT = 18, SIGSTOP = 19, SIGSYS = 31;
    /** Highest signal number (_NSIG - 1). */
    public static final int MAX = 64;
    /** Bits that can never be blocked. */
    public static final long UNBLOCKABLE = bit(SIGKILL) | bit(SIGSTOP);

    public static long bit(int sig) { return 1L << (sig - 1); }

    public static boolean valid(int sig) { return sig >= 1 && sig <= MAX; }
}
