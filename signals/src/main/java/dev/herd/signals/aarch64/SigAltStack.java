package dev.herd.signals.aarch64;

import dev.herd.signals.AltStack;
import dev.herd.signals.ThreadSignalState;

/**
 * The generic sigaltstack rules the arm64 frame code applies (include/linux/sched/signal.h,
 * kernel/signal.c), with arm64's {@link #MINSIGSTKSZ}.
 */
final class SigAltStack {
    private SigAltStack() {}

    /**
     * arm64's MINSIGSTKSZ (asm/signal.h): the smallest stack sigaltstack and sigreturn's
     * restore_altstack accept. A fresh alternate stack of this size always holds a frame
     * ({@link SigframeLayout#FRAME_SIZE} + the frame record + 15 bytes of alignment).
     */
    static final long MINSIGSTKSZ = 5120;

    /** __on_sig_stack(): sp in (base, base + size] (stacks grow down). */
    static boolean onStack(long sp, long base, long size) {
        return Long.compareUnsigned(sp, base) > 0 && Long.compareUnsigned(sp - base, size) <= 0;
    }

    /** on_sig_stack(): never "on" an SS_AUTODISARM stack. */
    static boolean onSigStack(long sp, AltStack alt) {
        if ((alt.altStackFlags() & ThreadSignalState.SS_AUTODISARM) != 0) return false;
        return onStack(sp, alt.altStackBase(), alt.altStackSize());
    }

    /** sas_ss_flags(): SS_DISABLE when no stack is set, else SS_ONSTACK when sp is on it, else 0. */
    static int sasSsFlags(long sp, AltStack alt) {
        if (alt.altStackSize() == 0 || (alt.altStackFlags() & ThreadSignalState.SS_DISABLE) != 0) {
            return ThreadSignalState.SS_DISABLE;
        }
        return onSigStack(sp, alt) ? ThreadSignalState.SS_ONSTACK : 0;
    }

    /**
     * sigsp(): the top of the alternate stack when the action asks for it and the thread is not
     * already on it (nor has it disabled), else {@code sp}. No red zone on arm64.
     */
    static long sigsp(long sp, boolean saOnstack, AltStack alt) {
        if (saOnstack && sasSsFlags(sp, alt) == 0) return alt.altStackBase() + alt.altStackSize();
        return sp;
    }

    /**
     * restore_altstack(): do_sigaltstack(uc_stack, NULL, sp, MINSIGSTKSZ) with every error but
     * EFAULT ignored. {@code sp} is the stack pointer sigreturn has just restored.
     */
    static void restore(AltStack alt, long sp, long ssSp, int ssFlags, long ssSize) {
        if (onSigStack(sp, alt)) return; // EPERM
        int mode = ssFlags & ~ThreadSignalState.SS_AUTODISARM;
        if (mode != ThreadSignalState.SS_DISABLE && mode != ThreadSignalState.SS_ONSTACK && mode != 0) return; // EINVAL
        if (mode == ThreadSignalState.SS_DISABLE) {
            alt.restoreAltStack(0, 0, ThreadSignalState.SS_DISABLE);
            return;
        }
        if (Long.compareUnsigned(ssSize, MINSIGSTKSZ) < 0) return; // ENOMEM
        // Only SS_AUTODISARM of the mode bits is kept (SS_ONSTACK means 0), as ThreadSignalState does.
        alt.restoreAltStack(ssSp, ssSize, ssFlags & ThreadSignalState.SS_AUTODISARM);
    }
}
