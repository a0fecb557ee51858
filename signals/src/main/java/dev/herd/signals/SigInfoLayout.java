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

    /** sizeof(struct signalfd_siginfo) (uapi linux/signalfd.h; the same on every architecture). */
    public static final int SIGNALFD_SIZE = 128;

    /**
     * The {@code struct signalfd_siginfo} a signalfd read returns for {@code info}, field by field
     * from the siginfo's union member as fs/signalfd.c copies it (ssi_signo 0, ssi_errno 4,
     * ssi_code 8, ssi_pid 12, ssi_uid 16, ssi_fd 20, ssi_tid 24, ssi_band 28, ssi_overrun 32,
     * ssi_trapno 36, ssi_status 40, ssi_int 44, ssi_ptr 48, ssi_utime 56, ssi_stime 64,
     * ssi_addr 72, ssi_addr_lsb 80, ssi_syscall 84, ssi_call_addr 88, ssi_arch 96). Architectures
     * without a trap number in siginfo (x86_64, aarch64) leave ssi_trapno zero.
     */
    public static byte[] signalfdBytes(SigInfo info) {
        byte[] si = bytes(info);
        byte[] b = new byte[SIGNALFD_SIZE];
        int code = getInt(si, 8);
        putInt(b, 0, info.signo());
        putInt(b, 4, getInt(si, 4));
        putInt(b, 8, code);
        switch (layout(info.signo(), code)) {
            case KILL -> {
                putInt(b, 12, getInt(si, 16));      // si_pid
                putInt(b, 16, getInt(si, 20));      // si_uid
            }
            case TIMER -> {
                putInt(b, 24, getInt(si, 16));      // si_tid (the timer id)
                putInt(b, 32, getInt(si, 20));      // si_overrun
                putLong(b, 48, getLong(si, 24));    // si_ptr
                putInt(b, 44, getInt(si, 24));      // si_int
            }
            case POLL -> {
                putInt(b, 28, (int) getLong(si, 16)); // si_band
                putInt(b, 20, getInt(si, 24));        // si_fd
            }
            case FAULT -> {
                putLong(b, 72, getLong(si, 16));    // si_addr
                if (info.signo() == Signals.SIGBUS && (code == 4 || code == 5)) { // BUS_MCEERR_AR/AO
                    putShort(b, 80, (short) getInt(si, 24)); // si_addr_lsb
                }
            }
            case CHLD -> {
                putInt(b, 12, getInt(si, 16));
                putInt(b, 16, getInt(si, 20));
                putInt(b, 40, getInt(si, 24));      // si_status
                putLong(b, 56, getLong(si, 32));    // si_utime
                putLong(b, 64, getLong(si, 40));    // si_stime
            }
            case RT -> {
                putInt(b, 12, getInt(si, 16));
                putInt(b, 16, getInt(si, 20));
                putLong(b, 48, getLong(si, 24));    // si_ptr
                putInt(b, 44, getInt(si, 24));      // si_int
            }
            case SYS -> {
                putLong(b, 88, getLong(si, 16));    // si_call_addr
                putInt(b, 84, getInt(si, 24));      // si_syscall
                putInt(b, 96, getInt(si, 28));      // si_arch
            }
        }
        return b;
    }

    private static int getInt(byte[] b, int off) {
        int v = 0;
        for (int i = 3; i >= 0; i--) v = (v << 8) | (b[off + i] & 0xff);
        return v;
    }

    private static long getLong(byte[] b, int off) {
        return (getInt(b, off) & 0xffffffffL) | ((long) getInt(b, off + 4) << 32);
    }

    private static void putShort(byte[] b, int off, short v) {
        b[off] = (byte) v;
        b[off + 1] = (byte) (v >>> 8);
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
