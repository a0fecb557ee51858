package dev.herd.runtime.process;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The data of each message a fork (or a vfork child's execve) sends a warm spare ({@link ForkSpare}):
 * how many fds the whole handover passes, the index of this message's first, when the parent
 * handed the child over (System.nanoTime: CLOCK_MONOTONIC, the clock of the spare's signal
 * records) and the parent's host process group, which the spare joins before the fork returns.
 */
public record HandoverHeader(int total, int first, long handedAt, int group) {
    private static final int SIZE = 24;

    byte[] toBytes() {
        return ByteBuffer.allocate(SIZE).order(ByteOrder.LITTLE_ENDIAN).putInt(total).putInt(first).putLong(handedAt)
                .putInt(group).array();
    }

    /** The header {@code data} begins with; null if it is too short to be one. */
    public static HandoverHeader of(byte[] data) {
        if (data.length < SIZE) return null;
        ByteBuffer b = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN);
        return new HandoverHeader(b.getInt(0), b.getInt(4), b.getLong(8), b.getInt(16));
    }
}
