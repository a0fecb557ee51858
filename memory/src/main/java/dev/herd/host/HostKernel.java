package dev.herd.host;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * Raw access to the host Linux kernel through libc's {@code syscall(2)} (an FFM downcall that
 * captures {@code errno}). The host is x86_64, so host syscall numbers are {@link HostSyscall}
 * constants, independent of the guest architecture.
 *
 * <p>Every method returns the kernel's result, or {@code -errno} on failure, exactly like the
 * raw syscall ABI; callers that prefer exceptions use {@link #check(long)}. Pointers are host
 * addresses. Holds no state but a per-thread errno slot: safe from any thread.
 *
 * <p>This was a JNA direct mapping; FFM is cheaper per call (DESIGN fact 9) and, more to the
 * point for start-up, loading JNA cost a run ~0.1-0.3 s before the guest's first instruction
 * (its native library is unpacked from the jar into a temporary file, and its library search runs
 * {@code /sbin/ldconfig -p} in a child process). JNA remains for {@link HostSpawn} (execve only).
 */
public final class HostKernel {
    private static final StructLayout CAPTURE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CAPTURE.varHandle(StructLayout.PathElement.groupElement("errno"));
    // long syscall(long number, ...): variadic after the number; the kernel takes six registers.
    private static final MethodHandle SYSCALL = Linker.nativeLinker().downcallHandle(
            Linker.nativeLinker().defaultLookup().find("syscall").orElseThrow(),
            FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG),
            Linker.Option.captureCallState("errno"), Linker.Option.firstVariadicArg(1));
    /** Each thread's errno capture slot (freed with the thread: automatic arena). */
    private static final ThreadLocal<MemorySegment> STATE =
            ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(CAPTURE));

    private HostKernel() {}

    /** Host syscall with up to six arguments; returns the result or {@code -errno}. */
    public static long call(long nr, long a0, long a1, long a2, long a3, long a4, long a5) {
        MemorySegment state = STATE.get();
        long r;
        try {
            r = (long) SYSCALL.invokeExact(state, nr, a0, a1, a2, a3, a4, a5);
        } catch (Throwable t) {
            throw new IllegalStateException("syscall downcall failed", t);
        }
        return r == -1 ? -(int) ERRNO.get(state, 0L) : r;
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
