package dev.herd.memory;

import dev.herd.host.ErrnoException;
import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.*;

/** GuestMemory racing with munmap/mmap/mprotect/releaseDeferred must never crash the JVM. */
class ConcurrentAccessTest {
    @Test
    void accessorsSurviveConcurrentUnmapAndRelease() throws Exception {
        final long P = 4096, base = 0x20000000L;
        try (GuestAddressSpace as = GuestAddressSpace.create(1L << 36)) {
            GuestMemory mem = as.memory();
            AtomicBoolean stop = new AtomicBoolean();
            AtomicLong ok = new AtomicLong(), faults = new AtomicLong();
            Thread[] readers = new Thread[2];
            for (int t = 0; t < readers.length; t++) {
                readers[t] = new Thread(() -> {
                    long i = 0;
                    while (!stop.get()) {
                        long g = base + (i++ % 16) * P + 8;
                        try {
                            mem.writeLong(g, i);
                            mem.readLong(g);
                            mem.read(g - 8, 64);
                            ok.incrementAndGet();
                        } catch (ErrnoException e) {
                            faults.incrementAndGet();
                        }
                    }
                });
                readers[t].start();
            }
            long end = System.nanoTime() + 1_000_000_000L;
            int k = 0;
            while (System.nanoTime() < end) {
                as.mmap(base, 16 * P, Prot.READ | Prot.WRITE, MapFlags.PRIVATE | MapFlags.ANONYMOUS | MapFlags.FIXED, -1, 0);
                as.mprotect(base + (k % 16) * P, P, Prot.READ);
                as.munmap(base + ((k + 3) % 16) * P, 2 * P);
                as.releaseDeferred();
                as.munmap(base, 16 * P);
                as.releaseDeferred();
                k++;
            }
            stop.set(true);
            for (Thread t : readers) t.join();
            assertTrue(ok.get() + faults.get() > 0);
        }
    }
}
