package dev.herd.threads;

import dev.herd.memory.EngineMemoryView;
import dev.herd.memory.GuestAddressSpace;
import dev.herd.unicorn.UcHook;
import dev.herd.unicorn.Unicorn;

/**
 * An engine with its memory view and Herd's hooks, which outlives the guest threads that use it:
 * when a thread ends its slot goes back to the {@link EnginePool}, so the next thread starts with
 * the regions mapped and the translation cache warm (a fresh engine re-translates every block it
 * runs; DESIGN fact 10). The hooks dispatch to whichever thread currently owns the slot.
 */
final class EngineSlot {
    final Unicorn engine;
    /** The engine's view of the address space, from {@link #bind}; set before any thread attaches. */
    EngineMemoryView memoryView;
    private final boolean translatorAtomics;
    private GuestThread owner;

    EngineSlot(CpuArch arch, GuestAddressSpace addressSpace, boolean translatorAtomics) {
        this(arch, translatorAtomics);
        bind(addressSpace);
    }

    /**
     * An engine with Herd's wrappers and hooks but no address space yet ({@link PreparedEngine}):
     * {@link #bind} before a thread attaches.
     */
    EngineSlot(CpuArch arch, boolean translatorAtomics) {
        this.translatorAtomics = translatorAtomics;
        engine = arch.openEngine();
        try {
            engine.enableExactStops();
            engine.enableFastStores(); // false: this libunicorn keeps every store on the slow path
            // false: this libunicorn has no such wrapper. Guarded: libunicorn's atomic helpers skip
            // its permission check, so they may only write where the fast-store ranges allow.
            if (translatorAtomics && engine.enableTranslatorAtomics() && !engine.guardTranslatorAtomics()) {
                throw new IllegalStateException("translator atomics need the store fast path (its ranges guard them)");
            }
            arch.hookTraps(engine, () -> owner.onSyscall(), intno -> owner.onInterrupt(intno));
            engine.hookMemInvalid(UcHook.UC_HOOK_MEM_INVALID,
                    (uc, type, address, size, value) -> owner.onInvalidMemory(type, address));
        } catch (RuntimeException e) {
            engine.close();
            throw e;
        }
    }

    /** Gives the engine its address space; once. Closes the engine if that fails. */
    void bind(GuestAddressSpace addressSpace) {
        try {
            if (translatorAtomics && !"0".equals(System.getenv("HERD_DIRECT_ATOMICS"))) {
                engine.directAtomics(addressSpace.hostBase()); // every region is mapped at hostBase + address
            }
            // One engine alone on its memory: plain atomics until the memory view's sync says otherwise.
            if (!addressSpace.concurrentAccess()) engine.suspendTranslatorAtomics();
            memoryView = new EngineMemoryView(addressSpace, engine);
        } catch (RuntimeException e) {
            engine.close();
            throw e;
        }
    }

    boolean translatorAtomics() { return translatorAtomics; }

    private boolean preciseFaults;

    /** Hands the slot to {@code thread}; only that thread runs the engine from now on. */
    void attach(GuestThread thread, boolean precise) {
        owner = thread;
        engine.clearStopRequest();
        if (precise) enablePreciseFaults();
    }

    /**
     * Makes the PC exact in the invalid-memory hook. libunicorn 2.0.1 stores the guest PC before a
     * memory access only when a valid-access memory hook exists; without one, the PC read in the
     * hook is stale when the block was entered by chaining (and 2.0.1 never restores it). Where
     * herd_native.c notes each load/store helper's return address, the hook restores the PC from it
     * ({@link Unicorn#syncFaultPc}) and nothing is needed here. Otherwise a read/write hook on an
     * address range no guest can reach is installed: it never fires, but it sends every guest load
     * and store down the slow path (~14 ns each; CPython under faulthandler ran 3x slower), which is
     * why Herd only pays it once the guest has a handler for a fault signal (until then a fault ends
     * the process and only the report line's PC is at stake). On the engine's own thread, or while
     * no thread runs it.
     */
    void enablePreciseFaults() {
        if (preciseFaults) return;
        if (engine.exactFaultPcs()) {
            preciseFaults = true;
            return;
        }
        engine.hookMem(UcHook.UC_HOOK_MEM_READ | UcHook.UC_HOOK_MEM_WRITE,
                0xffff_ffff_ffff_f000L, 0xffff_ffff_ffff_f001L, (uc, type, address, size, value) -> { });
        preciseFaults = true;
    }

    void close() { engine.close(); }
}
