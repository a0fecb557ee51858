package dev.herd;

import dev.herd.runtime.syscall.InterceptedCall;

/**
 * One syscall as a {@link SyscallHook} sees it: the calling guest thread, the syscall number and
 * name, its six arguments (changeable in {@link Intercept#ENTER} and {@link Intercept#CALL}), its
 * result (settable), checked guest memory and the thread's registers. Valid only during the hook's
 * callback, on the guest thread that made the call.
 *
 * <p>Results follow the raw kernel convention: a failure is {@code -errno} (e.g. {@code -2} for
 * ENOENT), which the guest's libc turns into {@code -1} and {@code errno}.
 */
public final class SyscallEvent {
    private final HerdRun run;
    private final InterceptedCall call;
    private final Intercept phase;
    private GuestRegisters registers;
    private boolean valid = true;

    SyscallEvent(HerdRun run, InterceptedCall call, Intercept phase) {
        this.run = run;
        this.call = call;
        this.phase = phase;
    }

    void invalidate() {
        valid = false;
        if (registers != null) registers.invalidate();
    }

    private void check() {
        if (!valid) throw new IllegalStateException("a SyscallEvent is only valid during its hook's callback");
    }

    /** @return the guest TID of the calling thread (the pid for the main thread) */
    public int tid() { return call.context().tid(); }

    /** @return the guest pid */
    public int pid() { return call.context().process().pid(); }

    /** @return the syscall number (x86_64 numbering) */
    public long number() { return call.number(); }

    /** @return the syscall's Linux name, e.g. {@code "openat"}, or {@code "syscall_N"} for unknown numbers */
    public String name() { return call.name(); }

    /** @return when this hook runs relative to the call */
    public Intercept phase() { return phase; }

    /**
     * Argument {@code i} as the guest passed it (or as an earlier hook changed it).
     *
     * @param i 0 to 5
     * @return the raw 64-bit value
     */
    public long arg(int i) {
        check();
        return call.arg(java.util.Objects.checkIndex(i, 6));
    }

    /**
     * Changes argument {@code i} for the call (effective in ENTER and CALL hooks; an EXIT hook sees
     * the change only for its own use).
     *
     * @param i     0 to 5
     * @param value new raw value
     */
    public void setArg(int i, long value) {
        check();
        call.arg(java.util.Objects.checkIndex(i, 6), value);
    }

    /**
     * The result: in EXIT hooks what the call returned (or an earlier hook set); in ENTER and CALL
     * hooks 0 unless a hook set one.
     *
     * @return the raw result ({@code -errno} on failure)
     */
    public long returnValue() {
        check();
        return call.result();
    }

    /**
     * Sets the result the guest sees. In a CALL (or ENTER) hook the syscall then does not run; in
     * an EXIT hook it replaces what the call returned.
     *
     * @param value raw result, {@code -errno} for a failure
     */
    public void setReturn(long value) {
        check();
        call.result(value);
    }

    /** @return checked access to the guest's memory */
    public GuestMemoryAccess memory() {
        check();
        return run.memory();
    }

    /**
     * The calling thread's registers, valid during this callback.
     *
     * @return the registers
     */
    public GuestRegisters registers() {
        check();
        if (registers == null) registers = new GuestRegisters(call.context().thread().engine());
        return registers;
    }

    /**
     * Reads argument {@code i} as a pointer to a NUL-terminated string (at most 4096 bytes).
     *
     * @param i 0 to 5
     * @return the string
     * @throws GuestMemoryException if the pointer is bad
     */
    public String argString(int i) {
        return memory().readString(arg(i), 4096);
    }

    /**
     * Copies {@code bytes} into a scratch area of guest memory private to the calling thread and
     * returns its address, valid until the next syscall of this thread begins (long enough for the
     * call being intercepted to use it). Several copies for the same call do not overlap; in
     * total they may use up to 8 KiB per call. The area is a mapping Herd adds to the guest
     * (named {@code [herd-scratch]}).
     *
     * @param bytes what to copy
     * @return its guest address (16-byte aligned)
     */
    public long copyToScratch(byte[] bytes) {
        check();
        return run.scratch(call, bytes);
    }

    /**
     * Points argument {@code i} at a copy of {@code s} (UTF-8, NUL-terminated) in the thread's
     * scratch area: how an ENTER hook redirects a path without touching the guest's own memory.
     *
     * @param i 0 to 5
     * @param s the new string
     */
    public void setArgString(int i, String s) {
        setArg(i, copyToScratch(GuestMemoryAccess.cString(s)));
    }

    @Override
    public String toString() {
        return name() + "(" + Long.toHexString(call.arg(0)) + ", " + Long.toHexString(call.arg(1)) + ", "
                + Long.toHexString(call.arg(2)) + ") [" + phase + ", tid " + tid() + "]";
    }
}
