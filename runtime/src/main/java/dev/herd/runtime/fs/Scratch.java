package dev.herd.runtime.fs;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;

/**
 * Per-thread native scratch memory for host syscall arguments (path strings, open_how, pollfd
 * arrays, ...), used as a stack: {@code int m = s.mark(); try { ... } finally { s.release(m); }}.
 * Never used for guest data buffers (those are passed to the host by address, uncopied).
 * Requests that do not fit come from an automatic arena (freed by the GC).
 */
final class Scratch {
    private static final int SIZE = 64 * 1024;
    private static final ThreadLocal<Scratch> TL = ThreadLocal.withInitial(Scratch::new);
    /** All of memory: raw access to addresses this class handed out. */
    static final MemorySegment ALL = MemorySegment.NULL.reinterpret(Long.MAX_VALUE);

    private final long base;
    private int top;

    private Scratch() {
        MemorySegment seg = Arena.ofAuto().allocate(SIZE, 16);
        // keep the segment reachable for the thread's lifetime through the ThreadLocal
        this.holder = seg;
        this.base = seg.address();
    }

    @SuppressWarnings("unused")
    private final MemorySegment holder;

    static Scratch get() { return TL.get(); }

    int mark() { return top; }

    void release(int mark) { top = mark; }

    /** Zeroed native memory, 16-byte aligned, valid until released. */
    long alloc(long bytes) {
        long aligned = (bytes + 15) & ~15L;
        if (top + aligned <= SIZE) {
            long p = base + top;
            top += (int) aligned;
            ALL.asSlice(p, bytes).fill((byte) 0);
            return p;
        }
        return Arena.ofAuto().allocate(Math.max(bytes, 1), 16).address();
    }

    /** A NUL-terminated copy of the string's ISO-8859-1 bytes (paths are byte strings). */
    long cstr(String s) {
        byte[] b = s.getBytes(StandardCharsets.ISO_8859_1);
        long p = alloc(b.length + 1L);
        MemorySegment.copy(b, 0, ALL, ValueLayout.JAVA_BYTE, p, b.length);
        return p;
    }

    static int getInt(long addr) { return ALL.get(ValueLayout.JAVA_INT_UNALIGNED, addr); }
    static void putInt(long addr, int v) { ALL.set(ValueLayout.JAVA_INT_UNALIGNED, addr, v); }
    static long getLong(long addr) { return ALL.get(ValueLayout.JAVA_LONG_UNALIGNED, addr); }
    static void putLong(long addr, long v) { ALL.set(ValueLayout.JAVA_LONG_UNALIGNED, addr, v); }
    static short getShort(long addr) { return ALL.get(ValueLayout.JAVA_SHORT_UNALIGNED, addr); }
    static void putShort(long addr, short v) { ALL.set(ValueLayout.JAVA_SHORT_UNALIGNED, addr, v); }
    static byte getByte(long addr) { return ALL.get(ValueLayout.JAVA_BYTE, addr); }
    static void putByte(long addr, byte v) { ALL.set(ValueLayout.JAVA_BYTE, addr, v); }

    static byte[] bytes(long addr, int len) {
        byte[] b = new byte[len];
        MemorySegment.copy(ALL, ValueLayout.JAVA_BYTE, addr, b, 0, len);
        return b;
    }

    static void copyIn(byte[] src, int off, long addr, int len) {
        MemorySegment.copy(src, off, ALL, ValueLayout.JAVA_BYTE, addr, len);
    }
}
