package dev.herd.threads;

import dev.herd.memory.GuestAddressSpace;

import java.util.ArrayDeque;

/**
 * Idle engines of one process, kept for the next thread (see {@link EngineSlot}). Bounded: each
 * idle engine holds ~3 MiB resident and a 1 GiB code-cache reservation.
 */
public final class EnginePool implements AutoCloseable {
    /** How many idle engines to keep. */
    public static final int DEFAULT_CAPACITY = 16;

    private final CpuArch arch;
    private final GuestAddressSpace addressSpace;
    private final int capacity;
    private final boolean translatorAtomics;
    private final ArrayDeque<EngineSlot> idle = new ArrayDeque<>();
    private boolean closed;

    /**
     * @param translatorAtomics open engines with translator atomics ({@code Unicorn.enableTranslatorAtomics},
     *                          DESIGN fact 13): guest atomics are then host atomics and need no site patching
     */
    public EnginePool(CpuArch arch, GuestAddressSpace addressSpace, int capacity, boolean translatorAtomics) {
        this(arch, addressSpace, capacity, translatorAtomics, null);
    }

    /**
     * A pool whose first engine is {@code prepared} (may be null), if that was made for the same
     * architecture and atomics; otherwise {@code prepared} is closed and engines are opened as needed.
     */
    public EnginePool(CpuArch arch, GuestAddressSpace addressSpace, int capacity, boolean translatorAtomics,
                      PreparedEngine prepared) {
        this.translatorAtomics = translatorAtomics;
        this.arch = arch;
        this.addressSpace = addressSpace;
        this.capacity = capacity;
        EngineSlot slot = prepared == null ? null : prepared.take(arch, translatorAtomics);
        if (slot != null) {
            try {
                slot.bind(addressSpace);
                idle.addLast(slot);
            } catch (RuntimeException e) {
                // bind closed it: the first thread opens its own engine
            }
        }
    }

    /** An idle engine, or a new one. */
    EngineSlot take() {
        synchronized (this) {
            EngineSlot slot = idle.pollLast();
            if (slot != null) return slot;
        }
        return new EngineSlot(arch, addressSpace, translatorAtomics);
    }

    /** Returns an engine whose thread has ended; closes it if the pool is full or closed. */
    void give(EngineSlot slot) {
        synchronized (this) {
            if (!closed && idle.size() < capacity) {
                idle.addLast(slot);
                return;
            }
        }
        slot.close();
    }

    public synchronized int idleCount() { return idle.size(); }

    /** Closes every idle engine; engines given back later are closed at once. */
    @Override
    public void close() {
        ArrayDeque<EngineSlot> toClose;
        synchronized (this) {
            closed = true;
            toClose = new ArrayDeque<>(idle);
            idle.clear();
        }
        for (EngineSlot s : toClose) s.close();
    }
}
