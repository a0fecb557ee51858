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
    final EngineMemoryView memoryView;
    private GuestThread owner;

    EngineSlot(CpuArch arch, GuestAddressSpace addressSpace) {
        engine = arch.openEngine();
        try {
            engine.enableExactStops();
            memoryView = new EngineMemoryView(addressSpace, engine);
            arch.hookSyscalls(engine, () -> owner.onSyscall());
            engine.hookMemInvalid(UcHook.UC_HOOK_MEM_INVALID,
                    (uc, type, address, size, value) -> owner.onInvalidMemory(type, address));
            engine.hookInterrupt((uc, intno) -> owner.onInterrupt(intno));
        } catch (RuntimeException e) {
            engine.close();
            throw e;
        }
    }

    /** Hands the slot to {@code thread}; only that thread runs the engine from now on. */
    void attach(GuestThread thread) {
        owner = thread;
        engine.clearStopRequest();
    }

    void close() { engine.close(); }
}
