package dev.herd.unicorn;

import java.lang.foreign.MemorySegment;

/**
 * A saved CPU context ({@code uc_context}) of one engine, from {@link Unicorn#contextSave()}.
 * Close it to free the native memory ({@code uc_context_free}); closing the engine frees any
 * context still open, after which this object is unusable. Not thread-safe: use it from the
 * engine's thread.
 */
public final class UcContext implements AutoCloseable {
    final Unicorn owner;
    MemorySegment ptr;

    UcContext(Unicorn owner, MemorySegment ptr) {
        this.owner = owner;
        this.ptr = ptr;
    }

    /**
     * Whether the context has been freed (by {@link #close()} or the engine's close).
     *
     * @return true if freed
     */
    public boolean isClosed() {
        return ptr == null;
    }

    /**
     * Reads a register of up to 64 bits from the saved context ({@code uc_context_reg_read}).
     *
     * @param regId register id of the engine's architecture
     * @return the value, zero-extended
     */
    public long regRead(int regId) {
        return owner.contextRegRead(this, regId);
    }

    /**
     * Writes a register of up to 64 bits in the saved context ({@code uc_context_reg_write}).
     *
     * @param regId register id
     * @param value the value
     */
    public void regWrite(int regId, long value) {
        owner.contextRegWrite(this, regId, value);
    }

    /**
     * The raw saved state ({@code uc_context_size} bytes: libunicorn's header, then the CPU state
     * struct of its QEMU target). Its layout is private to the library build; use it only for
     * fields located by probing that build (see {@code ExceptionLatchX86_64}). The segment is valid
     * until the context or engine is closed.
     *
     * @return the context's bytes
     */
    public MemorySegment bytes() {
        return owner.contextBytes(this);
    }

    /** Frees the context; idempotent. */
    @Override
    public void close() {
        owner.contextFree(this);
    }
}
