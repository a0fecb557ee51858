package dev.herd.host;

/**
 * Start-up probes: with {@code HERD_STARTUP_TRACE=1} in the environment, {@link #mark} writes one
 * line per milestone to stderr (with {@code HERD_STARTUP_TRACE=/absolute/path}, appended to that
 * file instead, where every Herd process of the run adds its lines): milliseconds since the JVM process started (from
 * {@code /proc/self/stat}, 10 ms resolution for the origin, so the steps between marks are the
 * exact part) and since the previous mark, with the process and CLOCK_MONOTONIC (the same clock in
 * every process, so a fork's parent and child line up). Off, a mark is one static-final read. For measuring
 * (docs/BENCHMARKS.md, "Start-up"); the guest's stderr is shared, so a test that needs to know
 * which path a run took uses a file.
 */
public final class StartupTrace {
    private StartupTrace() {}

    private static final boolean ON = System.getenv("HERD_STARTUP_TRACE") != null;
    private static final java.io.PrintStream OUT = output(System.getenv("HERD_STARTUP_TRACE"));

    private static java.io.PrintStream output(String setting) {
        if (setting == null || !setting.startsWith("/")) return System.err;
        try {
            return new java.io.PrintStream(new java.io.FileOutputStream(setting, true), true);
        } catch (java.io.IOException e) {
            return System.err;
        }
    }
    private static long last = System.nanoTime();
    private static final long ORIGIN = jvmStartNanos();

    public static boolean enabled() { return ON; }

    /**
     * Records milestone {@code what}. Formatted with integer arithmetic, not printf: the first
     * {@code %f} loads and interprets the Formatter's floating-point code (~10 ms on a cold JVM).
     * The time since the previous milestone starts after that milestone's line is written: the
     * first line's own cost (string concatenation's bootstrap, the process handle, the stream:
     * ~10 ms on a cold JVM) had been counted in the second milestone's time.
     */
    public static synchronized void mark(String what) {
        if (!ON) return;
        long now = System.nanoTime();
        OUT.println("herd-startup: " + millis(now - ORIGIN, 8) + " ms since JVM start, +" + millis(now - last, 7)
                + " ms  " + what + "  [pid " + ProcessHandle.current().pid() + ", monotonic " + millis(now, 0) + " ms]");
        last = System.nanoTime();
    }

    /** {@code nanos} as milliseconds with one decimal, right-aligned in {@code width} characters. */
    private static String millis(long nanos, int width) {
        long tenths = Math.round(nanos / 1e5);
        String s = (tenths < 0 ? "-" : "") + Math.abs(tenths) / 10 + "." + Math.abs(tenths) % 10;
        return s.length() >= width ? s : " ".repeat(width - s.length()) + s;
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
