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

    /**
     * Host syscalls get guest buffers unchecked (hostPointer): behind the guest view lies a guard
     * the host can never access, and an overrun longer than the guard is refused up front.
     */
    @Test
    void guardBehindTheGuestViewAndHostPointerBounds() throws Exception {
        try (GuestAddressSpace as = GuestAddressSpace.create(1L << 36)) {
            long end = as.hostBase() + as.size();
            String guard = null;
            for (String line : java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/self/maps"))) {
                String[] range = line.split(" ")[0].split("-");
                long s = Long.parseUnsignedLong(range[0], 16), e = Long.parseUnsignedLong(range[1], 16);
                if (s <= end && end < e) guard = line;
            }
            assertNotNull(guard, "a mapping right behind the guest view");
            assertTrue(guard.split(" ")[1].startsWith("---"), "inaccessible: " + guard);
            GuestMemory m = as.memory();
            long top = as.size() - 4096;
            assertEquals(as.hostBase() + top, m.hostPointer(top, 4096 + HostArena.GUARD));
            // Past the guard or above the space: a kernel-half address the host refuses (EFAULT after
            // its other checks, as Linux's access_ok).
            assertTrue(m.hostPointer(top, 4096 + HostArena.GUARD + 1) < 0);
            assertTrue(m.hostPointer(as.size(), 1) < 0);
            assertTrue(m.hostPointer(top, -1) < 0);
            assertTrue(m.hostPointer(GuestMemory.TASK_SIZE_MAX, 8) < 0, "past the user range: a kernel-half address");
            assertTrue(m.hostPointer(1L << 62, 8) < 0);
        }
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
