package dev.herd.runtime.process;

import dev.herd.host.HostKernel;
import dev.herd.host.HostSyscall;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * A warm fork spare is speculative: it boots and waits under SCHED_IDLE, so that it takes only CPU
 * nothing else wants (its boot, a JVM, had slowed the exec a shell's fork child does at once), and
 * every one of its threads goes back to SCHED_OTHER before a fork hands it a process (by the
 * parent, which must not wait on a starved spare, and again by the spare on receipt). The spare
 * never sets SCHED_IDLE itself: that could undo the parent's move back.
 */
public final class SpareScheduling {
    private SpareScheduling() {}

    /** Linux's SCHED_OTHER and SCHED_IDLE. */
    public static final int SCHED_OTHER = 0, SCHED_IDLE = 5;

    /** Every thread of process {@code pid} (0: this one) to {@code policy}, priority 0. */
    public static void allThreads(int pid, int policy) {
        String[] tasks = new java.io.File(pid == 0 ? "/proc/self/task" : "/proc/" + pid + "/task").list();
        if (tasks == null) return;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment param = a.allocate(4); // struct sched_param, priority 0
            for (String t : tasks) HostKernel.call(HostSyscall.SCHED_SETSCHEDULER, Integer.parseInt(t), policy, param.address());
        }
    }

    /** The first thread of a just-spawned process (its later threads inherit the policy). */
    static void firstThread(int pid, int policy) {
        try (Arena a = Arena.ofConfined()) {
            HostKernel.call(HostSyscall.SCHED_SETSCHEDULER, pid, policy, a.allocate(4).address());
        }
    }
}
