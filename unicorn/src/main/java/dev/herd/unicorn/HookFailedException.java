package dev.herd.unicorn;

/**
 * A Java hook threw during {@link Unicorn#emuStart}. The throwable could not be allowed to
 * unwind into libunicorn (that would crash the JVM), so the hook wrapper caught it, stopped the
 * engine and {@code emuStart} rethrows it here as the {@linkplain #getCause() cause}. Only the
 * first failure of one {@code emuStart} is reported; later ones are added as suppressed.
 */
public final class HookFailedException extends UnicornException {
    private static final long serialVersionUID = 1L;

    /**
     * Creates the exception.
     *
     * @param code  the code {@code uc_emu_start} returned (usually {@link UcErr#UC_ERR_OK})
     * @param cause what the hook threw
     */
    public HookFailedException(int code, Throwable cause) {
        super(code, "Java hook threw " + cause + " (uc_emu_start returned " + UcErr.nameOf(code) + ")", cause);
    }
}
