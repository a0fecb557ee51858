package dev.herd.runtime.process;

import dev.herd.memory.GuestAddressSpace;
import dev.herd.runtime.arch.GuestArch;
import dev.herd.runtime.fs.FdTable;
import dev.herd.runtime.fs.PathResolver;
import dev.herd.signals.ProcessSignals;
import dev.herd.threads.GuestThread;
import dev.herd.threads.GuestThreads;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One guest process: its address space, file descriptors, filesystem view, resource limits and
 * live threads, and how it ended. Shared by all of its guest threads; thread-safe.
 *
 * <p>The guest pid is the TID of the guest's first thread, so that, as on Linux, the main thread's
 * TID equals the pid even though the JVM's own pid belongs to another thread.
 */
public final class GuestProcess {
    private final GuestArch arch;
    private final GuestAddressSpace addressSpace;
    private final FdTable fds;
    private final PathResolver paths;
    /** /proc/self/exe; replaced by an execve run in this process ({@link InProcessExec}). */
    private volatile String exePath;
    private final ResourceLimits limits = new ResourceLimits();
    private final UtsNames uts = new UtsNames();
    private final GuestClock clock = new GuestClock();
    private final ProcessSignals signals = new ProcessSignals();
    private final SysvSharedSegments sysvShm = new SysvSharedSegments();
    private final AioContexts aio = new AioContexts();
    private final GuestThreads threads;
    /** Threads created and not yet ended; the process ends when it drops to zero. */
    private final AtomicInteger live = new AtomicInteger();
    private final CompletableFuture<ProcessExit> exit = new CompletableFuture<>();
    private volatile int pid;

    public GuestProcess(GuestArch arch, GuestAddressSpace addressSpace, FdTable fds, PathResolver paths, String exePath) {
        this.arch = arch;
        this.addressSpace = addressSpace;
        this.fds = fds;
        this.paths = paths;
        this.exePath = exePath;
        this.threads = new GuestThreads(addressSpace);
        // A child whose JVM outlives its guest comes back as this process's next fork spare.
        children.onReturn(forkSpares::offer);
    }

    private final GuestChildren children = new GuestChildren();
    private final ForkSpares forkSpares = new ForkSpares();

    private volatile ProcessBudget budget;

    /** The run's count of Herd processes (set once by the launcher). */
    public ProcessBudget budget() { return budget; }
    public void budget(ProcessBudget b) { budget = b; }

    /** The warm spare for this process's forks. */
    public ForkSpares forkSpares() { return forkSpares; }

    /** This process's children (vfork/posix_spawn), for wait and SIGCHLD. */
    public GuestChildren children() { return children; }

    /** How a stop signal's default action stops this process; null: it cannot (an embedding JVM). */
    private volatile java.util.function.IntConsumer hostStop;

    /** See {@link #hostStop(java.util.function.IntConsumer)}. */
    public java.util.function.IntConsumer hostStop() { return hostStop; }

    /**
     * Lets a stop signal's default action stop this process: {@code stop} gets the signal and
     * returns once the process continues (bin/herd stops its whole JVM by that host signal).
     */
    public void hostStop(java.util.function.IntConsumer stop) { this.hostStop = stop; }

    /**
     * A vfork child's view of this process: the same address space and architecture, its own copy
     * of the fd table, cwd/root/umask and signal dispositions (Linux's vfork child has its own), a
     * provisional pid. It lives while the child borrows its parent's thread, until execve or _exit.
     */
    GuestProcess vforkChild(int childPid, boolean clearHandlers) {
        GuestProcess c = new GuestProcess(arch, addressSpace, fds.copy(), paths.copyForChild(), exePath);
        for (int sig = 1; sig <= dev.herd.signals.Signals.MAX; sig++) {
            if (sig == dev.herd.signals.Signals.SIGKILL || sig == dev.herd.signals.Signals.SIGSTOP) continue;
            dev.herd.signals.SignalAction a = signals.actions().get(sig);
            boolean handler = a.handler() != dev.herd.signals.SignalAction.SIG_IGN && a.handler() != dev.herd.signals.SignalAction.SIG_DFL;
            if (clearHandlers && handler) continue; // CLONE_CLEAR_SIGHAND: handlers become SIG_DFL
            c.signals.actions().set(sig, a);
        }
        c.limits.copyFrom(limits); // a vfork child's setrlimit is its own, and its execve keeps them
        c.pid = childPid;
        c.vforkParent = pid;
        c.argvAddress = argvAddress;
        c.envpAddress = envpAddress;
        c.auxv = auxv;
        c.childHerdSource = () -> childHerd();
        c.delivery = delivery;
        c.personality = personality;
        c.budget = budget;
        return c;
    }

