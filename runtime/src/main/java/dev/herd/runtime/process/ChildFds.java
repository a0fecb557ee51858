package dev.herd.runtime.process;

import dev.herd.host.ErrnoException;
import dev.herd.host.HostKernel;
import dev.herd.host.HostSpawn;
import dev.herd.host.HostSyscall;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

/**
 * The fds a child Herd is spawned with (an execve's new image, a cold fork's child): the guest's
 * fds at their own numbers ({@link #at}), then Herd's own for the child ({@link #add}: the image,
 * its environment, the fork image, the process budget...) above them, and optionally a pipe on
 * which the child reports its pid ({@link #reportPipe}).
 *
 * <p>posix_spawn applies the placements in order, so no placement may overwrite a source that a
 * later one still needs: every source is this object's own close-on-exec copy, guest fds' copies
 * above every guest number, and each added fd's copy above the number it is given (the next free
 * one above every earlier source), so each later target is either free or a source already placed.
 * Closing this closes every copy (the child has its own by then).
 */
final class ChildFds implements AutoCloseable {
    private static final int F_DUPFD_CLOEXEC = 1030, O_CLOEXEC = 0x80000;

    private final int base;
    private final List<Integer> copies = new ArrayList<>();
    private final List<HostSpawn.FdPlacement> placements = new ArrayList<>();
    /** The child's number for the next added fd; 0 until the first {@link #add}. */
    private int next;
    private int reportRead = -1;

    /** For guest fds up to {@code highestGuestFd}. */
    ChildFds(int highestGuestFd) {
        base = Math.max(highestGuestFd + 1, 3);
    }

    /** Host fd {@code host} at guest number {@code guestFd} in the child (all before any {@link #add}). */
    void at(int host, int guestFd) {
        if (next != 0) throw new IllegalStateException("guest fds go first");
        int copy = copy(host, base);
        placements.add(new HostSpawn.FdPlacement(copy, guestFd));
    }

    /** Host fd {@code host} for the child Herd itself; returns its number there. */
    int add(int host) {
        if (next == 0) next = copies.stream().mapToInt(Integer::intValue).max().orElse(base - 1) + 1;
        int target = next++;
        int copy = copy(host, target + 1);
        placements.add(new HostSpawn.FdPlacement(copy, target));
        return target;
    }

    /**
     * A memfd holding {@code bytes} (named {@code name}) for the child Herd itself, made only for
     * it: the child gets its copy; returns its number there.
     */
    int addFile(String name, byte[] bytes) {
        int fd = ExecSyscalls.memfdWith(name, bytes);
        try {
            return add(fd);
        } finally {
            HostKernel.call(HostSyscall.CLOSE, fd);
        }
    }

    /** A pipe whose write end the child gets (its number is returned); {@link #readPid} reads it. */
    int reportPipe() {
        return reportChannel(false);
    }

    /**
     * As {@link #reportPipe}, a SOCK_SEQPACKET pair instead: the child keeps its end for its exit
     * report (and, should its JVM go on as a spare, that spare's messages); {@link #takeReport}
     * gives this end to the caller after {@link #readPid}.
     */
    int reportSocket() {
        return reportChannel(true);
    }

    private int reportChannel(boolean socket) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment fds = a.allocate(8, 4);
            long r = socket ? HostKernel.call(HostSyscall.SOCKETPAIR, AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds.address())
                    : HostKernel.call(HostSyscall.PIPE2, fds.address(), O_CLOEXEC);
            if (r < 0) throw new ErrnoException((int) -r);
            reportRead = fds.get(ValueLayout.JAVA_INT, 0);
            int theirs = fds.get(ValueLayout.JAVA_INT, 4);
            try {
                return add(theirs);
            } finally {
                HostKernel.call(HostSyscall.CLOSE, theirs);
            }
        }
    }

    private static final int AF_UNIX = 1, SOCK_SEQPACKET = 5, SOCK_CLOEXEC = 0x80000;

    /** This side of the report pipe or socket, now the caller's (-1 if none). */
    int takeReport() {
        int r = reportRead;
        reportRead = -1;
        return r;
    }

    /** The placements, in order. */
    List<HostSpawn.FdPlacement> placements() { return placements; }

    /** Where the child's close-everything-else starts. */
    int closeFrom() { return Math.max(next, base); }

    /**
     * After the spawn: this side's copies go (so the report pipe reaches EOF if the child ends
     * without writing), then the child's pid is read from the pipe; 0 if it ended first.
     */
    int readPid() {
        closeCopies();
        return ForkSyscalls.readPid(reportRead);
    }

    private int copy(int host, int min) {
        long c = HostKernel.call(HostSyscall.FCNTL, host, F_DUPFD_CLOEXEC, min);
        if (c < 0) throw new ErrnoException((int) -c);
        copies.add((int) c);
        return (int) c;
    }

    private void closeCopies() {
        for (int c : copies) HostKernel.call(HostSyscall.CLOSE, c);
        copies.clear();
    }

    @Override
    public void close() {
        closeCopies();
        if (reportRead >= 0) HostKernel.call(HostSyscall.CLOSE, reportRead);
        reportRead = -1;
    }
}
