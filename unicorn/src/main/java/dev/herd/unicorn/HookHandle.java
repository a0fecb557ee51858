package dev.herd.unicorn;

import java.lang.foreign.MemorySegment;

/**
 * A hook registered on one {@link Unicorn} engine; pass it to {@link Unicorn#hookDel} to remove
 * it. The upcall stub behind it stays allocated until the engine is closed, because libunicorn
 * 2.x only marks a deleted hook and may still call it until the current {@code uc_emu_start}
 * unwinds (deleting a hook from inside a hook is legal).
 */
public final class HookHandle {
    final Unicorn owner;
    final long handle;
    final int type;
    // Strong reference so the stub's target (the Java hook) is reachable as long as the handle is.
    final MemorySegment stub;
    boolean deleted;
    /** A memory hook that can see guest stores (the engine's store fast path is off while it exists). */
    boolean seesGuestWrites;

    HookHandle(Unicorn owner, long handle, int type, MemorySegment stub) {
        this.owner = owner;
        this.handle = handle;
        this.type = type;
        this.stub = stub;
    }

    /**
     * The {@code uc_hook} value libunicorn returned.
     *
     * @return the native hook handle
     */
    public long nativeHandle() {
        return handle;
    }

    /**
     * The {@link UcHook} type bits this hook was added with.
     *
     * @return the hook type
     */
    public int type() {
        return type;
    }

    /**
     * Whether {@link Unicorn#hookDel} has been called for this hook.
     *
     * @return true once deleted
     */
    public boolean isDeleted() {
        return deleted;
    }

    @Override
    public String toString() {
        return "HookHandle[type=0x" + Integer.toHexString(type) + ", handle=0x" + Long.toHexString(handle)
                + (deleted ? ", deleted]" : "]");
    }
}
