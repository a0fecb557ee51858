package dev.herd.signals;

/**
 * The fields of a {@code siginfo_t} Herd fills in (asm-generic/siginfo.h). Which union members
 * are meaningful depends on the signal and code, as in the kernel: kill-family signals carry
 * {@code pid}/{@code uid}; sigqueue adds {@code value}; faults carry {@code addr}; timers carry
 * {@code timerId}/{@code overrun}/{@code value}.
 */
public record SigInfo(int signo, int errno, int code, int pid, int uid, long addr, long value,
                      int timerId, int overrun, byte[] raw) {
    /**
     * A siginfo built by Herd (raw is null: the layout follows the signal and code).
     */
    public SigInfo(int signo, int errno, int code, int pid, int uid, long addr, long value, int timerId, int overrun) {
        this(signo, errno, code, pid, uid, addr, value, timerId, overrun, null);
    }

    /** si_code values. */
    public static final int SI_USER = 0, SI_KERNEL = 0x80, SI_QUEUE = -1, SI_TIMER = -2, SI_TKILL = -6;
    public static final int SEGV_MAPERR = 1, SEGV_ACCERR = 2, ILL_ILLOPC = 1, ILL_ILLOPN = 2, FPE_INTDIV = 1, TRAP_BRKPT = 1;

    /** kill(2)-style: sent by process {@code pid} of user {@code uid}. */
    public static SigInfo user(int signo, int code, int pid, int uid) {
        return new SigInfo(signo, 0, code, pid, uid, 0, 0, 0, 0);
    }

    /** A synchronous fault at {@code addr}. */
    public static SigInfo fault(int signo, int code, long addr) {
        return new SigInfo(signo, 0, code, 0, 0, addr, 0, 0, 0);
    }

    /** Standard signals with nothing else known (kernel-generated, SI_KERNEL). */
    public static SigInfo kernel(int signo) {
        return new SigInfo(signo, 0, SI_KERNEL, 0, 0, 0, 0, 0, 0);
    }
}
