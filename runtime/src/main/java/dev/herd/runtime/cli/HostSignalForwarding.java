package dev.herd.runtime.cli;

import dev.herd.host.HostKernel;
import dev.herd.host.HostSyscall;
import dev.herd.runtime.process.GuestProcess;
import dev.herd.signals.SigInfo;
import dev.herd.signals.Signals;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import sun.misc.Signal;

/**
 * Signals sent to the {@code bin/herd} process from outside (a terminal's Ctrl-C, {@code kill}
 * from another program) are meant for the guest: they become process-directed guest signals, so a
 * guest handler runs and an unhandled one ends the guest with 128+N, as natively. Without this the
 * JVM would take SIGTERM, SIGINT and SIGHUP as "shut down" and the guest's handlers would never see
 * them. The sender is not known to a JVM signal handler: si_code SI_USER, si_pid 0.
 *
 * <p>Only signals the JVM lets an application handle are forwarded (HUP, INT, TERM, USR1, ALRM,
 * WINCH, CONT, URG; a signal the JVM reserves is skipped). Stop signals are left to the host, which
 * really stops the whole process. Only the command line installs this: an embedding application
 * keeps its JVM's signals to itself. After an execve the image runs in a child Herd, and the
 * signals go there.
 *
 * <p>A signal ignored when {@code bin/herd} started (a shell starts background jobs with SIGINT and
 * SIGQUIT ignored; {@code nohup} ignores SIGHUP) is ignored by the guest at its start, as an execve
 * keeps ignored signals ({@link #hostIgnored()}); but the JVM would never install a handler for such
 * a signal, so a guest that installs its own handler would not get it. So the host disposition is
 * reset to the default just before the JVM's handler is installed (a signal arriving in between
 * would end the process: a window of microseconds at start-up).
 */
final class HostSignalForwarding {
    private HostSignalForwarding() {}

    private static final String[] NAMES = {"HUP", "INT", "TERM", "USR1", "ALRM", "WINCH", "CONT", "URG"};
    private static final int[] NUMBERS = {Signals.SIGHUP, Signals.SIGINT, Signals.SIGTERM, Signals.SIGUSR1,
            Signals.SIGALRM, Signals.SIGWINCH, Signals.SIGCONT, Signals.SIGURG};

    /** The forwarded signals ignored in this process now (as a guest signal mask, bit N-1 for N). */
    static long hostIgnored() {
        long mask = 0;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment old = arena.allocate(KERNEL_SIGACTION_SIZE, 8);
            for (int number : NUMBERS) {
                if (HostKernel.call(HostSyscall.RT_SIGACTION, number, 0, old.address(), 8) == 0
                        && old.get(ValueLayout.JAVA_LONG, 0) == SIG_IGN) {
                    mask |= Signals.bit(number);
                }
            }
        }
        return mask;
    }

    /** struct kernel_sigaction (handler, flags, restorer, mask) and SIG_IGN, of the x86_64 host. */
    private static final int KERNEL_SIGACTION_SIZE = 32;
    private static final long SIG_IGN = 1;

    static void install(GuestProcess process) {
        long ignored = hostIgnored();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment dfl = arena.allocate(KERNEL_SIGACTION_SIZE, 8); // all zero: SIG_DFL
            for (int number : NUMBERS) {
                if ((ignored & Signals.bit(number)) != 0) HostKernel.call(HostSyscall.RT_SIGACTION, number, dfl.address(), 0, 8);
            }
        }
        for (int i = 0; i < NAMES.length; i++) {
            int number = NUMBERS[i];
            try {
                Signal.handle(new Signal(NAMES[i]), s -> {
                    int child = process.execChild();
                    if (child > 0) {
                        HostKernel.call(HostSyscall.KILL, child, number); // the image now runs there
                    } else {
                        process.delivery().send(null, SigInfo.user(number, SigInfo.SI_USER, 0, 0));
                    }
                });
            } catch (IllegalArgumentException reservedByTheJvm) {
                // e.g. with -Xrs, or a signal the VM uses itself: left alone
            }
        }
    }
}
