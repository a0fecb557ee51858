package dev.herd.runtime.process;

import dev.herd.ffm.HerdNative;
import dev.herd.ffm.NativeWords;
import dev.herd.host.HostKernel;
import dev.herd.host.HostSyscall;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

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

    /** herd_native.c's herd_sched_all_threads: one pass over /proc/PID/task in C. */
    private static final MethodHandle SCHED_ALL_THREADS = NativeWords.handle(HerdNative.function("herd_sched_all_threads"));

    /**
     * Every thread of process {@code pid} (0: this one) to {@code policy}, priority 0. In C: the
     * same pass in Java (list the directory, one downcall per thread) took 0.7-1.8 ms of a warm
     * fork's path in the spare, whose code for it is still interpreted.
     */
    public static void allThreads(int pid, int policy) {
        NativeWords.call(SCHED_ALL_THREADS, pid, policy);
    }

    /** The first thread of a just-spawned process (its later threads inherit the policy). */
    static void firstThread(int pid, int policy) {
        try (Arena a = Arena.ofConfined()) {
            HostKernel.call(HostSyscall.SCHED_SETSCHEDULER, pid, policy, a.allocate(4).address());
        }
    }
}
