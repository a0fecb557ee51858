package dev.herd.stresstests;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * What a timed-out run was doing, read from /proc before it is killed: for the process and each
 * descendant, its pid, parent and command line (a Herd JVM shows its guest's), and for each of its
 * threads the name, state, kernel wait channel and system call (number and first arguments). A
 * Herd JVM's threads are named by role (guest threads by the guest's comm, herd-* for Herd's own)
 * and its -Xrs leaves no thread dump to ask for, so this is how a hang seen once in CI can be read
 * afterwards (a bash command substitution's wait that polled only a reused JVM's pidfd was found
 * from such a dump). JVM threads that only wait on a futex are counted, not listed.
 */
final class HangReport {
    private HangReport() {}

    static String of(ProcessHandle root) {
        StringBuilder out = new StringBuilder("process tree at the timeout:\n");
        List<ProcessHandle> all = new ArrayList<>();
        all.add(root);
        root.descendants().forEach(all::add);
        for (ProcessHandle h : all) process(h.pid(), out);
        return out.toString();
    }

    private static void process(long pid, StringBuilder out) {
        Path dir = Path.of("/proc", Long.toString(pid));
        String cmdline = read(dir.resolve("cmdline")).replace('\0', ' ').strip();
        if (cmdline.length() > 160) cmdline = cmdline.substring(0, 160) + "...";
        String stat = read(dir.resolve("stat"));
        out.append("  pid ").append(pid).append(" ppid ").append(field(stat, 1)).append(": ").append(cmdline).append('\n');
        int idle = 0;
        try (Stream<Path> tasks = Files.list(dir.resolve("task"))) {
            for (Path t : tasks.sorted().toList()) {
                String comm = read(t.resolve("comm")).strip(), wchan = read(t.resolve("wchan")).strip();
                String[] sys = read(t.resolve("syscall")).strip().split(" ");
                if (wchan.startsWith("futex") && sys.length > 0 && sys[0].equals("202") && !comm.startsWith("herd")) {
                    idle++; // a JVM thread parked on its own monitor or a guest futex wait (syscall 202)
                    continue;
                }
                out.append("    ").append(t.getFileName()).append(' ').append(comm).append(" state ")
                        .append(field(read(t.resolve("stat")), 0)).append(" wchan ").append(wchan.isEmpty() ? "-" : wchan)
                        .append(" syscall ").append(String.join(" ", java.util.Arrays.copyOf(sys, Math.min(sys.length, 4))))
                        .append('\n');
            }
        } catch (IOException e) {
            out.append("    (gone)\n");
            return;
        }
        if (idle > 0) out.append("    and ").append(idle).append(" threads in futex waits\n");
    }

    /** Field {@code n} of /proc/PID/stat after the command name (0: state, 1: ppid). */
    private static String field(String stat, int n) {
        int close = stat.lastIndexOf(')');
        if (close < 0) return "?";
        String[] f = stat.substring(close + 2).split(" ");
        return n < f.length ? f[n] : "?";
    }

    private static String read(Path p) {
        try {
            return new String(Files.readAllBytes(p), StandardCharsets.UTF_8);
        } catch (IOException | RuntimeException e) {
            return "";
        }
    }
}
