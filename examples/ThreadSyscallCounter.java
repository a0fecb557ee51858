import dev.herd.Herd;
import dev.herd.Intercept;
import dev.herd.Syscalls;
import dev.herd.ThreadListener;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * Counts the syscalls of every guest thread of a (pthread) program, with hooks running on the
 * guest threads concurrently, and prints a summary after the guest's own output:
 * "threads: N", "syscalls: M", "gettid calls: G" and the busiest syscalls.
 *
 * <pre>
 * java --enable-native-access=ALL-UNNAMED -cp "$(bin/herd classpath):/tmp/ex" ThreadSyscallCounter PROGRAM [ARGS...]
 * </pre>
 */
public final class ThreadSyscallCounter {
    private ThreadSyscallCounter() {}

    public static void main(String[] args) throws Exception {
        if (args.length == 0) {
            System.err.println("usage: ThreadSyscallCounter PROGRAM [ARGS...]");
            System.exit(2);
        }
        String[] guestArgs = java.util.Arrays.copyOfRange(args, 1, args.length);
        Map<Integer, LongAdder> perThread = new ConcurrentHashMap<>();
        Map<String, LongAdder> perName = new ConcurrentHashMap<>();
        LongAdder started = new LongAdder();
        int status;
        try (Herd herd = Herd.builder().program(args[0], guestArgs).build()) {
            herd.addThreadListener(new ThreadListener() {
                @Override
                public void threadStarted(int tid) {
                    started.increment();
                    perThread.putIfAbsent(tid, new LongAdder());
                }
            });
            for (int nr = 0; nr < 512; nr++) {
                if (Syscalls.name(nr) == null) continue;
                herd.setSyscall(nr, Intercept.ENTER, ev -> {
                    perThread.computeIfAbsent(ev.tid(), t -> new LongAdder()).increment();
                    perName.computeIfAbsent(ev.name(), n -> new LongAdder()).increment();
                });
            }
            status = herd.run();
        }
        long total = perThread.values().stream().mapToLong(LongAdder::sum).sum();
        System.out.flush();
        System.out.println("threads: " + started.sum());
        System.out.println("syscalls: " + total);
        LongAdder gettid = perName.get("gettid");
        System.out.println("gettid calls: " + (gettid == null ? 0 : gettid.sum()));
        Map<Long, String> top = new TreeMap<>(java.util.Comparator.reverseOrder());
        perName.forEach((n, c) -> top.merge(c.sum(), n, (a, b) -> a + "," + b));
        top.entrySet().stream().limit(5).forEach(e -> System.out.println("  " + e.getValue() + ": " + e.getKey()));
        System.exit(status);
    }
}
