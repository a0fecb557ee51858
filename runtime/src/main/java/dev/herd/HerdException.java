package dev.herd;

/**
 * A guest could not be started: the program is missing, unreadable or not a static x86_64 ELF, or
 * a host resource (pipe, memory) could not be had.
 */
public final class HerdException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    HerdException(String message, Throwable cause) {
        super(message, cause);
    }
}
