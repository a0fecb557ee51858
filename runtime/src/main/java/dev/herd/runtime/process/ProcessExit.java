package dev.herd.runtime.process;

/**
 * How a guest process ended: exited with {@code status} (0-255), or was killed by signal
 * {@code signal} (non-zero), which a shell reports as status 128+signal.
 */
public record ProcessExit(int status, int signal) {
    public static ProcessExit exited(int status) { return new ProcessExit(status & 0xff, 0); }
    public static ProcessExit killed(int signal) { return new ProcessExit(0, signal); }

    /** The status a shell would report: the exit status, or 128+signal. */
    public int shellStatus() { return signal != 0 ? 128 + signal : status; }
}
