package dev.herd.threads;

import dev.herd.host.HostKernel;
import dev.herd.host.HostSyscall;
import dev.herd.unicorn.NativeHelpers;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.LockSupport;

/**
 * Gets guest threads out of blocking host syscalls when they have a safe-point request (a signal
 * to deliver, exit_group). It sends the thread {@link #SIGNAL}, a host real-time signal whose
 * native handler does nothing and is installed without SA_RESTART, so the call returns EINTR.
 *
 * <p>A signal that lands just before the thread enters its blocking call is consumed without
 * effect (QEMU closes that window with its safe_syscall assembly). Here the request is simply
 * re-sent every {@link #RESEND_NANOS} until the thread has reached its safe point, so the window
 * costs at most that delay. The same holds for a request made while the thread is in guest code
 * just before a syscall instruction: it is watched from the request on, and signalled once it is
 * out of guest code. One daemon thread per process does the re-sending.
 */
public final class HostCallInterrupter implements AutoCloseable {
    /**
     * The reserved host signal: a real-time signal above glibc's own (32-34) and used by neither
     * the JVM (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGQUIT, SIGUSR2, SIGPIPE, SIGXFSZ) nor JNA.
     */
    public static final int SIGNAL = 45;
    private static final long RESEND_NANOS = 1_000_000;

    private final int hostPid = (int) HostKernel.call(HostSyscall.GETPID);
    private final Set<GuestThread> waiting = ConcurrentHashMap.newKeySet();
    private final Thread resender;
    private volatile boolean closed;

    public HostCallInterrupter() {
        installHandler();
        resender = Thread.ofPlatform().daemon().name("herd-interrupter").unstarted(this::resend);
        resender.start();
    }

    /**
     * Installs the native handler of {@link #SIGNAL}, which also forwards signals another Herd
     * sends by carrier: a child Herd that tells its parent its pid before its process exists
     * must not die of a carrier's default action meanwhile.
     */
    public static void installHandler() {
        NativeHelpers.installInterruptHandler(SIGNAL);
    }

    /**
     * Interrupts {@code t}'s host call now if it is out of guest code, and keeps doing so whenever
     * it is out of guest code until it has reached its safe point. A thread in guest code is
     * watched too: the engine stop asked for with the request brings it out at the next block,
     * but a syscall in the current block may go on into a blocking host call first (the signal
     * would then be lost until something else woke the thread).
     */
    void interrupt(GuestThread t) {
        if (!t.inGuestCode()) signal(t);
        if (waiting.add(t)) LockSupport.unpark(resender);
    }

    private void signal(GuestThread t) {
        int tid = t.tid();
        if (tid != 0) HostKernel.call(HostSyscall.TGKILL, hostPid, tid, SIGNAL);
    }

    private void resend() {
        while (!closed) {
            if (waiting.isEmpty()) {
                LockSupport.park(this);
                continue;
            }
            LockSupport.parkNanos(this, RESEND_NANOS);
            for (GuestThread t : waiting) {
                if (!t.awaitsSafePoint()) {
                    waiting.remove(t);
                    // a request made meanwhile found t still here and did not add it again
                    if (t.awaitsSafePoint()) waiting.add(t);
                } else if (!t.inGuestCode()) {
                    signal(t);
                }
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        LockSupport.unpark(resender);
    }
}
