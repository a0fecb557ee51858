package dev.herd.threads;

import dev.herd.unicorn.Unicorn;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The byte form of a thread's registers for {@link CpuArch#saveThreadState}: each 64-bit register
 * of a list as 8 bytes, then each wide register of a second list as 16, little-endian. Only the
 * same architecture's list reads it back; its length is checked.
 */
public final class ThreadStates {
    private ThreadStates() {}

    public static byte[] save(Unicorn engine, int[] words, int[] wide) {
        long[] values = new long[words.length];
        engine.regReadBatch(words, values);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(8L * words.length + 16L * wide.length, 16);
            for (int i = 0; i < words.length; i++) out.set(ValueLayout.JAVA_LONG_UNALIGNED, 8L * i, values[i]);
            for (int i = 0; i < wide.length; i++) engine.regRead(wide[i], out.asSlice(8L * words.length + 16L * i, 16));
            return out.toArray(ValueLayout.JAVA_BYTE);
        }
    }

    public static void restore(Unicorn engine, int[] words, int[] wide, byte[] state) {
        if (state.length != 8L * words.length + 16L * wide.length) {
            throw new IllegalArgumentException("register state of " + state.length + " bytes, not this architecture's");
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment in = arena.allocate(state.length, 16);
            MemorySegment.copy(state, 0, in, ValueLayout.JAVA_BYTE, 0, state.length);
            long[] values = new long[words.length];
            for (int i = 0; i < words.length; i++) values[i] = in.get(ValueLayout.JAVA_LONG_UNALIGNED, 8L * i);
            engine.regWriteBatch(words, values);
            for (int i = 0; i < wide.length; i++) engine.regWrite(wide[i], in.asSlice(8L * words.length + 16L * i, 16));
        }
    }
}
