package dev.herd.host;

/**
 * Start-up probes: with {@code HERD_STARTUP_TRACE=1} in the environment, {@link #mark} writes one
 * line per milestone to stderr: milliseconds since the JVM process started (from
 * {@code /proc/self/stat}, 10 ms resolution for the origin, so the steps between marks are the
 * exact part) and since the previous mark, with the process and CLOCK_MONOTONIC (the same clock in
 * every process, so a fork's parent and child line up). Off, a mark is one static-final read. For measuring
 * (docs/BENCHMARKS.md, "Start-up"); the guest's stderr is shared, so never enable it in tests.
 */
public final class StartupTrace {
    private StartupTrace() {}

    private static final boolean ON = System.getenv("HERD_STARTUP_TRACE") != null;
    private static long last = System.nanoTime();
    private static final long ORIGIN = jvmStartNanos();

    public static boolean enabled() { return ON; }

    /** Records milestone {@code what}. */
    public static synchronized void mark(String what) {
        if (!ON) return;
        long now = System.nanoTime();
        System.err.printf("herd-startup: %8.1f ms since JVM start, +%7.1f ms  %s  [pid %d, monotonic %.1f ms]%n",
                (now - ORIGIN) / 1e6, (now - last) / 1e6, what, ProcessHandle.current().pid(), now / 1e6);
        last = now;
    }

    /** The JVM's start on the nanoTime scale: its start tick in /proc/self/stat vs /proc/uptime. */
    private static long jvmStartNanos() {
        long now = System.nanoTime();
        if (!ON) return now;
        try {
            String stat = java.nio.file.Files.readString(java.nio.file.Path.of("/proc/self/stat"));
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            double startSec = Long.parseLong(f[19]) / 100.0;          // field 22: starttime, in USER_HZ (100)
            String up = java.nio.file.Files.readString(java.nio.file.Path.of("/proc/uptime"));
            double upSec = Double.parseDouble(up.substring(0, up.indexOf(' ')));
            return now - (long) ((upSec - startSec) * 1e9);
        } catch (Exception e) {
            return now;
        }
    }
}
