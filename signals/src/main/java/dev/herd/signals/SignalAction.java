package dev.herd.signals;

/**
 * One signal's disposition as the guest set it with rt_sigaction: handler (SIG_DFL = 0,
 * SIG_IGN = 1, else a guest address), SA_* flags, restorer and the mask added during the handler.
 */
public record SignalAction(long handler, long flags, long restorer, long mask) {
    public static final long SIG_DFL = 0, SIG_IGN = 1;
    public static final SignalAction DEFAULT = new SignalAction(SIG_DFL, 0, 0, 0);
}
