package dev.herd.signals;

/**
 * The sigaltstack state a frame builder needs and may change: base, size, flags (SS_DISABLE /
 * SS_AUTODISARM). Implemented by {@link ThreadSignalState}.
 */
public interface AltStack {
    long altStackBase();
    long altStackSize();
    int altStackFlags();
    /** Sets the state without validation (used by sigreturn's restore and SS_AUTODISARM). */
    void restoreAltStack(long base, long size, int flags);
}
