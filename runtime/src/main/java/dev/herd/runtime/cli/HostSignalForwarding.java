package dev.herd.runtime.cli;

import dev.herd.host.HostKernel;
import dev.herd.host.HostSyscall;
import dev.herd.runtime.process.GuestProcess;
import dev.herd.signals.SigInfo;
import dev.herd.signals.Signals;

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
 */
final class HostSignalForwarding {
    private HostSignalForwarding() {}

    private static final String[] NAMES = {"HUP", "INT", "TERM", "USR1", "ALRM", "WINCH", "CONT", "URG"};
    private static final int[] NUMBERS = {Signals.SIGHUP, Signals.SIGINT, Signals.SIGTERM, Signals.SIGUSR1,
            Signals.SIGALRM, Signals.SIGWINCH, Signals.SIGCONT, Signals.SIGURG};

    static void install(GuestProcess process) {
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
