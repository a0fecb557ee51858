package dev.herd.runtime.cli;

import dev.herd.host.HostKernel;
import dev.herd.host.HostSyscall;
import dev.herd.runtime.process.GuestProcess;
import dev.herd.runtime.signal.HostSignalCarrier;
import dev.herd.signals.SigInfo;
import dev.herd.signals.Signals;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;


/**
 * Signals sent to the {@code bin/herd} process from outside (a terminal's Ctrl-C, {@code kill}
 * from another program) are meant for the guest: they become process-directed guest signals, so a
 * guest handler runs and an unhandled one ends the guest with 128+N, as natively. Without this the
 * JVM would take SIGTERM, SIGINT and SIGHUP as "shut down" and the guest's handlers would never see
 * them. The guest sees the sender's si_code, pid (as the guest names it: {@link GuestProcess#guestIdOf}),
 * uid and sigqueue value.
 *
 * <p>Forwarded: every signal that nothing else in this JVM has a handler for (SIG_DFL or SIG_IGN
 * when forwarding starts), and SIGPIPE and SIGXFSZ, which the JVM only ignores (the native handler
 * drops the ones the kernel sends this process for its own writes). Kept: SIGKILL and SIGSTOP, the
 * JVM's fault signals and suspend signal, glibc's and the JDK's real-time signals and Herd's
 * interrupt signal; another Herd process sends those by carrier ({@link HostSignalCarrier}), and
 * the interrupt handler forwards them. The handlers are native (herd_native.c writes a record
 * into a pipe that a Java thread reads), so the JVM runs with {@code -Xrs} (bin/herd): before they
 * are installed a signal has its default action, as for a native program that has not yet set a
 * handler (a child Herd still booting dies by the signal instead of the JVM's exit 128+N). A
 * guest stop signal whose action is the default stops the whole JVM with that host signal
 * ({@link #stopHost}), so that a shell or a parent Herd sees the job stop (WUNTRACED, CLD_STOPPED
 * with the signal) and SIGCONT resumes it; SIGSTOP itself cannot be caught and always stops the
 * JVM directly. Only the command line
 * installs this: an embedding application keeps its JVM's signals to itself. After an execve the
 * image runs in a child Herd, and the signals go there.
 *
 * <p>A signal ignored when {@code bin/herd} started (a shell starts background jobs with SIGINT and
 * SIGQUIT ignored; {@code nohup} ignores SIGHUP) is ignored by the guest at its start, as an execve
 * keeps ignored signals ({@link #hostIgnored()}), read before Herd's handler replaces the host's
 * SIG_IGN (so a guest that installs its own handler gets the signal).
 */
final class HostSignalForwarding {
    private HostSignalForwarding() {}

    /**
     * The signals this JVM forwards (bit N-1 for N), decided once: those whose host action is
     * SIG_DFL or SIG_IGN, and SIGPIPE and SIGXFSZ (the JVM's handlers only ignore them), minus the
     * ones a Herd JVM keeps; and which of them were ignored then (SIGPIPE and SIGXFSZ never: the
     * JVM's, not the shell's). Read in one pass before Herd installs a handler of its own.
     */
    private static long forwardable, ignoredAtStart;

