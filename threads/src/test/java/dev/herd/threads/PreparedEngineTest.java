package dev.herd.threads;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.herd.memory.GuestAddressSpace;
import dev.herd.threads.x86_64.CpuX86_64;
import dev.herd.unicorn.Unicorn;
import org.junit.jupiter.api.Test;

/**
 * A warm fork spare's engine opened before the fork ({@link PreparedEngine}) becomes the pool's
 * first engine only if the pool would have opened the same kind; otherwise it is closed, never
 * leaked, and the pool opens its own.
 */
class PreparedEngineTest {
    private static final long SPACE = 1L << 30;

    @Test
    void aMatchingEngineIsThePoolsFirstAndIsUsedOnce() {
        CpuArch arch = new CpuX86_64();
        PreparedEngine prepared = PreparedEngine.open(arch, false);
        try (GuestAddressSpace space = GuestAddressSpace.create(SPACE);
             EnginePool pool = new EnginePool(new CpuX86_64(), space, 4, false, prepared)) {
            org.junit.jupiter.api.Assertions.assertEquals(1, pool.idleCount(), "the prepared engine waits in the pool");
            EngineSlot first = pool.take();
            assertNotNull(first.memoryView, "bound to the pool's address space");
            EngineSlot second = pool.take();
            assertNotSame(first.engine, second.engine, "a second thread gets an engine of its own");
            assertNull(prepared.take(arch, false), "a prepared engine is handed out once");
            pool.give(first);
            pool.give(second);
        }
    }

    @Test
    void anEngineMadeForOtherAtomicsIsClosedNotUsed() {
        PreparedEngine prepared = PreparedEngine.open(new CpuX86_64(), false);
        EngineSlot slot = prepared.take(new CpuX86_64(), false);
        assertNotNull(slot);
        Unicorn engine = slot.engine;
        slot.close();
        PreparedEngine other = PreparedEngine.open(new CpuX86_64(), false);
        Unicorn otherEngine = engineInside(other);
        try (GuestAddressSpace space = GuestAddressSpace.create(SPACE);
             EnginePool pool = new EnginePool(new CpuX86_64(), space, 4, true, other)) {
            org.junit.jupiter.api.Assertions.assertEquals(0, pool.idleCount(), "no engine of the wrong kind in the pool");
            assertTrue(otherEngine.isClosed(), "the mismatched engine is closed");
            assertTrue(engine.isClosed());
        }
    }

    @Test
    void closingAnUntakenEngineClosesIt() {
        PreparedEngine prepared = PreparedEngine.open(new CpuX86_64(), false);
        Unicorn engine = engineInside(prepared);
        assertFalse(engine.isClosed());
        prepared.close();
        assertTrue(engine.isClosed());
        assertNull(prepared.take(new CpuX86_64(), false));
    }

    /** The engine inside {@code p}, without taking it. */
    private static Unicorn engineInside(PreparedEngine p) {
        try {
            var f = PreparedEngine.class.getDeclaredField("slot");
            f.setAccessible(true);
            return ((EngineSlot) f.get(p)).engine;
        } catch (ReflectiveOperationException e) {
            throw new AssertionError(e);
        }
    }
}
