package dev.herd.runtime.cli;

import dev.herd.host.HostKernel;
import dev.herd.host.HostSyscall;
import dev.herd.runtime.launch.GuestLauncher;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;

/**
 * A fork's child Herd whose guest has exited goes on as its parent's next fork spare, instead of
 * its JVM exiting and the next fork paying a JVM start: a shell loop of fork+execve+wait otherwise
 * runs one JVM start per command (docs/BENCHMARKS.md, "Processes"), and a reused JVM has the fork
 * path compiled already. It is reused only when nothing of the run is left: the guest exited (not
 * killed by a signal, no execve delegated to another Herd, no kernel proxy), its threads ended,
 * its memory released, and the host process state a later guest would inherit
 * ({@link InheritableHostState}) is what it was before the run (a guest that called setsid,
 * setuid, setpriority or left a child running makes its JVM end as before).
 * {@code HERD_FORK_RECYCLE=off} (or {@code HERD_FORK_SPARE=off}) turns this off.
 */
final class SpareRecycling {
    private final InheritableHostState before;

    private SpareRecycling(InheritableHostState before) {
        this.before = before;
    }

    /** Heap in use above which a reused JVM collects before it serves again. */
    private static final long HEAP_TRIM_BYTES = 40L << 20;

    /** How long the run's threads get to end after the guest's exit (they are past exit_group). */
    private static final long THREADS_END_MS = 2000;

    /** Starts watching this JVM's host state (call before the guest runs); null when turned off. */
    static SpareRecycling begin() {
        if ("off".equals(System.getenv("HERD_FORK_RECYCLE")) || "off".equals(System.getenv("HERD_FORK_SPARE"))) return null;
        return new SpareRecycling(InheritableHostState.capture());
    }

    /**
     * Whether a guest that has just exited may return as a spare, decided before its exit report
     * (which says so) from what is quick to see: it exited rather than being killed, runs no
     * execve's image in another Herd, had no kernel proxy, and this JVM is still in its process
     * group and session, which are its parent's (a spawn may have asked for others), with no child
     * process left (its exit report then moves it to a group of its own, as an idle spare is:
     * ForkSpare). The rest is {@link #reset}'s.
     */
    boolean mayReturn(GuestLauncher.RunningGuest guest, boolean killed, boolean proxy) {
        if (killed || proxy || guest.process().execChild() != 0) return false;
        return before.fitForParent();
    }

    /**
     * After the exit report: waits for the run's threads to end, releases its memory, takes the
     * cwd back and stops signal forwarding to it; returns whether this JVM is now as it was
     * before the run (else it must exit). {@code err}: where HERD_DEBUG says why not.
     */
    boolean reset(GuestLauncher.RunningGuest guest, java.io.PrintStream err) throws InterruptedException {
        long end = System.nanoTime() + THREADS_END_MS * 1_000_000L;
        while (guest.process().threads().count() > 0 && System.nanoTime() < end) Thread.sleep(1);
        guest.mainThread().join(Math.max(1, (end - System.nanoTime()) / 1_000_000));
        if (guest.process().threads().count() > 0 || guest.mainThread().isAlive()) return refuse(err, List.of("guest threads still running"));
        HostSignalForwarding.detach();
        // No guest thread can touch the memory any more (else it is left, as the API does).
        guest.process().addressSpace().close();
        chdir(before.cwd());
        List<String> changed = before.differences(InheritableHostState.capture());
        if (!changed.isEmpty()) return refuse(err, changed);
        // Each run leaves ~2 MB of garbage; G1 lets eden grow into the initial heap (1/64 of the
        // machine's memory) before it collects, so a JVM reused for a long shell loop grew to
        // ~350 MB resident (measured: 100 -> 350 MB over 400 reuses). A full collection now and
        // then gives the memory back (~10-20 ms, once per ~20 reuses).
        Runtime rt = Runtime.getRuntime();
        if (rt.totalMemory() - rt.freeMemory() > HEAP_TRIM_BYTES) {
            System.gc();
            dev.herd.host.StartupTrace.mark("fork spare: heap collected");
        }
        dev.herd.host.StartupTrace.mark("fork spare: reused");
        return true;
    }

    private static boolean refuse(java.io.PrintStream err, List<String> why) {
        // stdio is /dev/null by now (the exit report let go of the guest's): HERD_STARTUP_TRACE's
        // file says it, and HERD_DEBUG's line goes to where the spare started.
        String line = "fork spare: not reused: " + String.join("; ", why);
        dev.herd.host.StartupTrace.mark(line);
        if (System.getenv("HERD_DEBUG") != null) err.println("herd: " + line);
        return false;
    }

    private static void chdir(String path) {
        if (path == null) return;
        byte[] bytes = path.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocate(bytes.length + 1L);
            MemorySegment.copy(bytes, 0, p, ValueLayout.JAVA_BYTE, 0, bytes.length);
            HostKernel.call(HostSyscall.CHDIR, p.address());
        }
    }
}
