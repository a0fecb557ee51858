package dev.herd;

import dev.herd.host.ErrnoException;
import dev.herd.memory.GuestAddressSpace;
import dev.herd.memory.GuestMemory;
import dev.herd.memory.Mapping;

import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Checked access to one run's guest memory from Java, usable from any thread (hooks, or the
 * embedding application while the guest runs). Every access is checked against the guest's
 * mappings and permissions: an unmapped or (for writes) read-only range throws
 * {@link GuestMemoryException} instead of touching memory, so a racing munmap cannot crash the JVM.
 * Writes are data writes: an engine that already translated code at the written address keeps
 * running the old code.
 */
public final class GuestMemoryAccess {
    /** Largest single read or write, in bytes (16 MiB). */
    public static final int MAX_ACCESS = 16 << 20;

    private final GuestAddressSpace space;
    private final GuestMemory memory;
    /** Accesses hold the read side; {@link #close} takes the write side, then unmaps the space. */
    private final java.util.concurrent.locks.ReentrantReadWriteLock lifetime =
            new java.util.concurrent.locks.ReentrantReadWriteLock();
    private boolean closed;

    /** Closes the address space once no access is in progress; later accesses fail with EFAULT. */
    void close() {
        lifetime.writeLock().lock();
        try {
            closed = true;
            space.close();
        } finally {
            lifetime.writeLock().unlock();
        }
    }

    @FunctionalInterface
    private interface Access<T> {
        T run();
    }

    private <T> T guarded(long address, String what, Access<T> access) {
        var rl = lifetime.readLock();
        rl.lock();
        try {
            if (closed) throw new GuestMemoryException(address, "run ended, " + what);
            return access.run();
        } catch (ErrnoException e) {
            throw new GuestMemoryException(address, what);
        } finally {
            rl.unlock();
        }
    }

    GuestMemoryAccess(GuestAddressSpace space) {
        this.space = space;
        this.memory = space.memory();
    }

    private static void checkLength(long address, int length) {
        if (length < 0 || length > MAX_ACCESS) throw new GuestMemoryException(address, "bad length " + length);
    }

    /**
     * Reads {@code length} bytes.
     *
     * @param address guest address
     * @param length  byte count, at most {@link #MAX_ACCESS}
     * @return the bytes
     * @throws GuestMemoryException if the range is not readable
     */
    public byte[] read(long address, int length) {
        checkLength(address, length);
        return guarded(address, "cannot read " + length + " bytes", () -> memory.read(address, length));
    }

    /**
     * Writes {@code bytes}.
     *
     * @param address guest address
     * @param bytes   what to write, at most {@link #MAX_ACCESS} bytes
     * @throws GuestMemoryException if the range is not writable by the guest
     */
    public void write(long address, byte[] bytes) {
        checkLength(address, bytes.length);
        guarded(address, "cannot write " + bytes.length + " bytes", () -> {
            memory.write(address, bytes);
            return null;
        });
    }

    /** Reads a little-endian 64-bit value. @param address guest address @return the value */
    public long readLong(long address) {
        return guarded(address, "cannot read 8 bytes", () -> memory.readLong(address));
    }

    /** Writes a little-endian 64-bit value. @param address guest address @param value the value */
    public void writeLong(long address, long value) {
        guarded(address, "cannot write 8 bytes", () -> {
            memory.writeLong(address, value);
            return null;
        });
    }

    /** Reads a little-endian 32-bit value. @param address guest address @return the value */
    public int readInt(long address) {
        return guarded(address, "cannot read 4 bytes", () -> memory.readInt(address));
    }

    /** Writes a little-endian 32-bit value. @param address guest address @param value the value */
    public void writeInt(long address, int value) {
        guarded(address, "cannot write 4 bytes", () -> {
            memory.writeInt(address, value);
            return null;
        });
    }

    /**
     * Reads a NUL-terminated string, decoded as UTF-8 (malformed bytes become U+FFFD).
     *
     * @param address guest address of the first byte
     * @param maxLength bound: the NUL must be within this many bytes
     * @return the string without its NUL
     * @throws GuestMemoryException if unreadable before the NUL, or no NUL within the bound
     */
    public String readString(long address, int maxLength) {
        return new String(readStringBytes(address, maxLength), StandardCharsets.UTF_8);
    }

    /**
     * Reads a NUL-terminated string's raw bytes (without the NUL).
     *
     * @param address   guest address of the first byte
     * @param maxLength bound: the NUL must be within this many bytes
     * @return the bytes
     * @throws GuestMemoryException if unreadable before the NUL, or no NUL within the bound
     */
    public byte[] readStringBytes(long address, int maxLength) {
        checkLength(address, maxLength);
        return guarded(address, "no readable NUL-terminated string within " + maxLength + " bytes", () -> memory.readCStringBytes(address, maxLength));
    }

    /**
     * Writes {@code s} as UTF-8 followed by a NUL.
     *
     * @param address guest address
     * @param s       the string
     * @throws GuestMemoryException if the range is not writable
     */
    public void writeString(long address, String s) {
        write(address, cString(s));
    }

    static byte[] cString(String s) {
        byte[] utf8 = s.getBytes(StandardCharsets.UTF_8);
        byte[] z = new byte[utf8.length + 1];
        System.arraycopy(utf8, 0, z, 0, utf8.length);
        return z;
    }

    /**
     * The guest's mappings at this moment, in address order.
     *
     * @return an immutable snapshot
     */
    public List<GuestMapping> mappings() {
        return guarded(0, "cannot list mappings", () -> space.mappings().stream().map(GuestMappings::of).toList());
    }

    /**
     * The mapping containing {@code address}.
     *
     * @param address a guest address
     * @return the mapping, or null if the address is not mapped
     */
    public GuestMapping mappingAt(long address) {
        Mapping m = guarded(address, "cannot find a mapping", () -> space.find(address));
        return m == null ? null : GuestMappings.of(m);
    }

    /** Conversion from the memory module's mapping record. */
    static final class GuestMappings {
        private GuestMappings() {}

        static GuestMapping of(Mapping m) { return new GuestMapping(m.start(), m.end(), m.prot(), m.name()); }
    }
}
