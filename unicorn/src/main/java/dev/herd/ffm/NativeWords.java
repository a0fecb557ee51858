package dev.herd.ffm;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/**
 * The one downcall shape Herd uses for C functions with integer and pointer arguments: eight 64-bit
 * words in, one out. The JVM spins a stub class and its lambda forms for every distinct descriptor
 * and option set (~5 ms each in a cold JVM with the AOT cache, which does not keep them: measured),
 * and a run once made 15 shapes before its first guest instruction; equal descriptors share one
 * stub, whichever module asks. On the x86-64 System V ABI (and AArch64's) integer arguments of any C
 * width travel in 64-bit registers or stack slots, so a narrower C argument is passed widened
 * (pointers as addresses; the low bits are the value, which is all a callee reads), unused trailing
 * words are ignored by the callee, and the caller narrows the result to the C return type
 * ({@code (int)}; nothing to read for {@code void}). Variadic callees read integer varargs from the
 * same registers and slots, and the linker sets AL (the vector-register count a variadic x86-64
 * callee reads) to 0 for every downcall. Not for functions with floating-point arguments or
 * results, more than eight arguments, or a result whose errno must be captured.
 */
public final class NativeWords {
    private NativeWords() {}

    public static final FunctionDescriptor WORDS = FunctionDescriptor.of(JAVA_LONG,
            JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG);

    /** A {@link #WORDS} downcall handle for {@code function}, of type {@code (long x 8)long}. */
    public static MethodHandle handle(MemorySegment function, Linker.Option... options) {
        return Linker.nativeLinker().downcallHandle(function, WORDS, options);
    }

    /** Calls a {@link #WORDS} handle with eight words (unused ones 0). */
    public static long call(MethodHandle h, long a0, long a1, long a2, long a3, long a4, long a5, long a6, long a7) {
        try {
            return (long) h.invokeExact(a0, a1, a2, a3, a4, a5, a6, a7);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("downcall failed", t);
        }
    }

    public static long call(MethodHandle h) { return call(h, 0, 0, 0, 0, 0, 0, 0, 0); }
    public static long call(MethodHandle h, long a0) { return call(h, a0, 0, 0, 0, 0, 0, 0, 0); }
    public static long call(MethodHandle h, long a0, long a1) { return call(h, a0, a1, 0, 0, 0, 0, 0, 0); }
    public static long call(MethodHandle h, long a0, long a1, long a2) { return call(h, a0, a1, a2, 0, 0, 0, 0, 0); }
    public static long call(MethodHandle h, long a0, long a1, long a2, long a3) { return call(h, a0, a1, a2, a3, 0, 0, 0, 0); }
    public static long call(MethodHandle h, long a0, long a1, long a2, long a3, long a4) { return call(h, a0, a1, a2, a3, a4, 0, 0, 0); }
    public static long call(MethodHandle h, long a0, long a1, long a2, long a3, long a4, long a5) { return call(h, a0, a1, a2, a3, a4, a5, 0, 0); }
    public static long call(MethodHandle h, long a0, long a1, long a2, long a3, long a4, long a5, long a6) { return call(h, a0, a1, a2, a3, a4, a5, a6, 0); }
}
