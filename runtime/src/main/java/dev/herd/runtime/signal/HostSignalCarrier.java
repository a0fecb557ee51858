package dev.herd.runtime.signal;

import dev.herd.host.HostKernel;
import dev.herd.host.HostSyscall;
import dev.herd.signals.SigInfo;
import dev.herd.signals.SigInfoLayout;
import dev.herd.signals.Signals;
import dev.herd.threads.HostCallInterrupter;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * How a signal travels from one Herd process to another. A guest's kill to another guest process
 * becomes a host signal to that process's JVM, whose native handler forwards it to its guest
 * (bin/herd: HostSignalForwarding). Most signals travel by their own number. A few cannot, because
 * every Herd JVM keeps them for itself: the fault signals (the JVM's implicit null checks and
 * crash handling), glibc's two internal real-time signals, the JVM's suspend signal
 * ({@link #JVM_SUSPEND_SIGNAL}), the JDK's I/O interrupt signal (SIGRTMAX-2) and Herd's own
 * interrupt signal. Those are queued as Herd's interrupt signal with a tag and the number in
 * si_value (the carrier), which the receiver's native interrupt handler forwards as that number
 * (herd_native.c). The carrier is used only towards a process known to be a Herd (the guest's
 * parent and children): any other host process gets the real number, as from a native kill.
 *
 * <p>Carried signals arrive with SI_USER and without a sigqueue value.
 */
public final class HostSignalCarrier {
    private HostSignalCarrier() {}

    /**
     * The JVM's suspend/resume signal in every Herd JVM, moved off SIGUSR2 (HotSpot's default) so
     * that a guest's SIGUSR2 can reach another guest process: bin/herd and {@code ChildHerd} set
     * {@link #JVM_SUSPEND_VARIABLE} for the JVMs they start.
     */
    public static final int JVM_SUSPEND_SIGNAL = 44;
    /** HotSpot's environment variable that chooses its suspend signal. */
    public static final String JVM_SUSPEND_VARIABLE = "_JAVA_SR_SIGNUM";

    /** glibc's SIGCANCEL and SIGSETXID, and the JDK's NIO interrupt signal (SIGRTMAX-2). */
    private static final int GLIBC_CANCEL = 32, GLIBC_SETXID = 33, JDK_IO_INTERRUPT = 62;

    /** herd_native.c's HERD_CARRIER_TAG ("HD" in the top 16 bits of si_value) and HERD_CARRIER_QUEUED. */
    private static final long TAG = 0x4844000000000000L, QUEUED = 1L << 39;

    /** Whether a Herd JVM keeps host signal {@code sig} for itself, so that it travels by carrier. */
    public static boolean carried(int sig) {
        return switch (sig) {
            case Signals.SIGILL, Signals.SIGBUS, Signals.SIGFPE, Signals.SIGSEGV,
                 GLIBC_CANCEL, GLIBC_SETXID, JVM_SUSPEND_SIGNAL, JDK_IO_INTERRUPT -> true;
            default -> sig == HostCallInterrupter.SIGNAL;
        };
    }

    /**
     * kill(2) of host process {@code hostPid} (a group if negative) with {@code sig}, by carrier if
     * the target {@code isHerd} and the number cannot travel itself. Returns 0 or -errno.
     */
    public static long kill(int hostPid, int sig, boolean isHerd, int senderHostPid, int uid) {
        if (sig == 0 || !isHerd || !carried(sig)) return HostKernel.call(HostSyscall.KILL, hostPid, sig);
        return send(hostPid, carrier(senderHostPid, uid, TAG | (long) sig << 40));
    }

    /**
     * rt_sigqueueinfo(2) of {@code info} to host process {@code hostPid}, by carrier (with the
     * value's int) if the target {@code isHerd} and the number cannot travel itself. Returns 0 or -errno.
     */
    public static long queue(int hostPid, SigInfo info, boolean isHerd) {
        if (!isHerd || !carried(info.signo())) return send(hostPid, info);
        return send(hostPid, carrier(info.pid(), info.uid(),
                TAG | (long) info.signo() << 40 | QUEUED | (info.value() & 0xffffffffL)));
    }

    private static SigInfo carrier(int pid, int uid, long value) {
        return new SigInfo(HostCallInterrupter.SIGNAL, 0, SigInfo.SI_QUEUE, pid, uid, 0, value, 0, 0);
    }

    private static long send(int hostPid, SigInfo sent) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buf = arena.allocate(SigInfoLayout.SIZE, 8);
            MemorySegment.copy(SigInfoLayout.bytes(sent), 0, buf, java.lang.foreign.ValueLayout.JAVA_BYTE, 0, SigInfoLayout.SIZE);
            return HostKernel.call(HostSyscall.RT_SIGQUEUEINFO, hostPid, sent.signo(), buf.address());
        }
    }
}
