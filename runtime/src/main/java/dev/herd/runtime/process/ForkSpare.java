package dev.herd.runtime.process;

import dev.herd.host.Errno;
import dev.herd.host.ErrnoException;
import dev.herd.host.FdPassing;
import dev.herd.host.HostKernel;
import dev.herd.host.HostSpawn;
import dev.herd.host.HostSyscall;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

/**
 * A warm spare for fork: a child Herd started ahead of need ({@code HerdMain fork --spare-fd N})
 * that waits on a SOCK_SEQPACKET socket for a fork's state. The fork sends the fds (the guest's,
 * the memory file, shared files, then the {@link ForkImage} in a memfd) with SCM_RIGHTS in
 * messages of at most {@link FdPassing#MAX_FDS}, each carrying a {@link HandoverHeader}; the image
 * names them by index. Before that, as soon as it is ready, the spare sends its guest pid (4 bytes:
 * its first thread exists already), so the fork returns once the state is sent and the spare has
 * joined the parent's process group. It is this process's real
 * child, so wait and SIGCHLD work as for any fork's child; it exits when the socket reaches EOF
 * (this process ended without needing it) and gets /dev/null as stdin and stdout while it waits.
 *
 * <p>An idle spare is in a process group of its own (a reused one leaves its child's group right
 * after its exit report), and joins its parent's at the handover, before the fork returns: a signal sent
 * to the parent's group before the fork must not reach the child, as on Linux, and the spare
 * cannot tell a late-handled signal from one sent after the handover (a spare reading its
 * signals late under load took a signal sent to the group before the fork for the child's).
 */
final class ForkSpare {
    private static final int AF_UNIX = 1, SOCK_SEQPACKET = 5, SOCK_CLOEXEC = 0x80000, O_RDWR = 2, O_CLOEXEC = 0x80000;
    private static final int AT_FDCWD = -100, SIGKILL = 9;

    private final int pid;
    private int socket;
    private final boolean returning;

    /** A spare that is host process {@code pid}, talking on {@code socket} (package-private for tests). */
    ForkSpare(int pid, int socket) {
        this(pid, socket, false);
    }

    /** {@code returning}: a child's JVM that goes on as a spare after its guest exited (it has booted). */
    ForkSpare(int pid, int socket, boolean returning) {
        this.pid = pid;
        this.socket = socket;
        this.returning = returning;
    }

    int pid() { return pid; }

    /** Whether the spare is in this process's session (it can join only a group of that session). */
    boolean inSessionOfCaller() {
        return HostKernel.call(HostSyscall.GETSID, pid) == HostKernel.call(HostSyscall.GETSID, 0);
    }

    /** Whether this is a child's JVM come back after its guest exited (not a spare started as one). */
    boolean returning() { return returning; }