    /** The guest architecture this process runs (its syscall numbering, ABI, frames). */
    public GuestArch arch() { return arch; }
    public GuestAddressSpace addressSpace() { return addressSpace; }
    public FdTable fds() { return fds; }
    public PathResolver paths() { return paths; }
    public ResourceLimits limits() { return limits; }
    private volatile int personality;

    /** The execution domain personality(2) set (PER_LINUX, 0, at start). */
    public int personality() { return personality; }
    public void personality(int p) { personality = p; }

    /** The guest's wall clock (its offset from the host's). */
    public GuestClock clock() { return clock; }

    /** The host and domain names this process set for itself. */
    public UtsNames uts() { return uts; }
    public SysvSharedSegments sysvShm() { return sysvShm; }
    public AioContexts aio() { return aio; }
    public ProcessSignals signals() { return signals; }

    private volatile dev.herd.runtime.signal.SignalDelivery delivery;
    private final dev.herd.runtime.signal.ProcessTimers timers = new dev.herd.runtime.signal.ProcessTimers(this);

    /** alarm, setitimer and POSIX timers of this process. */
    public dev.herd.runtime.signal.ProcessTimers timers() { return timers; }

    /** Signal sending and delivery for this process (set once by the launcher). */
    public dev.herd.runtime.signal.SignalDelivery delivery() { return delivery; }
    public void delivery(dev.herd.runtime.signal.SignalDelivery d) {
        if (delivery != null) throw new IllegalStateException("delivery already set");
        delivery = d;
    }
    private volatile long argvAddress, envpAddress;
    private volatile byte[] auxv = new byte[0];

    /** Where the loader put argv and envp (the pointer arrays), and the auxv it gave. */
    public void startState(long argv, long envp, byte[] auxvBytes) {
        argvAddress = argv;
        envpAddress = envp;
        auxv = auxvBytes.clone();
        java.util.function.Consumer<GuestProcess> l = imageListener;
        if (l != null) l.accept(this);
    }

    /** Told of each new image (its argv and envp are in place); null: none. */
    private volatile java.util.function.Consumer<GuestProcess> imageListener;

    /**
     * {@code listener} hears of every image this process runs from now on (an execve's); the
     * command line sets it, to show the guest's command line as its JVM's (cli.ProcessTitle).
     */
    public void onNewImage(java.util.function.Consumer<GuestProcess> listener) {
        imageListener = listener;
    }

    public long argvAddress() { return argvAddress; }
    public long envpAddress() { return envpAddress; }
    /** The bytes of /proc/self/auxv. */
    public byte[] auxv() { return auxv.clone(); }

    private volatile ChildHerd childHerd;
    private volatile int execChild;

    /** The host pid of the child Herd running this process's image after an execve, else 0. */
    public int execChild() { return execChild; }
    public void execChild(int pid) { execChild = pid; }

    private volatile java.util.function.Supplier<ChildHerd> childHerdSource;

    /** How execve starts the new image (null: execve is not available, ENOSYS). */
    public ChildHerd childHerd() {
        ChildHerd c = childHerd;
        if (c != null) return c;
        java.util.function.Supplier<ChildHerd> source = childHerdSource;
        if (source == null) return null;
        synchronized (this) {
            if (childHerd == null) childHerd = source.get();
            return childHerd;
        }
    }

    public void childHerd(ChildHerd c) {
        childHerdSource = null;
        childHerd = c;
    }

    /**
     * Like {@link #childHerd(ChildHerd)}, computed at the first execve: describing this JVM asks
     * the management API for its options, which costs start-up time most runs never need back.
     */
    public void childHerd(java.util.function.Supplier<ChildHerd> source) {
        childHerd = null;
        childHerdSource = source;
    }

