package dev.herd.runtime.loader;

/**
 * The program cannot be executed because of what its file contains (Linux's {@code ENOEXEC}
 * family): not an ELF file, the wrong architecture, a malformed header, a segment that does not
 * fit. The message is one human sentence fragment meant to be printed as
 * {@code herd: PROGRAM: <message>} (exit status 126), so no stack trace is recorded: this is a
 * diagnosis of the input, not a bug in Herd.
 */
public final class ExecFormatException extends Exception {
    public ExecFormatException(String message) {
        super(message, null, false, false);
    }
}
