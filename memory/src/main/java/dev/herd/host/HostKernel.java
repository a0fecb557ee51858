package dev.herd.host;

import dev.herd.ffm.HerdNative;
import dev.herd.ffm.NativeWords;

import java.lang.invoke.MethodHandle;

/**
 * Raw access to the host Linux kernel through libc's {@code syscall(2)}, by an FFM downcall to
 * herd_native.c's {@code herd_syscall}, which reads errno in C (DESIGN fact 9: ~10 ns per call
 * instead of JNA's ~100; every guest syscall that reaches the host goes through here). The host is x86_64, so host syscall numbers are
 * {@link HostSyscall} constants, independent of the guest architecture.
 *
 * <p>Every method returns the kernel's result, or {@code -errno} on failure, exactly like the
 * raw syscall ABI; callers that prefer exceptions use {@link #check(long)}. Pointers are host
 * addresses. Holds no state: safe from any thread. Not a critical downcall: syscalls may block.
 */
public final class HostKernel {
    private HostKernel() {}

    /** herd_native.c's herd_syscall: the raw syscall, returning -errno (one downcall shape for all of Herd). */
    private static final MethodHandle SYSCALL = NativeWords.handle(HerdNative.function("herd_syscall"));

    /** Host syscall with up to six arguments; returns the result or {@code -errno}. */
    public static long call(long nr, long a0, long a1, long a2, long a3, long a4, long a5) {
        return NativeWords.call(SYSCALL, nr, a0, a1, a2, a3, a4, a5);
    }

    public static long call(long nr) { return call(nr, 0, 0, 0, 0, 0, 0); }
    public static long call(long nr, long a0) { return call(nr, a0, 0, 0, 0, 0, 0); }
    public static long call(long nr, long a0, long a1) { return call(nr, a0, a1, 0, 0, 0, 0); }
    public static long call(long nr, long a0, long a1, long a2) { return call(nr, a0, a1, a2, 0, 0, 0); }
    public static long call(long nr, long a0, long a1, long a2, long a3) { return call(nr, a0, a1, a2, a3, 0, 0); }
    public static long call(long nr, long a0, long a1, long a2, long a3, long a4) { return call(nr, a0, a1, a2, a3, a4, 0); }

    /** Returns {@code result} if it is not an error, else throws {@link ErrnoException}. */
    public static long check(long result) {
        if (result < 0 && result >= -4095) throw new ErrnoException((int) -result);
        return result;
    }

    /** The calling host thread's kernel thread id. */
    public static int gettid() { return (int) call(HostSyscall.GETTID); }
}
