package dev.herd.signals;

import dev.herd.memory.GuestMemory;

/**
 * The 128-byte {@code siginfo_t} of 64-bit Linux (asm-generic/siginfo.h; same on x86_64 and
 * aarch64): si_signo, si_errno, si_code, then a union at offset 16 whose members depend on the
 * signal and code.
 */
public final class SigInfoLayout {
    private SigInfoLayout() {}

    public static final int SIZE = 128;
    /** sizeof(kernel_siginfo_t): what the kernel copies from and keeps of a user siginfo. */
    public static final int KERNEL_SIZE = 48;

    /** Writes {@code info} at guest address {@code at} (all 128 bytes: unused bytes are zero). */
    public static void write(GuestMemory memory, long at, SigInfo info) {
        memory.write(at, bytes(info));
    }

    /** The 128 bytes of {@code info}: verbatim for a guest-queued siginfo, else laid out by code. */
    public static byte[] bytes(SigInfo info) {
        if (info.raw() != null) {
            byte[] b = info.raw().clone();
            putInt(b, 0, info.signo());
            return b;
        }
        byte[] b = new byte[SIZE];
        putInt(b, 0, info.signo());
        putInt(b, 4, info.errno());
        putInt(b, 8, info.code());
        switch (layout(info.signo(), info.code())) {
            case FAULT -> putLong(b, 16, info.addr());
            case TIMER -> {
                putInt(b, 16, info.timerId());
                putInt(b, 20, info.overrun());
                putLong(b, 24, info.value());
            }
            case RT -> {
                putInt(b, 16, info.pid());
                putInt(b, 20, info.uid());
                putLong(b, 24, info.value());
            }
            case KILL, CHLD -> { // CHLD: pid/uid at the same offsets; status/utime/stime are not in SigInfo
                putInt(b, 16, info.pid());
                putInt(b, 20, info.uid());
            }
            default -> { } // POLL (band, fd) and SYS (call_addr, syscall, arch): not represented in SigInfo
        }
        return b;
    }

    /**
     * Reads a guest siginfo (rt_sigqueueinfo): the kernel queues the caller's 128 bytes as they are
     * (only si_signo is the signal sent), so they are kept raw; the parsed fields serve Herd's checks.
     */
    public static SigInfo read(GuestMemory memory, long at, int signo) {
        // The kernel keeps a kernel_siginfo_t: the first 48 bytes (header + the 32-byte union);
        // what reaches the handler beyond them is zero.
        byte[] raw = new byte[SIZE];
        memory.read(at, raw, 0, KERNEL_SIZE);
        int errno = memory.readInt(at + 4);
        int code = memory.readInt(at + 8);
        return new SigInfo(signo, errno, code, memory.readInt(at + 16), memory.readInt(at + 20), 0,
                memory.readLong(at + 24), 0, 0, raw);
    }

    /** Which union member a siginfo uses. */
    public enum Layout { KILL, TIMER, POLL, FAULT, CHLD, RT, SYS }

    /** The kernel's siginfo_layout() (kernel/signal.c), without the FAULT sub-layouts (same offsets). */
    public static Layout layout(int sig, int code) {
        if (code > SigInfo.SI_USER && code < SigInfo.SI_KERNEL) {
            Layout table;
            int limit;
            switch (sig) {
                case Signals.SIGILL -> { table = Layout.FAULT; limit = 11; }  // NSIGILL
                case Signals.SIGTRAP -> { table = Layout.FAULT; limit = 6; }  // NSIGTRAP
                case Signals.SIGBUS -> { table = Layout.FAULT; limit = 5; }   // NSIGBUS
                case Signals.SIGFPE -> { table = Layout.FAULT; limit = 15; }  // NSIGFPE
                case Signals.SIGSEGV -> { table = Layout.FAULT; limit = 10; } // NSIGSEGV
                case Signals.SIGCHLD -> { table = Layout.CHLD; limit = 6; }   // NSIGCHLD
                case 29 -> { table = Layout.POLL; limit = 6; }                // SIGPOLL, NSIGPOLL
                case Signals.SIGSYS -> { table = Layout.SYS; limit = 2; }     // NSIGSYS
                default -> { table = Layout.KILL; limit = 0; }
            }
            if (code <= limit) return table;
            return code <= 6 ? Layout.POLL : Layout.KILL;                     // si_code <= NSIGPOLL
        }
        if (code == SigInfo.SI_TIMER) return Layout.TIMER;
        if (code == -5) return Layout.POLL; // SI_SIGIO
        if (code < 0) return Layout.RT;
        return Layout.KILL;
    }

    private static void putInt(byte[] b, int off, int v) {
        for (int i = 0; i < 4; i++) b[off + i] = (byte) (v >>> (8 * i));
    }

    private static void putLong(byte[] b, int off, long v) {
        for (int i = 0; i < 8; i++) b[off + i] = (byte) (v >>> (8 * i));
    }
}
