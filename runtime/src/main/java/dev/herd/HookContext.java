package dev.herd;

/**
 * Where an engine hook ({@link InstructionHook}, {@link MemoryAccessHook}) fired: the guest thread,
 * its registers and guest memory. Valid only during the callback, on the thread running it.
 */
public final class HookContext {
    private final int tid;
    private final GuestMemoryAccess memory;
    private final dev.herd.unicorn.Unicorn engine;
    private GuestRegisters registers;

    HookContext(int tid, GuestMemoryAccess memory, dev.herd.unicorn.Unicorn engine) {
        this.tid = tid;
        this.memory = memory;
        this.engine = engine;
    }

    /** @return guest TID of the thread the hook fired on */
    public int tid() { return tid; }

    /** @return checked access to the guest's memory */
    public GuestMemoryAccess memory() { return memory; }

    /** @return the thread's registers, stopped at the hooked instruction or access; valid during the callback */
    public GuestRegisters registers() {
        if (registers == null) registers = new GuestRegisters(engine);
        return registers;
    }

    void invalidate() {
        if (registers != null) registers.invalidate();
    }
}
