package dev.herd.runtime.process;

import dev.herd.host.Errno;
import dev.herd.host.HostKernel;
import dev.herd.host.HostSyscall;
import dev.herd.signals.SigInfo;
import dev.herd.signals.Signals;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * A guest process's children: fork's (a child Herd) and those a vfork child started by execve (a
 * child Herd, a host process of this JVM, watched through a pidfd) and those that ended before an execve (a zombie with its
 * status). wait4/waitid reap them; the child's exit signal (SIGCHLD, unless clone chose another
 * or none) is sent when one ends.
 *
 * <p>Job control: a child Herd stops as a whole host process (a stop signal's default action, or
 * SIGSTOP from anywhere) and continues by SIGCONT. The host reports both to this JVM, its parent:
 * each report is taken here once (waitid with WSTOPPED/WCONTINUED on the child's pidfd), kept
 * until a wait with WUNTRACED/WSTOPPED or WCONTINUED consumes it (a stop only while the child
 * is still stopped, as Linux's wait_task_stopped), and turned into SIGCHLD with CLD_STOPPED or
 * CLD_CONTINUED (the owner's consumer applies SA_NOCLDSTOP). pidfds do not poll ready on a stop,
 * so these reports are looked for at each watcher round (100 ms) and every 10 ms by a wait that
 * asks for them.
 *
 * <p>Only this table's own pidfds are waited on, never "any child" of the JVM: the kernel proxy is
 * the JVM's child too, and its watcher reaps it.
 *
 * <p>Exit reports: a warm fork spare's child says it has exited (its status) on its socket once
 * its guest fds are closed, before its JVM exits ({@link #attachReport}). A JVM's exit tears down
 * tens of MB of memory before its pidfd is ready (measured ~7 ms of a fork+exit+wait, ~70 µs per
 * MB on this VM); the report lets wait return without it. The host process is reaped later by
 * the watcher ({@link #dying}: meanwhile kill of its pid is ESRCH, as for a reaped child). A
 * child that dies without a report (a signal, a crash) is seen by its pidfd as before. A child
 * whose JVM goes on as a fork spare says so in its report ({@link #RETURN_REPORT_MAGIC}): its
 * socket and host process go to {@link #onReturn}'s taker, and no host exit is waited for.
 */
public final class GuestChildren {
    private static final int P_PIDFD = 3, WNOHANG = 1, WNOWAIT = 0x01000000;
    /** wait's WSTOPPED (wait4's WUNTRACED), WEXITED (implied by wait4) and WCONTINUED. */
    public static final int WSTOPPED = 2, WEXITED = 4, WCONTINUED = 8;
    /** wait's __WCLONE (only children whose exit signal is not SIGCHLD) and __WALL (every child). */
    private static final int WCLONE = 0x80000000, WALL = 0x40000000;
    private static final int CLD_EXITED = 1, CLD_KILLED = 2, CLD_DUMPED = 3;
    /** siginfo si_code of a child's stop and continue reports. */
    public static final int CLD_STOPPED = 5, CLD_CONTINUED = 6;
    /** How often a wait for stops or continues looks again (a pidfd does not poll ready on them). */
    private static final int JOB_POLL_MS = 10;
    private static final int POLLIN = 1;

    private static final class Child {
        final int pid;
        int hostPid;
        int pidfd;          // -1 once ended
        int wstatus;        // valid once ended
        int code, status;   // siginfo's si_code, si_status once ended
        boolean notified;   // the exit signal sent (or none to send)
        int stopSignal;     // a stop not yet reported to a wait (its signal), 0 for none
        boolean continued;  // a continue not yet reported to a wait
        final int exitSignal; // what the parent gets when it ends (clone's CSIGNAL; 0: nothing)
        int reportFd = -1;  // where an exit report may come (attachReport), -1 for none
        boolean reportComing; // a report socket will be attached (a wait looks again every few ms meanwhile)
        boolean reported;   // ended by its exit report (the host process may still be tearing down)
        boolean returned;   // its JVM went on as a fork spare of this process (no host exit to reap)
        boolean endedKnown; // ended (reported, or its host process found dead): endedGroup and endedSession hold
        int endedGroup;     // the host process group it ended in
        int endedSession;   // the host session it ended in

        Child(int pid, int pidfd, int exitSignal) {
            this.pid = pid;
            this.pidfd = pidfd;
            this.exitSignal = exitSignal;
        }
    }

    private final Map<Integer, Child> children = new LinkedHashMap<>();
    /** Children reaped by their exit report whose host process is still going: guest pid to pidfd. */
    private final Map<Integer, Integer> dying = new LinkedHashMap<>();
    /** How often a wait looks again while a child's report socket is still to be attached. */
    private static final int REPORT_POLL_MS = 2;
    /**
     * How long a lookup of a child's group or session waits for its report socket to be attached
     * (ForkSpares.replenish attaches it once the child runs, within ForkSpare.awaitRunning's second).
     */
    private static final long REPORT_ATTACH_MS = 1500;
    /**
     * An exit report: "EXIT", the exit status, the host process group and session the child ended
     * in (HerdMain's fork child sends it).
     */
    public static final int EXIT_REPORT_MAGIC = 0x54495845, EXIT_REPORT_SIZE = 16;
    /**
     * An exit report of a child whose JVM goes on as a fork spare ("RECY" then the exit status):
     * the socket then carries that spare's ready message, and goes with its host process to
     * {@link #onReturn}'s taker.
     */
    public static final int RETURN_REPORT_MAGIC = 0x59434552;
    private Thread watcher;
    /** An eventfd in the watcher's poll set: {@link #close} wakes it (then it ends). */
    private int wake = -1;
    private boolean closed;
    private Consumer<SigInfo> sigchld;
    /** Who takes a returning child's JVM as a spare: it must not block (it is called with this table's lock held). */
    public interface SpareTaker {
        /** Host process {@code hostPid}, whose ready message comes on {@code socket} (now the taker's). */
        void take(int hostPid, int socket);
    }

    /** Takes a returning child's JVM as a spare; null: none is (then the child sees EOF and ends). */
    private SpareTaker returning;

    /** Where a child's JVM that goes on as a spare goes (see {@link #RETURN_REPORT_MAGIC}). */
    public synchronized void onReturn(SpareTaker taker) {
        this.returning = taker;
    }

    /** Where SIGCHLD goes (set by the owner once it can deliver signals). */
    public synchronized void onExit(Consumer<SigInfo> sendSigchld) {
        this.sigchld = sendSigchld;
    }

    /** A child running as host process {@code pid} (a child Herd) that signals SIGCHLD when it ends. */
    public void addRunning(int pid) {
        addRunning(pid, pid, Signals.SIGCHLD);
    }

    /**
     * A child the guest knows as {@code pid} running as host process {@code hostPid} (a fork's
     * child Herd, whose guest pid is its first thread's id) that sends its parent
     * {@code exitSignal} when it ends (clone's CSIGNAL bits: SIGCHLD for fork, 0 for none). A
     * child whose exit signal is not SIGCHLD is a "clone" child for wait: only __WCLONE or __WALL
     * waits see it.
     */
    public void addRunning(int pid, int hostPid, int exitSignal) {
        addRunning(pid, hostPid, exitSignal, false);
    }

    /**
     * As {@link #addRunning(int, int, int)}; {@code reportComing}: its exit report socket will be
     * given by {@link #attachReport} (a warm fork spare's child).
     */
    public void addRunning(int pid, int hostPid, int exitSignal, boolean reportComing) {
        long fd = HostKernel.call(HostSyscall.PIDFD_OPEN, hostPid, 0);
        synchronized (this) {
            Child c = new Child(pid, (int) fd, exitSignal);
            c.hostPid = hostPid;
            c.reportComing = reportComing && fd >= 0;
            if (fd < 0) { // already gone and reaped by someone else: report it as exited 0
                c.pidfd = -1;
                c.code = CLD_EXITED;
            }
            children.put(pid, c);
            ensureWatcher();
        }
    }

    /** Starts the watcher if it is not running (lock held). */
    private void ensureWatcher() {
        if (!closed && (watcher == null || !watcher.isAlive())) {
            if (wake < 0) wake = (int) HostKernel.call(HostSyscall.EVENTFD2, 0, EFD_CLOEXEC);
            watcher = Thread.ofPlatform().daemon().name("herd-children").start(this::watch);
        }
    }

    /**
     * A child that ended before it could exec (a vfork child's _exit): a zombie with
     * {@code status}; its parent gets {@code exitSignal} (see {@link #addRunning(int, int, int)}).
     */
    public void addExited(int pid, int exitStatus, int exitSignal) {
        Consumer<SigInfo> send;
        synchronized (this) {
            Child c = new Child(pid, -1, exitSignal);
            c.code = CLD_EXITED;
            c.status = exitStatus & 0xff;
            c.wstatus = (exitStatus & 0xff) << 8;
            c.notified = true;
            children.put(pid, c);
            send = sigchld;
        }
        if (send != null && exitSignal != 0) send.accept(info(exitSignal, pid, CLD_EXITED, exitStatus & 0xff));
    }

    /**
     * {@code fd} (now this table's) is where child {@code pid} sends its exit report; closed at once
     * if that child is no longer running.
     */
    public void attachReport(int pid, int fd) {
        synchronized (this) {
            Child c = children.get(pid);
            if (c != null) c.reportComing = false;
            notifyAll(); // awaitReportSockets
            if (c != null && c.pidfd >= 0 && !closed) {
                c.reportFd = fd;
                return;
            }
        }
        HostKernel.call(HostSyscall.CLOSE, fd);
    }

    /** What a signal sent to a pid meets among the children. */
    public enum SignalTarget {
        /** Reaped, its process still ending ({@link #dying}): gone for the guest (ESRCH). */
        GONE,
        /** Exited, not yet reaped ({@link #exitedUnreaped}): the signal is taken to no effect. */
        ZOMBIE,
        /** Anything else: a running child, or no child of this process. */
        OTHER
    }

    /** What a signal sent to {@code pid} meets: one look under the lock for kill and rt_sigqueueinfo. */
    public synchronized SignalTarget signalTarget(int pid) {
        if (dying(pid)) return SignalTarget.GONE;
        return exitedUnreaped(pid) ? SignalTarget.ZOMBIE : SignalTarget.OTHER;
    }

    /**
     * Whether {@code pid} was a child reaped by its exit report whose host process is still ending,
     * or whose JVM went on as a spare while the thread that had its id may still be ending there.
     */
    private boolean dying(int pid) {
        if (dying.containsKey(pid)) return true;
        Integer jvm = retired.get(pid);
        if (jvm == null) return false;
        if (taskExists(jvm, pid)) return true;
        retired.remove(pid);
        return false;
    }

    /**
     * Reaped children whose JVM went on as a spare: guest pid (the id of a thread of that JVM,
     * which may outlive the report by a moment) to the JVM's host pid. Entries go once the thread
     * is gone.
     */
    private final Map<Integer, Integer> retired = new LinkedHashMap<>();

    /** Whether host process {@code pid} still has thread {@code tid}. */
    private static boolean taskExists(int pid, int tid) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment path = a.allocateFrom("/proc/" + pid + "/task/" + tid);
            return HostKernel.call(HostSyscall.FACCESSAT, AT_FDCWD, path.address(), 0 /* F_OK */) == 0;
        }
    }

    private static final int AT_FDCWD = -100;

    /**
     * Takes {@code c}'s exit report if it has come (lock held); a closed socket ends the wait for
     * one. A returning child's socket and host process go to the spare taker then.
     */
    private void readReport(Child c) {
        if (c.reportFd < 0 || c.reported) return;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(16, 8);
            while (true) {
                long r = HostKernel.call(HostSyscall.RECVFROM, c.reportFd, buf.address(), 16, MSG_DONTWAIT, 0, 0);
                if (r == -Errno.EINTR) continue;
                if (r == -Errno.EAGAIN) return;
                int magic = r == EXIT_REPORT_SIZE ? buf.get(ValueLayout.JAVA_INT, 0) : 0;
                if (magic == EXIT_REPORT_MAGIC || magic == RETURN_REPORT_MAGIC) {
                    int status = buf.get(ValueLayout.JAVA_INT, 4) & 0xff;
                    c.reported = true;
                    c.code = CLD_EXITED;
                    c.status = status;
                    c.wstatus = status << 8;
                    c.endedGroup = buf.get(ValueLayout.JAVA_INT, 8);
                    c.endedSession = buf.get(ValueLayout.JAVA_INT, 12);
                    c.endedKnown = true;
                    dev.herd.host.StartupTrace.mark("fork: the child's exit report");
                    if (magic == RETURN_REPORT_MAGIC && returning != null && !closed) {
                        c.returned = true;
                        returning.take(c.hostPid, c.reportFd);
                        c.reportFd = -1;
                        return;
                    }
                } else if (r > 0) {
                    continue; // another message (the child's "running" pid, if no one else took it)
                }
                // the report, or EOF or an error: nothing more comes (a returning child that is
                // not taken sees EOF and ends)
                HostKernel.call(HostSyscall.CLOSE, c.reportFd);
                c.reportFd = -1;
                return;
            }
        }
    }

    /**
     * Whether {@code pid} is a child that has exited and is not yet reaped (a zombie): a signal to
     * it is accepted and has no effect, as Linux's. Its host process may be ending, or be a fork
     * spare again by now, which must not get it.
     */
    private boolean exitedUnreaped(int pid) {
        Child c = children.get(pid);
        if (c == null) return false;
        readReport(c);
        return c.reported;
    }

    private static final int MSG_DONTWAIT = 0x40;

    /** The host pid of the child the guest knows as {@code pid}, or 0 for none. */
    public synchronized int hostPidOf(int pid) {
        Child c = children.get(pid);
        return c == null ? 0 : c.hostPid;
    }

    /** The guest pid of the child running as host process {@code hostPid}, or 0 for none. */
    public synchronized int guestPidOf(int hostPid) {
        // Not a reported one: its JVM may run a newer child by now.
        for (Child c : children.values()) if (c.hostPid == hostPid && c.hostPid != 0 && !c.reported) return c.pid;
        return 0;
    }

    /** {@link #groupOrSession}'s answer for a pid that is no child with a host process of its own. */
    public static final long NOT_A_CHILD = Long.MIN_VALUE;

    /**
     * getpgid ({@code session} false) or getsid of child {@code pid} (host ids, or -errno); the
     * child's own JVM's id is its guest pid. A child that has exited and is not yet reaped answers
     * with the group and session it ended in, as a zombie does on Linux: its JVM may serve as a
     * spare elsewhere by then, or be reaped. -ESRCH for a reaped child whose host process or
     * thread is still ending. {@link #NOT_A_CHILD} for another pid, or for a vfork child that
     * never exec'd (it has no host process).
     */
    public synchronized long groupOrSession(int pid, boolean session) {
        awaitReportSockets(c -> c.pid == pid);
        Child c = children.get(pid);
        // Reaped: gone for the guest, though its JVM (or a thread with its id) may still be there.
        if (c == null) return dying(pid) ? -Errno.ESRCH : NOT_A_CHILD;
        if (c.hostPid == 0) return NOT_A_CHILD;
        long id = hostGroupOrSession(c, session);
        return id == c.hostPid ? c.pid : id;
    }

    /**
     * The host group or session of child {@code c}, which has a host process (lock held: the
     * watcher cannot reap it between the look and the call): where it ended once it has (its
     * report, or its host zombie's); else its host process's now (or -errno).
     */
    private long hostGroupOrSession(Child c, boolean session) {
        readReport(c);
        if (!c.endedKnown && c.pidfd >= 0) poll(c, true);
        if (c.endedKnown) return session ? c.endedSession : c.endedGroup;
        long id = HostKernel.call(session ? HostSyscall.GETSID : HostSyscall.GETPGID, c.hostPid);
        // A child whose JVM goes on as a spare sends its report and then leaves the child's group
        // (HerdMain.reportExit): a report that came between the first look and the call says where
        // the child ended, which the call may no longer show. (Missed, a waitpid(0) for a child
        // that had just exited found no child of the group: ECHILD, 3 runs in 60 of fork.c under load.)
        readReport(c);
        if (c.endedKnown) return session ? c.endedSession : c.endedGroup;
        return id;
    }

    /**
     * Waits (lock held; {@code wait} lets go of it meanwhile) until no child {@code concerns}
     * still awaits its report socket, {@link #REPORT_ATTACH_MS} at most. Until the socket is
     * attached an exited child's report cannot be read, while its JVM, going on as a spare, may
     * have left the child's group already (HerdMain.reportExit): its group looked up on the host
     * then is the spare's, and a waitpid(0) for a child that had just exited found no child of
     * the group (ECHILD; fork.c under load). Not called while iterating the table.
     */
    private void awaitReportSockets(java.util.function.Predicate<Child> concerns) {
        long end = System.nanoTime() + REPORT_ATTACH_MS * 1_000_000L;
        boolean interrupted = false;
        while (true) {
            boolean coming = false;
            for (Child c : children.values()) {
                if (c.reportComing && c.pidfd >= 0 && concerns.test(c)) {
                    coming = true;
                    break;
                }
            }
            long left = end - System.nanoTime();
            if (!coming || left <= 0) break;
            try {
                wait(Math.max(1, Math.min(REPORT_POLL_MS, left / 1_000_000L)));
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) Thread.currentThread().interrupt();
    }

    /** Host pids of the children still running. */
    public synchronized List<Integer> runningHostPids() {
        List<Integer> out = new ArrayList<>();
        for (Child c : children.values()) if (c.pidfd >= 0 && !c.reported && c.hostPid != 0) out.add(c.hostPid);
        return out;
    }

    /** The result of one wait: the child's pid (0 for WNOHANG with none ready) and its wait status. */
    public record Reaped(int pid, int wstatus, int code, int status) {}

    /**
     * Waits for a child ({@code pid} > 0: that one; otherwise any) to end (WEXITED in
     * {@code options}), stop (WSTOPPED) or continue (WCONTINUED), reaps an ended one and returns
     * it; with WNOHANG returns pid 0 when none has. -ECHILD as an exception when there is no such
     * child; -EINTR when a signal interrupts the wait.
     */
    public Reaped waitFor(int pid, int options) {
        return waitMatching(c -> (pid <= 0 || c.pid == pid) && waitable(c, options), options);
    }

    /**
     * Linux's rule (kernel/exit.c eligible_child): without __WALL a wait sees only the children
     * whose exit signal is SIGCHLD, or with __WCLONE only the others.
     */
    private static boolean waitable(Child c, int options) {
        return (options & WALL) != 0 || ((c.exitSignal != Signals.SIGCHLD) == ((options & WCLONE) != 0));
    }

    /**
     * As {@link #waitFor} for the children in host process group {@code hostGroup} (wait4's 0 and
     * -PGID, waitid's P_PGID); a child that ended before it exec'd was in its parent's group,
     * {@code ownGroup}.
     */
    public Reaped waitForGroup(long hostGroup, long ownGroup, int options) {
        return waitMatching(c -> waitable(c, options) && groupOf(c, ownGroup) == hostGroup, options,
                c -> waitable(c, options));
    }

    private Reaped waitMatching(java.util.function.Predicate<Child> which, int options) {
        return waitMatching(which, options, null);
    }

    /** {@code byGroup}: a wait by group, for the children it may concern (see awaitReportSockets). */
    private Reaped waitMatching(java.util.function.Predicate<Child> which, int options,
                                java.util.function.Predicate<Child> byGroup) {
        while (true) {
            List<Child> candidates = new ArrayList<>();
            SigInfo unsent = null;
            Consumer<SigInfo> send;
            List<SigInfo> jobReports = new ArrayList<>();
            Reaped reaped = null;
            synchronized (this) {
                if (byGroup != null) awaitReportSockets(byGroup);
                for (Child c : children.values()) {
                    if (!which.test(c)) continue;
                    candidates.add(c);
                }
                if (candidates.isEmpty()) throw new dev.herd.host.ErrnoException(Errno.ECHILD);
                send = sigchld;
                if ((options & (WSTOPPED | WCONTINUED)) != 0) {
                    for (Child c : candidates) {
                        SigInfo report = pollJob(c);
                        if (report != null) jobReports.add(report);
                    }
                }
                // Per child as Linux's wait_consider_task: its exit, then its stop, then its continue.
                for (Child c : candidates) {
                    if ((options & WEXITED) != 0 && c.pidfd >= 0) poll(c, false);
                    if ((options & WEXITED) != 0 && c.pidfd < 0) {
                        if ((options & WNOWAIT) == 0) children.remove(c.pid);
                        // Linux sends SIGCHLD at the child's death, before any wait can see it:
                        // if the watcher has not yet, it is sent now, never after the reap.
                        if (!c.notified) {
                            c.notified = true;
                            if (c.exitSignal != 0) unsent = info(c.exitSignal, c.pid, c.code, c.status);
                        }
                        reaped = new Reaped(c.pid, c.wstatus, c.code, c.status);
                        break;
                    }
                    Reaped job = takeJobReport(c, options);
                    if (job != null) {
                        reaped = job;
                        break;
                    }
                }
            }
            if (send != null) for (SigInfo i : jobReports) send.accept(i);
            if (reaped != null) {
                if (unsent != null && send != null) send.accept(unsent);
                awaitWatcherSends();
                return reaped;
            }
            if ((options & WNOHANG) != 0) return new Reaped(0, 0, 0, 0);
            // Without WEXITED an ended child's pidfd stays ready: then only the timeout wakes.
            long r = block((options & WEXITED) != 0 ? candidates : List.of(),
                    (options & (WSTOPPED | WCONTINUED)) != 0 ? JOB_POLL_MS : -1);
            if (r == -Errno.EINTR) throw new dev.herd.host.ErrnoException(Errno.EINTR);
        }
    }

    /**
     * Returns once the watcher has posted the SIGCHLDs it took (it marks a child notified under
     * the lock and posts outside it): Linux sends SIGCHLD at the death, so a wait that reaped the
     * child must not return before its signal is pending (else it arrives later, after the guest
     * moved on, e.g. to a handler with SA_NOCLDSTOP).
     */
    private synchronized void awaitWatcherSends() {
        boolean interrupted = false;
        while (sending > 0) {
            try {
                wait(10);
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) Thread.currentThread().interrupt();
    }

    /** How many rounds of the watcher's SIGCHLDs are taken but not yet posted. */
    private int sending;

    /**
     * A child's host process group (a zombie of a vfork child that never exec'd: {@code ownGroup});
     * lock held. Its exit report is read first: a JVM that goes on as a spare leaves the group
     * right after sending it, and may serve another child by the time it is read.
     */
    private long groupOf(Child c, long ownGroup) {
        if (c.hostPid == 0) return ownGroup;
        long g = hostGroupOrSession(c, false);
        return g < 0 ? -1 : g;
    }

    /** Reaps {@code c} if it has ended (lock held); or with {@code peek}, only looks (WNOWAIT). */
    private boolean poll(Child c, boolean peek) {
        readReport(c);
        if (c.reported) {
            if (!peek && c.returned) {
                HostKernel.call(HostSyscall.CLOSE, c.pidfd); // its JVM is a spare now, not ending
                c.pidfd = -1;
                for (var it = retired.entrySet().iterator(); it.hasNext(); ) {
                    var e = it.next();
                    if (!taskExists(e.getValue(), e.getKey())) it.remove();
                }
                retired.put(c.pid, c.hostPid);
            } else if (!peek) {
                dying.put(c.pid, c.pidfd); // the watcher reaps the host process
                c.pidfd = -1;
                ensureWatcher();
            }
            return true;
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment info = a.allocate(128, 8);
            long r = HostKernel.call(HostSyscall.WAITID, P_PIDFD, c.pidfd, info.address(), WEXITED | WNOHANG | WNOWAIT, 0);
            if (r < 0 || info.get(ValueLayout.JAVA_INT, 16) == 0) return false;
            c.code = info.get(ValueLayout.JAVA_INT, 8);
            c.status = info.get(ValueLayout.JAVA_INT, 24);
            c.wstatus = c.code == CLD_EXITED ? (c.status & 0xff) << 8 : (c.status & 0x7f) | (c.code == CLD_DUMPED ? 0x80 : 0);
            if (!c.endedKnown) {
                // Still a host zombie: where it ended, which the guest's zombie keeps (groupOrSession).
                c.endedGroup = (int) HostKernel.call(HostSyscall.GETPGID, c.hostPid);
                c.endedSession = (int) HostKernel.call(HostSyscall.GETSID, c.hostPid);
                c.endedKnown = true;
            }
            if (!peek) {
                HostKernel.call(HostSyscall.WAITID, P_PIDFD, c.pidfd, info.address(), WEXITED | WNOHANG, 0);
                HostKernel.call(HostSyscall.CLOSE, c.pidfd);
                c.pidfd = -1;
            }
            return true;
        }
    }

    /**
     * Takes the host's stop or continue report of running child {@code c}, if there is one (lock
     * held), into its pending state; returns the SIGCHLD it means for the parent, or null.
     */
    private SigInfo pollJob(Child c) {
        if (c.pidfd < 0) return null;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment info = a.allocate(128, 8);
            long r = HostKernel.call(HostSyscall.WAITID, P_PIDFD, c.pidfd, info.address(), WSTOPPED | WCONTINUED | WNOHANG, 0);
            if (r < 0 || info.get(ValueLayout.JAVA_INT, 16) == 0) return null;
            int code = info.get(ValueLayout.JAVA_INT, 8), status = info.get(ValueLayout.JAVA_INT, 24);
            if (code == CLD_STOPPED) {
                c.stopSignal = status;
                c.continued = false;
            } else if (code == CLD_CONTINUED) {
                c.stopSignal = 0; // a stop is reported only while the child stays stopped
                c.continued = true;
            } else {
                return null;
            }
            return info(Signals.SIGCHLD, c.pid, code, status);
        }
    }

    /** The pending stop (WSTOPPED) or continue (WCONTINUED) of {@code c} as a wait result, taken unless WNOWAIT. */
    private static Reaped takeJobReport(Child c, int options) {
        boolean keep = (options & WNOWAIT) != 0;
        if ((options & WSTOPPED) != 0 && c.stopSignal != 0) {
            int sig = c.stopSignal;
            if (!keep) c.stopSignal = 0;
            return new Reaped(c.pid, (sig << 8) | 0x7f, CLD_STOPPED, sig);
        }
        if ((options & WCONTINUED) != 0 && c.continued) {
            if (!keep) c.continued = false;
            return new Reaped(c.pid, 0xffff, CLD_CONTINUED, Signals.SIGCONT);
        }
        return null;
    }

    /**
     * Sleeps until one of {@code candidates} ends or reports its exit (or {@code timeoutMs}
     * passes; every few ms while a report socket is still to come); -EINTR if a signal comes first.
     */
    private long block(List<Child> candidates, int timeoutMs) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment fds = a.allocate(16L * Math.max(1, candidates.size()), 8);
            if (candidates.isEmpty()) return HostKernel.call(HostSyscall.POLL, fds.address(), 0, timeoutMs);
            int n = 0;
            synchronized (this) {
                for (Child c : candidates) {
                    int fd = c.pidfd;
                    // Ended meanwhile (the watcher may have taken its exit report): no wait. A
                    // returned child's JVM serves as a spare now, and its pidfd never gets ready.
                    if (fd < 0 || c.reported) return 0;
                    n = pollEntry(fds, n, fd);
                    if (c.reportFd >= 0) n = pollEntry(fds, n, c.reportFd);
                    if (c.reportComing && (timeoutMs < 0 || timeoutMs > REPORT_POLL_MS)) timeoutMs = REPORT_POLL_MS;
                }
            }
            return HostKernel.call(HostSyscall.POLL, fds.address(), n, timeoutMs);
        }
    }

    private static int pollEntry(MemorySegment fds, int n, int fd) {
        fds.set(ValueLayout.JAVA_INT, 8L * n, fd);
        fds.set(ValueLayout.JAVA_SHORT, 8L * n + 4, (short) POLLIN);
        fds.set(ValueLayout.JAVA_SHORT, 8L * n + 6, (short) 0);
        return n + 1;
    }

    /**
     * Sends SIGCHLD for each running child as it ends (without reaping: wait does that), and reaps
     * the host processes of children a wait took by their exit report.
     */
    private void watch() {
        while (true) {
            List<Child> running = new ArrayList<>();
            List<Integer> ending = new ArrayList<>();
            int wakeFd;
            synchronized (this) {
                for (Child c : children.values()) if (c.pidfd >= 0 && !c.notified) running.add(c);
                ending.addAll(dying.values());
                if ((running.isEmpty() && ending.isEmpty()) || closed) {
                    watcher = null;
                    return;
                }
                wakeFd = wake;
            }
            // a short timeout so that children added meanwhile join the set; the eventfd ends the
            // wait at close (HotSpot's exit waits up to 300 ms for a thread blocked in native code)
            try (Arena a = Arena.ofConfined()) {
                MemorySegment fds = a.allocate(8L * (2 * running.size() + ending.size() + 1), 8);
                int n = 0;
                synchronized (this) {
                    for (Child c : running) {
                        if (c.pidfd < 0) continue;
                        n = pollEntry(fds, n, c.pidfd);
                        if (c.reportFd >= 0) n = pollEntry(fds, n, c.reportFd);
                    }
                }
                for (int fd : ending) n = pollEntry(fds, n, fd);
                if (wakeFd >= 0) n = pollEntry(fds, n, wakeFd);
                HostKernel.call(HostSyscall.POLL, fds.address(), n, 100);
            }
            List<SigInfo> toSend = new ArrayList<>();
            Consumer<SigInfo> send;
            synchronized (this) {
                send = sigchld;
                for (Child c : running) {
                    // reaped meanwhile (then its wait sent SIGCHLD), or notified already
                    if (c.notified || children.get(c.pid) != c) continue;
                    SigInfo job = pollJob(c);
                    if (job != null) toSend.add(job);
                    if (c.pidfd < 0 || poll(c, true)) {
                        c.notified = true;
                        if (c.exitSignal != 0) toSend.add(info(c.exitSignal, c.pid, c.code, c.status));
                    }
                }
                dying.values().removeIf(fd -> reapDying(fd, false));
                if (toSend.isEmpty()) continue;
                sending++;
            }
            try {
                if (send != null) for (SigInfo i : toSend) send.accept(i);
            } finally {
                synchronized (this) {
                    sending--;
                    notifyAll();
                }
            }
        }
    }

    /**
     * Reaps the host process behind {@code pidfd} of a child a wait took by its exit report, if it
     * has ended (or, with {@code block}, once it does: it is past its report, so it ends soon);
     * closes the pidfd then. Returns whether it did.
     */
    private static boolean reapDying(int pidfd, boolean block) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment info = a.allocate(128, 8);
            long r;
            do r = HostKernel.call(HostSyscall.WAITID, P_PIDFD, pidfd, info.address(), WEXITED | (block ? 0 : WNOHANG), 0);
            while (r == -Errno.EINTR);
            if (r == 0 && !block && info.get(ValueLayout.JAVA_INT, 16) == 0) return false; // still going
            HostKernel.call(HostSyscall.CLOSE, pidfd);
            return true;
        }
    }

    /**
     * The process ended: the watcher stops (it sends no more SIGCHLD) and is given a moment to
     * leave native code; children still running go on (a fork's child outlives its parent).
     */
    public void close() {
        Thread t;
        synchronized (this) {
            if (closed) return;
            closed = true;
            t = watcher;
            if (wake >= 0) {
                try (Arena a = Arena.ofConfined()) {
                    MemorySegment one = a.allocate(8, 8);
                    one.set(ValueLayout.JAVA_LONG, 0, 1);
                    HostKernel.call(HostSyscall.WRITE, wake, one.address(), 8);
                }
            }
        }
        if (t != null) {
            try {
                t.join(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        synchronized (this) {
            for (Child c : children.values()) {
                if (c.pidfd >= 0) HostKernel.call(HostSyscall.CLOSE, c.pidfd);
                c.pidfd = -1;
                if (c.reportFd >= 0) HostKernel.call(HostSyscall.CLOSE, c.reportFd);
                c.reportFd = -1;
            }
            // Past their reports, these end within milliseconds: reaped here, not left as zombies
            // for whoever inherits them.
            for (int fd : dying.values()) reapDying(fd, true);
            dying.clear();
            if (wake >= 0) HostKernel.call(HostSyscall.CLOSE, wake);
            wake = -1;
        }
    }

    private static final int EFD_CLOEXEC = 0x80000;

    /**
     * The exit signal's siginfo (asm-generic/siginfo.h _sigchld: pid, uid, status, utime, stime),
     * filled the same way whatever the signal (kernel/signal.c do_notify_parent).
     */
    private static SigInfo info(int signo, int pid, int code, int status) {
        byte[] raw = new byte[128];
        java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(raw).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        b.putInt(0, signo);
        b.putInt(8, code);
        b.putInt(16, pid);
        b.putInt(20, (int) HostKernel.call(HostSyscall.GETUID));
        b.putInt(24, status);
        return new SigInfo(signo, 0, code, pid, 0, 0, 0, 0, 0, raw);
    }
}
