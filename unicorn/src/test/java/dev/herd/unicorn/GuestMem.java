package dev.herd.unicorn;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/** Test helper: page-aligned host memory from an Arena, mapped into an engine with memMapPtr. */
final class GuestMem implements AutoCloseable {
    final Arena arena = Arena.ofShared();
    final MemorySegment host;
    final long guestBase;

    GuestMem(long guestBase, long size) {
        this.guestBase = guestBase;
        this.host = arena.allocate(size, 4096);
    }

    GuestMem map(Unicorn uc, int perms) {
        uc.memMapPtr(guestBase, host.byteSize(), perms, host.address());
        return this;
    }

    /** Writes bytes (given as ints for readability) at a guest address; returns the end address. */
    long put(long guestAddr, int... bytes) {
        for (int i = 0; i < bytes.length; i++) {
            host.set(JAVA_BYTE, guestAddr - guestBase + i, (byte) bytes[i]);
        }
        return guestAddr + bytes.length;
    }

    @Override
    public void close() {
        arena.close();
    }
}
