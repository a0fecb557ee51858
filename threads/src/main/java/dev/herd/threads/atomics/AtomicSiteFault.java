package dev.herd.threads.atomics;

/**
 * A patched atomic site's original instruction would have faulted: its memory operand is not
 * mapped with write access (a page fault: SIGSEGV with {@code si_addr = address}), or it is a
 * cmpxchg16b on a misaligned address (a general-protection fault: SIGSEGV with si_addr 0, as Linux
 * reports #GP). Nothing was changed in memory or registers; the guest PC is still the site.
 */
public final class AtomicSiteFault extends RuntimeException {
    private final long address;
    private final boolean write;
    private final boolean generalProtection;

    public AtomicSiteFault(long address, boolean write) {
        this(address, write, false);
    }

    public AtomicSiteFault(long address, boolean write, boolean generalProtection) {
        super(String.format("atomic site %s fault at %#x", generalProtection ? "general-protection" : write ? "write" : "read", address),
                null, false, false);
        this.address = address;
        this.write = write;
        this.generalProtection = generalProtection;
    }

    /** The first faulting guest address (for a page fault). */
    public long address() { return address; }

    /** True if the page is mapped but not writable (a protection fault on the write), false if unmapped. */
    public boolean write() { return write; }

    /** True for a #GP (misaligned cmpxchg16b) rather than a page fault. */
    public boolean generalProtection() { return generalProtection; }
}