    /** Host path of the guest program, the answer to readlink("/proc/self/exe"). */
    public String exePath() { return exePath; }
    public void exePath(String path) { exePath = path; }

    private volatile int parentPid, parentHostPid;
    /**
     * For a vfork child's view: its parent's guest pid. The child borrows a thread of its parent's
     * JVM, so this JVM (as a process, group or session id) is its parent, not itself.
     */
    private int vforkParent;

    /** A fork's child: its parent's guest pid, and the parent Herd's host pid. */
    public void parent(int guestPid, int hostPid) {
        parentPid = guestPid;
        parentHostPid = hostPid;
    }

    /**
     * getppid for a fork's child: the parent's guest pid while the parent Herd is this JVM's host
     * parent, else (re-parented, as Linux re-parents orphans) the host's answer; 0 for a process
     * that is not a fork's child (its parent is the Herd JVM).
     */
    public int forkParentPid() {
        if (parentPid == 0) return 0;
        int host = (int) dev.herd.host.HostKernel.call(dev.herd.host.HostSyscall.GETPPID);
        return host == parentHostPid ? parentPid : host;
    }

    /**
     * The parent Herd knows for this process: a vfork child's (the process whose thread it
     * borrows), a fork's or an execve's (see {@link #forkParentPid}); 0 when the parent is simply
     * whatever started this Herd JVM.
     */
    public int knownParentPid() {
        return vforkParent != 0 ? vforkParent : forkParentPid();
    }

    /** getppid's answer without a kernel proxy: {@link #knownParentPid}, else this Herd JVM. */
    public int guestParentPid() {
        int p = knownParentPid();
        return p != 0 ? p : JVM_PID;
    }

    /** This JVM's pid: the host process every guest thread of this process lives in. */
    private static final int JVM_PID = (int) ProcessHandle.current().pid();

    /**
     * The guest's name for a host process (or group or session) id: this JVM is this process's
     * pid, a fork's parent Herd is the parent's pid, a child Herd is that child's pid; other ids
     * are the host's.
     */
    public int guestIdOf(int hostId) {
        if (hostId == JVM_PID) return vforkParent != 0 ? vforkParent : pid;
        if (parentHostPid != 0 && hostId == parentHostPid) return parentPid;
        int child = children.guestPidOf(hostId);
        return child != 0 ? child : hostId;
    }

    /**
     * Whether guest pid {@code guestId} is a Herd process this one knows (its parent Herd or a
     * child Herd), which can take any signal by {@code HostSignalCarrier}.
     */
    public boolean knowsHerd(int guestId) {
        if (guestId <= 0) return false;
        return (parentPid != 0 && parentHostPid != 0 && guestId == parentPid) || children.hostPidOf(guestId) != 0;
    }

    /** The host's id for a guest pid, group or session id: the inverse of {@link #guestIdOf}. */
    public int hostIdOf(int guestId) {
        if (guestId == pid || (vforkParent != 0 && guestId == vforkParent)) return JVM_PID;
        if (parentPid != 0 && guestId == parentPid) return parentHostPid;
        int child = children.hostPidOf(guestId);
        return child != 0 ? child : guestId;
    }

    /** Guest pid: the TID of the first guest thread. */
    public int pid() { return pid; }

    /** A thread is about to be started (before its Java thread exists). */
    public void threadCreated() { live.incrementAndGet(); }

    /** Records a thread that has started running (it knows its TID). The first one fixes the pid. */
    public void threadStarted(GuestThread thread) {
        if (pid == 0) pid = thread.tid();
    }

    /** An ended thread; the last one ending ends the process with its exit status. */
    public void threadEnded(GuestThread thread, int lastStatus) {
        if (live.decrementAndGet() == 0) exit.complete(ProcessExit.exited(lastStatus));
    }

    /** The process's live guest threads. */
    public GuestThreads threads() { return threads; }

    /** exit_group: the first caller fixes the status; every thread is asked to stop. */
    public void exitGroup(ProcessExit how) {
        if (exit.complete(how)) threads.exitAll();
    }

    public boolean exiting() { return exit.isDone(); }

    /** Completes when the process has ended. */
    public CompletableFuture<ProcessExit> exitFuture() { return exit; }
}
