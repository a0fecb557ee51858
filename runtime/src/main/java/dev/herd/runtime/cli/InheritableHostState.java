package dev.herd.runtime.cli;

import dev.herd.host.Errno;
import dev.herd.host.HostKernel;
import dev.herd.host.HostSyscall;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The state of this JVM's host process that a guest run can change through the host calls Herd
 * makes for it, and that the next guest run in the same JVM would inherit: session, credentials
 * and capabilities, umask, no_new_privs and seccomp, the calling thread's nice value, CPU and
 * memory affinity and I/O priority, resource limits, dumpable, parent-death
 * signal and subreaper, POSIX timers, namespaces, host signal actions, host child processes, open
 * fds and the cwd. Taken before a guest runs and again after it, on the same thread (the per-thread
 * parts are that thread's, which starts every guest thread of a spare): a JVM whose state is not
 * what it was must not serve another fork ({@link SpareRecycling}).
 *
 * <p>Things Herd keeps per guest without touching the host (itimers, personality, the guest's
 * own signal actions and limits) are not here: a run ends them with its objects.
 */
final class InheritableHostState {
    private final Map<String, String> values;
    private final Set<Integer> fds;

    private InheritableHostState(Map<String, String> values, Set<Integer> fds) {
        this.values = values;
        this.fds = fds;
    }

    /** The fields of /proc/thread-self/status that a guest can change through host calls. */
    private static final List<String> STATUS_FIELDS = List.of("Umask", "Uid", "Gid", "Groups", "NoNewPrivs", "Seccomp",
            "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "Cpus_allowed_list", "Mems_allowed_list");
    private static final List<String> NAMESPACES = List.of("cgroup", "ipc", "mnt", "net", "pid", "time", "user", "uts");
    private static final int PR_GET_PDEATHSIG = 2, PR_GET_DUMPABLE = 3, PR_GET_CHILD_SUBREAPER = 37,
            PRIO_PROCESS = 0, IOPRIO_WHO_PROCESS = 1, RLIMIT_COUNT = 16, KERNEL_SIGACTION_SIZE = 32,
            P_ALL = 0, WEXITED = 4, WNOHANG = 1, WNOWAIT = 0x01000000, WALL = 0x40000000;

    /** The state now, as seen from the calling thread. */
    static InheritableHostState capture() {
        // The JVM's scratch area for host-call arguments (one per JVM, made at first use) is
        // there before the first record, so that its fd is not taken for the run's.
        dev.herd.host.SharedScratch.get();
        Map<String, String> v = new LinkedHashMap<>();
        try {
            for (String line : Files.readAllLines(Path.of("/proc/thread-self/status"))) {
                int colon = line.indexOf(':');
                if (colon > 0 && STATUS_FIELDS.contains(line.substring(0, colon))) v.put(line.substring(0, colon), line.substring(colon + 1).strip());
            }
            v.put("timers", Files.readString(Path.of("/proc/self/timers")));
            v.put("cwd", Files.readSymbolicLink(Path.of("/proc/self/cwd")).toString());
            for (String ns : NAMESPACES) {
                Path link = Path.of("/proc/self/ns/" + ns);
                if (Files.exists(link, java.nio.file.LinkOption.NOFOLLOW_LINKS)) v.put("ns " + ns, Files.readSymbolicLink(link).toString());
            }
        } catch (IOException e) {
            v.put("unreadable", e.toString()); // never equal to a later capture's
            v.put("at", Long.toString(System.nanoTime()));
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(128, 8);
            v.put("sid", Long.toString(HostKernel.call(HostSyscall.GETSID, 0)));
            v.put("nice", Long.toString(HostKernel.call(HostSyscall.GETPRIORITY, PRIO_PROCESS, 0)));
            v.put("ioprio", Long.toString(HostKernel.call(HostSyscall.IOPRIO_GET, IOPRIO_WHO_PROCESS, 0)));
            v.put("dumpable", Long.toString(HostKernel.call(HostSyscall.PRCTL, PR_GET_DUMPABLE)));
            buf.set(ValueLayout.JAVA_INT, 0, 0);
            HostKernel.call(HostSyscall.PRCTL, PR_GET_PDEATHSIG, buf.address());
            v.put("pdeathsig", Integer.toString(buf.get(ValueLayout.JAVA_INT, 0)));
            buf.set(ValueLayout.JAVA_INT, 0, 0);
            HostKernel.call(HostSyscall.PRCTL, PR_GET_CHILD_SUBREAPER, buf.address());
            v.put("subreaper", Integer.toString(buf.get(ValueLayout.JAVA_INT, 0)));
            for (int r = 0; r < RLIMIT_COUNT; r++) {
                long got = HostKernel.call(HostSyscall.PRLIMIT64, 0, r, 0, buf.address());
                v.put("rlimit " + r, got < 0 ? "error " + got
                        : Long.toUnsignedString(buf.get(ValueLayout.JAVA_LONG, 0)) + "/" + Long.toUnsignedString(buf.get(ValueLayout.JAVA_LONG, 8)));
            }
            for (int sig = 1; sig <= 64; sig++) {
                if (sig == 9 || sig == 19) continue; // SIGKILL, SIGSTOP: no action to read
                long got = HostKernel.call(HostSyscall.RT_SIGACTION, sig, 0, buf.address(), 8);
                v.put("sigaction " + sig, got < 0 ? "error " + got
                        : Long.toHexString(buf.get(ValueLayout.JAVA_LONG, 0)) + "/" + Long.toHexString(buf.get(ValueLayout.JAVA_LONG, 8)));
            }
            v.put("children", children());
        }
        return new InheritableHostState(v, openFds());
    }

    private static Set<Integer> openFds() {
        Set<Integer> out = new TreeSet<>();
        try (var dir = Files.list(Path.of("/proc/self/fd"))) {
            dir.forEach(p -> out.add(Integer.parseInt(p.getFileName().toString())));
        } catch (IOException | RuntimeException e) {
            out.add(-1); // never equal to a later capture's
        }
        return out;
    }

    /**
     * What differs in {@code now} from this state (empty: nothing). An fd open now that was not
     * then counts unless it is the JVM's own (a jar or a file of the JDK it opened meanwhile) or
     * the listing's.
     */
    List<String> differences(InheritableHostState now) {
        List<String> out = new ArrayList<>();
        for (var e : values.entrySet()) {
            String later = now.values.get(e.getKey());
            if (!e.getValue().equals(later)) out.add(e.getKey() + ": " + e.getValue() + " -> " + later);
        }
        for (var k : now.values.keySet()) if (!values.containsKey(k)) out.add(k + ": new");
        String javaHome = System.getProperty("java.home");
        for (int fd : now.fds) {
            if (fds.contains(fd)) continue;
            String target;
            try {
                target = Files.readSymbolicLink(Path.of("/proc/self/fd/" + fd)).toString();
            } catch (IOException e) {
                continue; // closed since: the listing's own fd
            }
            if (target.endsWith(".jar") || (javaHome != null && target.startsWith(javaHome + "/"))) continue;
            out.add("fd " + fd + " -> " + target);
        }
        return out;
    }

    /**
     * Whether this JVM is in the session of this state and in the process group of its parent
     * (the Herd that started it and would fork from it next), as a child that moved nowhere is,
     * with no child process. (The group is not in the state: an idle spare has one of its own
     * and joins its parent's when a fork hands it a child.)
     */
    boolean fitForParent() {
        long pgid = HostKernel.call(HostSyscall.GETPGID, 0), sid = HostKernel.call(HostSyscall.GETSID, 0);
        long parent = HostKernel.call(HostSyscall.GETPPID);
        if (!Long.toString(sid).equals(values.get("sid"))) return false;
        if (HostKernel.call(HostSyscall.GETPGID, parent) != pgid || HostKernel.call(HostSyscall.GETSID, parent) != sid) return false;
        return "none".equals(children());
    }

    /** "none" when this process has no child (running or not yet reaped), else "some". */
    private static String children() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment info = a.allocate(128, 8);
            long r;
            do r = HostKernel.call(HostSyscall.WAITID, P_ALL, 0, info.address(), WEXITED | WNOHANG | WNOWAIT | WALL, 0);
            while (r == -Errno.EINTR);
            return r == -Errno.ECHILD ? "none" : "some";
        }
    }

    /** The cwd this state had (to go back to after a run that moved it). */
    String cwd() {
        return values.get("cwd");
    }
}
