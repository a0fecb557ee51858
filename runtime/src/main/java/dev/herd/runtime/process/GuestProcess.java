package dev.herd.runtime.process;

import dev.herd.memory.GuestAddressSpace;
import dev.herd.runtime.fs.FdTable;
import dev.herd.runtime.fs.PathResolver;
import dev.herd.signals.SignalActions;
import dev.herd.threads.GuestThread;

import java.util.Collection;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One guest process: its address space, file descriptors, filesystem view, resource limits and
 * live threads, and how it ended. Shared by all of its guest threads; thread-safe.
 *
 * <p>The guest pid is the TID of the guest's first thread, so that, as on Linux, the main thread's
 * TID equals the pid even though the JVM's own pid belongs to another thread.
 */
public final class GuestProcess {
    private final GuestAddressSpace addressSpace;
    private final FdTable fds;
    private final PathResolver paths;
    private final String exePath;
    private final ResourceLimits limits = new ResourceLimits();
    private final SignalActions signalActions = new SignalActions();
    private final ConcurrentHashMap<Integer, GuestThread> threads = new ConcurrentHashMap<>();
    private final CompletableFuture<ProcessExit> exit = new CompletableFuture<>();
    private volatile int pid;

    public GuestProcess(GuestAddressSpace addressSpace, FdTable fds, PathResolver paths, String exePath) {
        this.addressSpace = addressSpace;
        this.fds = fds;
        this.paths = paths;
        this.exePath = exePath;
    }

    public GuestAddressSpace addressSpace() { return addressSpace; }
    public FdTable fds() { return fds; }
    public PathResolver paths() { return paths; }
    public ResourceLimits limits() { return limits; }
    public SignalActions signalActions() { return signalActions; }
    /** Host path of the guest program, the answer to readlink("/proc/self/exe"). */
    public String exePath() { return exePath; }

    /** Guest pid: the TID of the first guest thread. */
    public int pid() { return pid; }

    /** Records a thread that has started running (it knows its TID). The first one fixes the pid. */
    public void threadStarted(GuestThread thread) {
        if (pid == 0) pid = thread.tid();
        threads.put(thread.tid(), thread);
    }

    /** Forgets an ended thread; the last one ending ends the process with {@code lastStatus}. */
    public void threadEnded(GuestThread thread, int lastStatus) {
        threads.remove(thread.tid());
        if (threads.isEmpty()) exit.complete(new ProcessExit(lastStatus & 0xff, 0));
    }

    public Collection<GuestThread> threads() { return threads.values(); }

    public GuestThread thread(int tid) { return threads.get(tid); }

    /** exit_group: the first caller fixes the status; every thread is asked to stop. */
    public void exitGroup(ProcessExit how) {
        if (exit.complete(how)) {
            for (GuestThread t : threads.values()) t.requestExit();
        }
    }

    public boolean exiting() { return exit.isDone(); }

    /** Completes when the process has ended. */
    public CompletableFuture<ProcessExit> exitFuture() { return exit; }
}