    /** Spawns a spare with {@code herd}'s options; null if the host refuses (the fork goes cold). */
    static ForkSpare start(ChildHerd herd, byte[] cwd, int machine, int budgetFd) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment sv = a.allocate(8, 4);
            if (HostKernel.call(HostSyscall.SOCKETPAIR, AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv.address()) < 0) return null;
            int mine = sv.get(ValueLayout.JAVA_INT, 0), theirs = sv.get(ValueLayout.JAVA_INT, 4);
            long nul = HostKernel.call(HostSyscall.OPENAT, AT_FDCWD, a.allocateFrom("/dev/null").address(), O_RDWR | O_CLOEXEC, 0);
            try (ChildFds childFds = new ChildFds(1)) {
                if (nul < 0) throw new ErrnoException((int) -nul);
                childFds.at((int) nul, 0);
                childFds.at((int) nul, 1);
                int socketFd = childFds.add(theirs);
                int budget = childFds.add(budgetFd);
                List<byte[]> command = herd.spareCommand(socketFd, machine, budget);
                // SCHED_IDLE while it boots and waits: a spare is speculative, and on a small machine
                // its boot (a JVM, ~0.8 s of CPU) slowed what runs meanwhile, such as the exec of the
                // fork's child that bash does at once (fork+execve 340 -> 541 ms with a spare). It
                // takes the normal policy back when a fork hands it a process (HerdMain.runSpare).
                // In a group of its own until a fork hands it a child (see the class comment).
                int pid = HostSpawn.spawn(command.getFirst(), command, herd.environment(), cwd, childFds.placements(),
                        childFds.closeFrom(), 0, false);
                // (glibc's posix_spawn takes no SCHED_IDLE.) The JVM's first thread, before it
                // makes the others, which inherit it. Not the spare itself: a fork may have moved
                // it back to SCHED_OTHER already (hand), and that must stick.
                SpareScheduling.firstThread(pid, SpareScheduling.SCHED_IDLE);
                return new ForkSpare(pid, mine);
            } catch (ErrnoException e) {
                HostKernel.call(HostSyscall.CLOSE, mine);
                return null;
            } finally {
                HostKernel.call(HostSyscall.CLOSE, theirs);
                if (nul >= 0) HostKernel.call(HostSyscall.CLOSE, nul);
            }
        }
    }

    /**
     * Hands a fork to the spare: the guest's fds ({@code guestSources}, in the order of the parts'
     * guest fds), memory and shared files, and the image. Returns the child's guest pid, or 0 if the
     * spare is gone (the caller then closes it and forks cold).
     */
    int hand(ForkSyscalls.Parts parts, List<Integer> guestSources) {
        int pid = ready();
        if (pid <= 0) return 0;
        int n = guestSources.size();
        int[] guestHost = new int[n];
        for (int i = 0; i < n; i++) guestHost[i] = i;
        int[] files = new int[parts.space().files().size()];
        for (int i = 0; i < files.length; i++) files[i] = n + 1 + i;
        int[] shmFds = new int[parts.shm().size()];
        for (int i = 0; i < shmFds.length; i++) shmFds[i] = n + 1 + files.length + i;
        ForkImage image = parts.image(guestHost, n, files, shmFds, -1);
        List<Integer> all = new ArrayList<>(guestSources);
        all.add(parts.space().memfd());
        for (var f : parts.space().files()) all.add(f.fd());
        for (var v : parts.shm()) all.add(v.fd());
        return send(all, "herd-fork-image", image.toBytes()) ? pid : 0;
    }

    /**
     * Hands a vfork child's execve to the spare, which runs the new image as its process:
     * {@code sources} are the host fds the image's indices name. Returns the new image's guest
     * pid, or 0 if the spare is gone (the caller then closes it and starts a child Herd cold).
     */
    int spawn(SpawnImage image, List<Integer> sources) {
        int pid = ready();
        if (pid <= 0) return 0;
        return send(sources, "herd-spawn-image", image.toBytes()) ? pid : 0;
    }

    /** Puts the spare back to the normal policy and takes its ready message: its guest pid, 0 if it is gone. */
    private int ready() {
        // Back to SCHED_OTHER first: a SCHED_IDLE spare on a busy machine gets almost no CPU to
        // finish booting or to take the state (measured: a fork's child that never started within
        // 60 s while both cores ran other tests). The spare does the same for itself on receipt.
        SpareScheduling.allThreads(this.pid, SpareScheduling.SCHED_OTHER);
        // The spare says it is ready with its first thread's id, the child's pid (0: it is gone).
        return ForkSyscalls.readPid(socket);
    }

    /**
     * Sends {@code fds} and then a memfd holding {@code image} (the last fd), in messages of at most
     * {@link FdPassing#MAX_FDS} fds, each with a {@link HandoverHeader}, and waits for the spare to
     * say it has joined this process's group (4 bytes: the group, or -errno); false if the spare is
     * gone or could not join.
     */
    private boolean send(List<Integer> fds, String name, byte[] image) {
        int imageFd = ExecSyscalls.memfdWith(name, image);
        try {
            List<Integer> all = new ArrayList<>(fds);
            all.add(imageFd);
            // When the child is handed over: a signal the spare got before it was not for the child.
            long handedAt = System.nanoTime();
            int group = (int) HostKernel.call(HostSyscall.GETPGID, 0);
            for (int start = 0; start < all.size(); start += FdPassing.MAX_FDS) {
                int[] chunk = all.subList(start, Math.min(all.size(), start + FdPassing.MAX_FDS)).stream()
                        .mapToInt(Integer::intValue).toArray();
                byte[] header = new HandoverHeader(all.size(), start, handedAt, group).toBytes();
                if (FdPassing.send(socket, header, chunk) < 0) return false;
            }
            // The fork returns only once the child is in the group: a signal to the group from
            // then on must reach it.
            return ForkSyscalls.readPid(socket) == group;
        } finally {
            HostKernel.call(HostSyscall.CLOSE, imageFd);
        }
    }

    /**
     * Whether the spare has booted and warmed up: its ready message (or its end) is waiting on the
     * socket. A spare still booting is no use to a fork, which would wait for its whole boot and
     * warm-up (~1 s of CPU).
     */
    boolean booted() {
        return messageWithin(0);
    }

    /** Whether the spare boots within {@code millis} ({@code HERD_FORK_SPARE=wait}). */
    boolean bootedWithin(int millis) {
        return messageWithin(millis);
    }

    /** Whether the message that the spare's child runs has been taken ({@link #awaitRunning}). */
    private boolean running;

    /**
     * Waits until the spare's child runs (it sends its pid again) or {@code millis} pass; returns
     * whether it runs. Once taken, the message is not read again: the next one is the exit report.
     */
    synchronized boolean awaitRunning(int millis) {
        if (!running && socket >= 0 && messageWithin(millis)) running = ForkSyscalls.readPid(socket) > 0;
        return running;
    }

    /**
     * Whether the spare has ended (its socket's other end is closed) once it has a message or
     * ends within {@code millis}: a returning child's JVM that found itself unfit to serve again
     * ends instead of sending its ready message.
     */
    boolean endsWithin(int millis) {
        return messageWithin(millis) && (pollSocket(0) & (POLLHUP | POLLERR)) != 0;
    }

    private static final int POLLIN = 1, POLLERR = 8, POLLHUP = 16;

    /** Whether a message (or the spare's end: POLLHUP comes regardless) is on the socket within {@code millis}. */
    private boolean messageWithin(int millis) {
        return pollSocket(millis) != 0;
    }

    /**
     * poll(2) of the socket for input, {@code millis} at most (-1: no limit): its revents, 0 when
     * nothing came. A signal to this JVM (a child's SIGCHLD, a forwarded one) does not end the
     * wait: taken for "nothing came", it let a spawn return before its child had made its session.
     */
    private int pollSocket(int millis) {
        long deadline = System.nanoTime() + millis * 1_000_000L;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment pfd = a.allocate(8, 4);
            pfd.set(ValueLayout.JAVA_INT, 0, socket);
            pfd.set(ValueLayout.JAVA_SHORT, 4, (short) POLLIN);
            int wait = millis;
            while (true) {
                long r = HostKernel.call(HostSyscall.POLL, pfd.address(), 1, wait);
                if (r > 0) return pfd.get(ValueLayout.JAVA_SHORT, 6) & 0xffff;
                if (r != -Errno.EINTR) return 0;
                if (millis >= 0) wait = (int) Math.max(0, (deadline - System.nanoTime()) / 1_000_000L);
            }
        }
    }

    /**
     * The spare became child {@code childPid} (0: it did not): its socket now carries that child's
     * exit report, and {@code children} owns it.
     */
    void handOver(GuestChildren children, int childPid) {
        int s = socket;
        socket = -1;
        if (s < 0) return;
        if (childPid > 0) children.attachReport(childPid, s);
        else HostKernel.call(HostSyscall.CLOSE, s);
    }

    /** The spare became a child (or is gone): this side of the socket is no longer needed. */
    void release() {
        if (socket >= 0) HostKernel.call(HostSyscall.CLOSE, socket);
        socket = -1;
    }

    /** An unused spare: ends it and reaps it. */
    void close() {
        HostKernel.call(HostSyscall.KILL, pid, SIGKILL); // first: closing the socket would wake it
        release();
        ForkSyscalls.reap(pid);
    }

    @Override public String toString() { return "ForkSpare[pid=" + pid + "]"; }

    /** {@code HERD_FORK_SPARE=off}: no spares, every fork and vfork child's execve starts a child Herd cold. */
    static boolean enabled() {
        return !"off".equals(System.getenv("HERD_FORK_SPARE"));
    }

    /**
     * {@code HERD_FORK_SPARE=wait}: a fork or spawn waits for the spare being started to boot,
     * instead of going cold while it boots; for tests that must take the warm path every time.
     */
    static boolean awaitBoot() {
        return "wait".equals(System.getenv("HERD_FORK_SPARE"));
    }
}
