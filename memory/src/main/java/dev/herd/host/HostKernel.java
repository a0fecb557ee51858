package dev.herd.host;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.MethodHandle;

/**
 * Raw access to the host Linux kernel through libc's {@code syscall(2)}, by an FFM downcall that
 * captures errno (DESIGN fact 9: ~10 ns per call instead of JNA's ~100; every guest syscall that
 * reaches the host goes through here). The host is x86_64, so host syscall numbers are
 * {@link HostSyscall} constants, independent of the guest architecture.
 *
 * <p>Every method returns the kernel's result, or {@code -errno} on failure, exactly like the
 * raw syscall ABI; callers that prefer exceptions use {@link #check(long)}. Pointers are host
 * addresses. Holds no state but a per-thread errno slot: safe from any thread. Not a critical
 * downcall: syscalls may block.
 */
public final class HostKernel {
    private HostKernel() {}

    private static final MethodHandle SYSCALL;
    private static final long ERRNO_OFFSET;
    /** Where the downcall leaves errno: one slot per host thread, freed with the thread's ThreadLocal. */
    private static final ThreadLocal<MemorySegment> ERRNO = ThreadLocal.withInitial(
            () -> Arena.ofAuto().allocate(Linker.Option.captureStateLayout()));

    static {
        Linker linker = Linker.nativeLinker();
        StructLayout state = Linker.Option.captureStateLayout();
        ERRNO_OFFSET = state.byteOffset(MemoryLayout.PathElement.groupElement("errno"));
        SYSCALL = linker.downcallHandle(linker.defaultLookup().find("syscall").orElseThrow(),
                FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG),
                Linker.Option.firstVariadicArg(1), Linker.Option.captureCallState("errno"));
    }

    /** Host syscall with up to six arguments; returns the result or {@code -errno}. */
    public static long call(long nr, long a0, long a1, long a2, long a3, long a4, long a5) {
        MemorySegment errno = ERRNO.get();
        long r;
        try {
            r = (long) SYSCALL.invokeExact(errno, nr, a0, a1, a2, a3, a4, a5);
        } catch (Throwable t) {
            throw new IllegalStateException("syscall(" + nr + ") downcall failed", t);
        }
        return r == -1 ? -errno.get(JAVA_INT, ERRNO_OFFSET) : r;
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
