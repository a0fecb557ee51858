package dev.herd.runtime.fs;

import dev.herd.host.SharedScratch;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.ref.Cleaner;
import java.nio.charset.StandardCharsets;

/**
 * Per-thread native scratch memory for host syscall arguments (path strings, open_how, pollfd
 * arrays, ...), used as a stack: {@code int m = s.mark(); try { ... } finally { s.release(m); }}.
 * Never used for guest data buffers (those are passed to the host by address, uncopied).
 *
 * <p>A thread's scratch is a chunk of {@link SharedScratch}, which a kernel proxy maps at the same
 * address, so a call forwarded to the proxy can take these pointers as they are. The chunk goes
 * back when the thread's Scratch is collected. Requests that do not fit the chunk (none of Linux's
 * bounded arguments: UIO_MAXIOV iovecs are 16 KiB, a control buffer at most 64 KiB) come from an
 * automatic arena, which a proxy cannot see.
 */
final class Scratch {
    private static final int SIZE = SharedScratch.CHUNK;
    private static final Cleaner CLEANER = Cleaner.create();
    private static final ThreadLocal<Scratch> TL = ThreadLocal.withInitial(Scratch::new);
    /** All of memory: raw access to addresses this class handed out. */
    static final MemorySegment ALL = MemorySegment.NULL.reinterpret(Long.MAX_VALUE);

    private final long base;
    private int top;

    private Scratch() {
        SharedScratch shared = SharedScratch.get();
        long chunk = shared.takeChunk();
        if (chunk == 0) {
            // more live threads than chunks: private memory (a proxy sees none of it)
            MemorySegment seg = Arena.ofAuto().allocate(SIZE, 16);
            this.holder = seg;
            this.base = seg.address();
        } else {
            this.holder = null;
            this.base = chunk;
            CLEANER.register(this, () -> shared.returnChunk(chunk));
        }
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