    private static synchronized long forwardable() {
        if (forwardable != 0) return forwardable;
        long mask = 0, ignored = 0;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment old = arena.allocate(KERNEL_SIGACTION_SIZE, 8);
            for (int number = 1; number <= Signals.MAX; number++) {
                if (number == Signals.SIGKILL || number == Signals.SIGSTOP || HostSignalCarrier.carried(number)) continue;
                if (HostKernel.call(HostSyscall.RT_SIGACTION, number, 0, old.address(), 8) != 0) continue;
                long handler = old.get(ValueLayout.JAVA_LONG, 0);
                boolean jvmIgnores = number == Signals.SIGPIPE || number == Signals.SIGXFSZ;
                if (handler == SIG_DFL || handler == SIG_IGN || jvmIgnores) mask |= Signals.bit(number);
                if (handler == SIG_IGN && !jvmIgnores) ignored |= Signals.bit(number);
            }
        }
        ignoredAtStart = ignored;
        forwardable = mask;
        return mask;
    }

    /** The forwarded signals ignored in this process before forwarding (a guest signal mask, bit N-1 for N). */
    static synchronized long hostIgnored() {
        forwardable();
        return ignoredAtStart;
    }

    /** struct kernel_sigaction (handler, flags, restorer, mask) and SIG_IGN, of the x86_64 host. */
    private static final int KERNEL_SIGACTION_SIZE = 32;
    private static final long SIG_DFL = 0, SIG_IGN = 1;

    /**
     * herd_native.c's struct herd_forwarded_signal: signo, code, pid, uid (int32), value, arrival
     * (int64, CLOCK_MONOTONIC ns, the clock of System.nanoTime).
     */
    private static final int RECORD = 32;

    /** herd_native.c's herd_forward_signal(signo, fd). */
    private static final java.lang.invoke.MethodHandle FORWARD =
            dev.herd.ffm.NativeWords.handle(dev.herd.ffm.HerdNative.function("herd_forward_signal"));
    private static final int O_NONBLOCK = 0x800, O_CLOEXEC = 0x80000;

    /**
     * Installs the native handlers (see herd_native.c: one byte per signal into a pipe) and the
     * thread that forwards what arrives: to the guest, or after an execve to the child Herd that
     * runs the image now.
     */
    /** The forwarding thread and the pipe's write end, once installed (one per JVM: bin/herd's). */
    private static volatile Thread reader;
    private static volatile int writeEnd = -1;

    /**
     * Ends the forwarding thread before the JVM halts: HotSpot's exit waits up to 300 ms for
     * threads blocked in native code (VM_Exit::wait_for_threads_in_native_to_block), and a read of
     * the pipe is one. A record of signal 0 tells the thread to return.
     */
    static void stop() {
        Thread t = reader;
        int w = writeEnd;
        if (t == null || w < 0) return;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment zero = arena.allocate(RECORD);
            HostKernel.call(HostSyscall.WRITE, w, zero.address(), RECORD);
        }
        try {
            t.join(100);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** The process signals go to; until it is known (a warm fork spare), they wait in {@link #early}. */
    private static GuestProcess target;
    private static final java.util.List<Received> early = new java.util.ArrayList<>();
    /**
     * While no process is attached: signals that arrived before this time (System.nanoTime) are
     * not for the process to come. An idle spare is in a group of its own (ForkSpare), so what
     * comes before the handover was sent to its own pid or, in a reused spare, to the child before.
     */
    private static long keepFrom = Long.MIN_VALUE;

    /** One forwarded signal as the native handler saw it: the sender's host pid, the arrival time. */
    private record Received(int signo, int code, int hostPid, int uid, long value, long arrivedAt) {}

    /** Installs the handlers and sends what arrives to {@code process}. */
    static void install(GuestProcess process) {
        install();
        attach(process);
    }

    /** From now on signals go to {@code process}, the ones that came before it first. */
    static void attach(GuestProcess process) {
        process.hostStop(HostSignalForwarding::stopHost);
        java.util.List<Received> pending;
        synchronized (HostSignalForwarding.class) {
            target = process;
            keepFrom = Long.MIN_VALUE;
            pending = new java.util.ArrayList<>(early);
            early.clear();
        }
        for (Received r : pending) deliver(process, r);
    }

    /**
     * The guest ended and this JVM goes on as a fork spare ({@link SpareRecycling}): signals are
     * kept again until the next {@link #attach}.
     */
    static void detach() {
        synchronized (HostSignalForwarding.class) {
            target = null;
        }
    }

    /**
     * Drops the signals kept so far: a reused spare does so as it offers itself again, since they
     * were sent to the child that ran before (or to the group it was in), not to the next one,
     * whose pid no one has yet.
     */
    static void dropKept() {
        synchronized (HostSignalForwarding.class) {
            early.clear();
        }
    }

    /**
     * A fork handed this spare its child at {@code handedAt} (System.nanoTime in the parent, the
     * same clock): the signals kept that arrived before are dropped, and so are any that arrived
     * before but are read only now; those after are the child's (its parent may signal it as soon
     * as its fork returns, before the child exists here). Until the next {@link #attach}.
     */
    static void forkHandedAt(long handedAt) {
        synchronized (HostSignalForwarding.class) {
            keepFrom = handedAt;
            // A loop, not removeIf: a lambda's first use spins a class, here on a fork's path.
            for (var it = early.iterator(); it.hasNext(); ) if (it.next().arrivedAt() < handedAt) it.remove();
        }
    }

    private static void deliver(GuestProcess process, Received r) {
        int child = process.execChild();
        if (child > 0) {
            // The image now runs there (if it stops, so does this JVM: ExecSyscalls).
            HostSignalCarrier.kill(child, r.signo(), true, r.hostPid(), r.uid());
        } else if (r.code() > 0) {
            process.delivery().send(null, SigInfo.kernel(r.signo())); // the kernel's own (SIGIO of F_SETOWN...)
        } else {
            process.delivery().send(null, new SigInfo(r.signo(), 0, r.code(), process.guestIdOf(r.hostPid()), r.uid(), 0,
                    r.code() == SigInfo.SI_USER ? 0 : r.value(), 0, 0));
        }
    }

    /**
     * Stops this JVM by {@code sig} as the default action would, and returns once it continues:
     * the signal's host action is set to SIG_DFL for the moment, the signal unblocked and sent to
     * this thread (so it takes effect before tgkill returns), and the forwarding handler put back
     * after the SIGCONT. A second stop signal arriving meanwhile also just stops the process.
     */
    static void stopHost(int sig) {
        synchronized (HostSignalForwarding.class) {
            raiseWithDefaultAction(sig);
            if (sig != Signals.SIGSTOP && writeEnd >= 0) dev.herd.ffm.NativeWords.call(FORWARD, sig, writeEnd, 0, 0, 0, 0, 0, 0);
        }
    }

    /**
     * Takes {@code sig}'s default action in this JVM: SIG_DFL installed, the signal unblocked and
     * sent to this thread, so that the action (stop, or death) happens before tgkill returns.
     */
    static void raiseWithDefaultAction(int sig) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment dfl = arena.allocate(KERNEL_SIGACTION_SIZE, 8); // SIG_DFL, no flags, empty mask
            MemorySegment set = arena.allocate(8, 8);
            set.set(ValueLayout.JAVA_LONG, 0, Signals.bit(sig));
            if (sig != Signals.SIGKILL && sig != Signals.SIGSTOP) HostKernel.call(HostSyscall.RT_SIGACTION, sig, dfl.address(), 0, 8);
            HostKernel.call(HostSyscall.RT_SIGPROCMASK, 1 /* SIG_UNBLOCK */, set.address(), 0, 8);
            HostKernel.call(HostSyscall.TGKILL, HostKernel.call(HostSyscall.GETPID), HostKernel.gettid(), sig);
        }
    }

    /**
     * Installs the handlers before the process exists (a warm fork spare, whose pid its parent may
     * signal as soon as the fork returns): signals are kept until {@link #attach}.
     */
    static void install() {
        if (reader != null) return;
        int read, write;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment fds = arena.allocate(8, 4);
            if (HostKernel.call(HostSyscall.PIPE2, fds.address(), O_CLOEXEC) < 0) return;
            read = fds.get(ValueLayout.JAVA_INT, 0);
            write = fds.get(ValueLayout.JAVA_INT, 4);
        }
        HostKernel.call(HostSyscall.FCNTL, write, 4 /* F_SETFL */, O_NONBLOCK);
        writeEnd = write;
        reader = Thread.ofPlatform().daemon().name("herd-host-signals").start(() -> forward(read));
        long numbers = forwardable();
        for (int number = 1; number <= Signals.MAX; number++) {
            if ((numbers & Signals.bit(number)) != 0) dev.herd.ffm.NativeWords.call(FORWARD, number, write, 0, 0, 0, 0, 0, 0);
        }
        // Blocked in this thread, and so in every thread it creates from now on (guest threads
        // among them): the kernel gives a forwarded signal to a thread that does not block it (the
        // reader, started before), so a guest thread's blocking host call never returns EINTR for
        // a signal that is the guest's to deliver (poll and nanosleep do even with SA_RESTART).
        // Not SIGPIPE and SIGXFSZ: the kernel sends those to the very thread whose write failed,
        // after the call; blocked there, each would stay pending for the thread's life and count
        // against the user's RLIMIT_SIGPENDING (a native sigqueue test saw the limit reached).
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment set = arena.allocate(8, 8);
            set.set(ValueLayout.JAVA_LONG, 0, numbers & ~(Signals.bit(Signals.SIGPIPE) | Signals.bit(Signals.SIGXFSZ)));
            HostKernel.call(HostSyscall.RT_SIGPROCMASK, 0 /* SIG_BLOCK */, set.address(), 0, 8);
        }
    }

    private static void forward(int pipe) {
        try (Arena arena = Arena.ofConfined()) {
            int size = RECORD * 16;
            MemorySegment buf = arena.allocate(size, 8);
            while (true) {
                long n = HostKernel.call(HostSyscall.READ, pipe, buf.address(), size);
                if (n == -dev.herd.host.Errno.EINTR) continue;
                if (n <= 0) return;
                for (int at = 0; at + RECORD <= n; at += RECORD) { // whole records: each is one write below PIPE_BUF
                    Received r = new Received(buf.get(ValueLayout.JAVA_INT, at), buf.get(ValueLayout.JAVA_INT, at + 4),
                            buf.get(ValueLayout.JAVA_INT, at + 8), buf.get(ValueLayout.JAVA_INT, at + 12),
                            buf.get(ValueLayout.JAVA_LONG, at + 16), buf.get(ValueLayout.JAVA_LONG, at + 24));
                    if (r.signo() == 0) return; // stop()
                    GuestProcess process;
                    synchronized (HostSignalForwarding.class) {
                        process = target;
                        if (process == null && r.arrivedAt() >= keepFrom) early.add(r);
                    }
                    if (process != null) deliver(process, r);
                }
            }
        }
    }
}
