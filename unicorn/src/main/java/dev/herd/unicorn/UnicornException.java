package dev.herd.unicorn;

/**
 * A libunicorn call returned an error. The message is {@code uc_strerror(code)} followed by the
 * call that failed and its arguments, so a log line alone says what went wrong and where.
 */
public class UnicornException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final int code;

    /**
     * Creates an exception for a failed call.
     *
     * @param code    the {@link UcErr} code returned by libunicorn
     * @param message the full message
     */
    public UnicornException(int code, String message) {
        super(message);
        this.code = code;
    }

    /**
     * Creates an exception with a cause.
     *
     * @param code    the {@link UcErr} code
     * @param message the full message
     * @param cause   the underlying failure
     */
    public UnicornException(int code, String message, Throwable cause) {
        super(message, cause);
        this.code = code;
    }

    /**
     * The Unicorn error code.
     *
     * @return a {@link UcErr} constant
     */
    public int code() {
        return code;
    }
}
