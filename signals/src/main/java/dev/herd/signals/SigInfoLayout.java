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
        if (isFault(info)) {
            putLong(b, 16, info.addr());
        } else if (info.code() == SigInfo.SI_TIMER) {
            putInt(b, 16, info.timerId());
            putInt(b, 20, info.overrun());
            putLong(b, 24, info.value());
        } else {
            putInt(b, 16, info.pid());
            putInt(b, 20, info.uid());
            putLong(b, 24, info.value());
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

    /** Faults carry si_addr: SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP raised by the kernel (code > 0). */
    private static boolean isFault(SigInfo info) {
        return info.code() > 0 && info.code() < SigInfo.SI_KERNEL && switch (info.signo()) {
            case Signals.SIGSEGV, Signals.SIGBUS, Signals.SIGILL, Signals.SIGFPE, Signals.SIGTRAP -> true;
            default -> false;
        };
    }

    private static void putInt(byte[] b, int off, int v) {
        for (int i = 0; i < 4; i++) b[off + i] = (byte) (v >>> (8 * i));
    }

    private static void putLong(byte[] b, int off, long v) {
        for (int i = 0; i < 8; i++) b[off + i] = (byte) (v >>> (8 * i));
    }
}
