package dev.herd;

/**
 * A user hook (syscall hook, code or memory hook, thread listener) threw, which ended the guest
 * run: every guest thread was stopped. The {@linkplain #getCause() cause} is what the hook threw;
 * {@link #tid()} the guest thread it ran on.
 */
public final class HookFailedException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final int tid;

    HookFailedException(int tid, String where, Throwable cause) {
        super("hook " + where + " on guest thread " + tid + " threw " + cause, cause);
        this.tid = tid;
    }

    /** Guest TID of the thread the failing hook ran on. @return the TID */
    public int tid() { return tid; }
}
