package dev.herd.threads;

/**
 * An engine opened ahead of need, with Herd's wrappers and hooks but no address space: a warm
 * fork spare makes one while it waits, and the fork's child gets it as the engine of its first
 * thread ({@link EnginePool#EnginePool(CpuArch, GuestAddressSpace, int, boolean, PreparedEngine)}),
 * so that opening and hooking an engine (2-3 ms of a warm fork's path, measured with
 * {@code HERD_STARTUP_TRACE=1}) happens before the fork. Used once; an engine nobody took is
 * closed by {@link #close}.
 */
public final class PreparedEngine implements AutoCloseable {
    private final String arch;
    private EngineSlot slot;

    private PreparedEngine(String arch, EngineSlot slot) {
        this.arch = arch;
        this.slot = slot;
    }

    /** Opens an engine as {@link EnginePool} would for {@code arch} with {@code translatorAtomics}. */
    public static PreparedEngine open(CpuArch arch, boolean translatorAtomics) {
        return new PreparedEngine(arch.name(), new EngineSlot(arch, translatorAtomics));
    }

    /**
     * The engine, if it was made as a pool for {@code arch} and {@code translatorAtomics} would
     * make its own (otherwise it is closed): null after the first call.
     */
    synchronized EngineSlot take(CpuArch arch, boolean translatorAtomics) {
        EngineSlot s = slot;
        slot = null;
        if (s == null) return null;
        if (!this.arch.equals(arch.name()) || s.translatorAtomics() != translatorAtomics) {
            s.close();
            return null;
        }
        return s;
    }

    @Override
    public synchronized void close() {
        if (slot != null) slot.close();
        slot = null;
    }
}
