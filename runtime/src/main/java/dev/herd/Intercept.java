package dev.herd;

/**
 * When a {@link SyscallHook} runs relative to the syscall it intercepts (as in Qiling's
 * {@code QL_INTERCEPT}).
 */
public enum Intercept {
    /**
     * Before the call: the hook sees and may change the arguments (and guest memory they point
     * to). Setting a return value here skips the call, as {@link #CALL} does.
     */
    ENTER,
    /**
     * Instead of the call: the first CALL hook that sets a return value
     * ({@link SyscallEvent#setReturn}) replaces the syscall, which then does not run (also works for
     * numbers Herd does not implement: no ENOSYS warning). A CALL hook that sets nothing lets the
     * next one, and finally Herd's implementation, run.
     */
    CALL,
    /** After the call: the hook sees the result and may replace it. */
    EXIT
}
