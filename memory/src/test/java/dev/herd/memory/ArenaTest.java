package dev.herd.memory;

import org.junit.jupiter.api.Test;

import java.io.File;

import static org.junit.jupiter.api.Assertions.*;

class ArenaTest {
    private static int openFds() {
        return new File("/proc/self/fd").list().length;
    }

    @Test
    void createCloseDoesNotLeak() {
        try (GuestAddressSpace warm = GuestAddressSpace.create(GuestAddressSpace.DEFAULT_SIZE)) {
            assertEquals(GuestAddressSpace.DEFAULT_SIZE, warm.size());
        }
        int before = openFds();
        for (int i = 0; i < 100; i++) {
            GuestAddressSpace as = GuestAddressSpace.create(GuestAddressSpace.DEFAULT_SIZE);
            long a = as.mmap(0, 8192, Prot.READ | Prot.WRITE, MapFlags.PRIVATE | MapFlags.ANONYMOUS, -1, 0);
            as.memory().writeLong(a, i);
            as.close();
            as.close();
        }
        assertEquals(before, openFds());
    }

    /** After close the host mappings are gone: Java access must fail with EFAULT, never crash the JVM. */
    @Test
    void accessAfterCloseIsEfault() {
        GuestAddressSpace as = GuestAddressSpace.create(1L << 36);
        long anon = as.mmap(0, 4096, Prot.READ | Prot.WRITE, MapFlags.PRIVATE | MapFlags.ANONYMOUS, -1, 0);
        GuestMemory m = as.memory();
        m.writeLong(anon, 42);
        as.close();
        var e = assertThrows(dev.herd.host.ErrnoException.class, () -> m.readLong(anon));
        assertEquals(dev.herd.host.Errno.EFAULT, e.errno());
        assertThrows(dev.herd.host.ErrnoException.class, () -> m.write(anon, new byte[8]));
    }

    @Test
    void layout() {
        try (GuestAddressSpace as = GuestAddressSpace.create(1L << 36)) {
            assertTrue(as.hostBase() != 0);
            assertEquals((1L << 36) - (8L << 30), as.mmapBase());
            assertEquals(0x10000, as.mmapMinAddr());
            assertEquals(0, as.version());
            assertTrue(as.mappings().isEmpty());
        }
    }
}
