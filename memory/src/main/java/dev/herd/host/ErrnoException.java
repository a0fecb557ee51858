package dev.herd.host;

/**
 * A Linux error number travelling up to the syscall layer, where it becomes {@code -errno}.
 * Stack traces are not filled in: this is control flow on the hot path, not a bug report.
 */
public final class ErrnoException extends RuntimeException {
    private final int errno;

    public ErrnoException(int errno) {
        this(errno, Errno.name(errno));
    }

    public ErrnoException(int errno, String message) {
        super(message, null, false, false);
        if (errno <= 0) throw new IllegalArgumentException("errno must be positive: " + errno);
        this.errno = errno;
    }

    /** The positive Linux errno value. */
    public int errno() { return errno; }

    /** The syscall return value this error stands for. */
    public long asSyscallResult() { return -errno; }
}
