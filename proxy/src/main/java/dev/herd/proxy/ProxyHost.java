package dev.herd.proxy;

import dev.herd.host.Errno;
import dev.herd.host.HostFd;
import dev.herd.host.HostKernel;
import dev.herd.host.HostOps;
import dev.herd.host.HostSyscall;
import org.agrona.concurrent.UnsafeBuffer;

import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Host calls run by a kernel proxy process ({@link ProxyProcess}): the {@link HostOps} of the
 * proxy side.
 *
 * <p><b>Cells.</b> Each Herd thread that forwards a call gets a cell of its own and, in the proxy,
 * a shadow thread bound to it (attached through the control ring at the thread's first call). A
 * guest thread has at most one syscall in flight, so a cell is a one-slot ring and the protocol is
 * single-producer single-consumer:
 * <ol>
 * <li>The requester writes the number and arguments, publishes {@code REQUEST} and wakes the
 *     shadow only if it announced that it sleeps (store, full fence, load on both sides).</li>
 * <li>The shadow runs the syscall, writes the result, publishes {@code DONE} and wakes the requester
 *     only if it announced that it sleeps.</li>
 * <li>The requester spins briefly, then sleeps on the cell's state word with a host futex (shared,
 *     not private: the waker is another process), reads the result and sets {@code IDLE}.</li>
 * </ol>
 * A call that blocks in the proxy blocks only its shadow; an idle run sleeps on futexes.
 *
 * <p><b>Interruption.</b> A Herd thread blocked here is woken by Herd's interrupt signal like one
 * blocked in a local call (the futex wait ends with EINTR). It then marks the cell cancelled and
 * sends the proxy's shadow the same signal (the proxy installs it without SA_RESTART), again every
 * millisecond until the call is done, so a signal landing just before the shadow enters its call
 * is not lost. The call ends with EINTR (or its real result, if it completed first), and Herd's
 * dispatcher applies SA_RESTART as for a local call. The shadow retries an EINTR that no cancel
 * asked for (a late signal meant for an earlier call).
 *
 * <p><b>Death.</b> When the proxy dies, {@link #proxyDied} marks every call in flight and every
 * later call {@code -EIO}; a requester checks the flag after publishing its request, and the
 * watcher sets it before completing the cells, so no request can be left waiting.
 */
public final class ProxyHost implements HostOps {
    private static final int FUTEX_WAIT = 0, FUTEX_WAKE = 1;
    /** How long a requester spins for its reply before it parks. */
    private static final long SPIN_NANOS = 20_000;
    /**
     * The same after waking a parked shadow: none. A woken thread takes tens of microseconds to
     * run on an idle CPU of a virtual machine; parking at once lets the scheduler run the shadow on
     * this CPU instead (measured: cold getppid 25 µs median parking at once, 73 µs spinning 200 µs).
     */
    private static final long WOKEN_SPIN_NANOS = Long.getLong("herd.proxy.wokenSpin", 0);
    private static final long RESEND_NANOS = 1_000_000;

    private final ProxyChannel channel;
    private final UnsafeBuffer buf;
    private final int interruptSignal;
    private final int localSocket;
    private volatile int proxyPid;
    private volatile boolean dead;
    private final Thread[] owners;
    private final ProxyCell[] cells;
    private final boolean[] attached;
    private final ThreadLocal<Integer> myCell = new ThreadLocal<>();
    private final ReentrantLock importLock = new ReentrantLock();
    private final MemorySegment timeout = Arena.ofAuto().allocate(16, 8);
    private final MemorySegment tenMillis = Arena.ofAuto().allocate(16, 8);

    ProxyHost(ProxyChannel channel, int interruptSignal, int localSocket) {
        this.channel = channel;
        this.buf = channel.buffer;
        this.interruptSignal = interruptSignal;
        this.localSocket = localSocket;
        this.owners = new Thread[channel.cells];
        this.cells = new ProxyCell[channel.cells];
        for (int i = 0; i < cells.length; i++) cells[i] = new ProxyCell(buf, channel.cell(i));
        this.attached = new boolean[channel.cells];
        timeout.set(ValueLayout.JAVA_LONG, 0, 0);
        timeout.set(ValueLayout.JAVA_LONG, 8, RESEND_NANOS);
        tenMillis.set(ValueLayout.JAVA_LONG, 0, 0);
        tenMillis.set(ValueLayout.JAVA_LONG, 8, 10_000_000);
    }

    void proxyPid(int pid) { this.proxyPid = pid; }

    /** The proxy process's host pid. */
    public int pid() { return proxyPid; }

    @Override
    public int handle(int fd) { return fd | HostFd.PROXY; }

    @Override
    public boolean isLocal() { return false; }

    /** True once the proxy process is gone: every call is then -EIO. */
    public boolean isDead() { return dead; }

    @Override
    public long call(long nr, long a0, long a1, long a2, long a3, long a4, long a5) {
        if (dead) return -Errno.EIO;
        int index = cellOfThisThread();
        if (index < 0) return -Errno.EAGAIN;
        ProxyCell cell = cells[index];
        cell.writeRequest(nr, a0, a1, a2, a3, a4, a5);
        boolean shadowSleeps = cell.publishRequest();
        // Dekker pair with proxyDied: the request is published before the flag is read.
        if (dead) {
            cell.withdraw();
            return -Errno.EIO;
        }
        if (shadowSleeps) futexWake(cell.stateOffset());
        awaitDone(cell, shadowSleeps ? WOKEN_SPIN_NANOS : SPIN_NANOS);
        return cell.takeResult();
    }

    private void awaitDone(ProxyCell cell, long spinNanos) {
        long spinUntil = System.nanoTime() + spinNanos;
        int i = 0;
        while (!cell.isDone()) {
            Thread.onSpinWait();
            if ((++i & 63) == 0) {
                if (System.nanoTime() > spinUntil) break;
                Thread.yield(); // the shadow may be waiting for this CPU
            }
        }
        boolean cancelled = false;
        while (!cell.isDone()) {
            long r = 0;
            if (!cell.announceRequesterSleep()) {
                r = HostKernel.call(HostSyscall.FUTEX, channel.hostAddress(cell.stateOffset()), FUTEX_WAIT, ProxyChannel.CELL_REQUEST,
                        cancelled ? timeout.address() : 0, 0, 0);
            }
            cell.requesterAwake();
            if (cell.isDone()) break;
            if (r == -Errno.EINTR && !cancelled) {
                // Herd's interrupt: a guest signal or exit_group wants this thread back
                cancelled = true;
                cell.cancel();
                interruptShadow(cell);
            } else if (cancelled && r == -Errno.ETIMEDOUT) {
                interruptShadow(cell);
            }
        }
    }

    private void interruptShadow(ProxyCell cell) {
        int tid = cell.shadowTid();
        int pid = proxyPid;
        if (tid > 0 && pid > 0) HostKernel.call(HostSyscall.TGKILL, pid, tid, interruptSignal);
    }

    private void futexWake(int offset) {
        HostKernel.call(HostSyscall.FUTEX, channel.hostAddress(offset), FUTEX_WAKE, 1);
    }

    // ------------------------------------------------------------------ cells

    private int cellOfThisThread() {
        Integer mine = myCell.get();
        if (mine != null) return mine;
        int cell = allocateCell(Thread.currentThread());
        if (cell < 0) return -1;
        myCell.set(cell);
        return cell;
    }

    /**
     * A cell for a new thread: a never-used one, or one whose owner thread has ended (its shadow is
     * told to exit and the cell reused once the shadow said it is gone).
     */
    private synchronized int allocateCell(Thread owner) {
        for (int pass = 0; pass < 2000; pass++) {
            for (int i = 0; i < owners.length; i++) {
                if (owners[i] == null) return claim(i, owner);
                if (owners[i].isAlive()) continue;
                int s = buf.getIntVolatile(channel.cell(i) + ProxyChannel.C_STATE);
                if (s == ProxyChannel.CELL_IDLE || s == ProxyChannel.CELL_DONE) {
                    buf.putIntVolatile(channel.cell(i) + ProxyChannel.C_STATE, ProxyChannel.CELL_EXIT);
                    futexWake(channel.cell(i) + ProxyChannel.C_STATE);
                } else if (s == ProxyChannel.CELL_GONE || !attached[i]) {
                    return claim(i, owner);
                }
            }
            if (dead) return -1;
            Thread.onSpinWait();
            java.util.concurrent.locks.LockSupport.parkNanos(100_000);
        }
        return -1;
    }

    private int claim(int i, Thread owner) {
        owners[i] = owner;
        int c = channel.cell(i);
        buf.putIntVolatile(c + ProxyChannel.C_TID, 0);
        buf.putIntVolatile(c + ProxyChannel.C_STATE, ProxyChannel.CELL_IDLE);
        attached[i] = true;
        UnsafeBuffer msg = new UnsafeBuffer(new byte[4]);
        msg.putInt(0, i);
        if (!channel.ring.write(ProxyChannel.MSG_ATTACH, msg, 0, 4)) {
            owners[i] = null;
            attached[i] = false;
            return -1;
        }
        ringDoorbell();
        // The shadow announces itself with its tid (-1: the proxy could not make the thread).
        int tidWord = c + ProxyChannel.C_TID;
        int tid;
        while ((tid = buf.getIntVolatile(tidWord)) == 0 && !dead) {
            HostKernel.call(HostSyscall.FUTEX, channel.hostAddress(tidWord), FUTEX_WAIT, 0, tenMillis.address(), 0, 0);
        }
        if (tid <= 0) {
            owners[i] = null;
            attached[i] = false;
            return -1;
        }
        return i;
    }

    void ringDoorbell() {
        // Dekker pair with the reader: the ring write above is its store; this is the load.
        java.lang.invoke.VarHandle.fullFence();
        if (buf.getIntVolatile(ProxyChannel.H_SLEEPING) != 0) {
            buf.getAndAddInt(ProxyChannel.H_DOORBELL, 1);
            futexWake(ProxyChannel.H_DOORBELL);
        }
    }

    void shutdown() {
        UnsafeBuffer msg = new UnsafeBuffer(new byte[4]);
        if (channel.ring.write(ProxyChannel.MSG_SHUTDOWN, msg, 0, 0)) ringDoorbell();
    }

    // ------------------------------------------------------------------ fds

    /**
     * Gives the proxy a copy of a local host fd (same open file description, sent with
     * SCM_RIGHTS) and returns its number there, or -errno.
     */
    public long importFd(int localFd) {
        if (dead) return -Errno.EIO;
        importLock.lock();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment data = a.allocate(8, 8);
            MemorySegment iov = a.allocate(16, 8);
            iov.set(ValueLayout.JAVA_LONG, 0, data.address());
            iov.set(ValueLayout.JAVA_LONG, 8, 1);
            MemorySegment ctl = a.allocate(24, 8); // CMSG_SPACE(sizeof(int))
            ctl.set(ValueLayout.JAVA_LONG, 0, 20);  // cmsg_len = CMSG_LEN(4)
            ctl.set(ValueLayout.JAVA_INT, 8, 1);    // SOL_SOCKET
            ctl.set(ValueLayout.JAVA_INT, 12, 1);   // SCM_RIGHTS
            ctl.set(ValueLayout.JAVA_INT, 16, localFd);
            MemorySegment msg = a.allocate(56, 8);
            msg.set(ValueLayout.JAVA_LONG, 16, iov.address());
            msg.set(ValueLayout.JAVA_LONG, 24, 1);
            msg.set(ValueLayout.JAVA_LONG, 32, ctl.address());
            msg.set(ValueLayout.JAVA_LONG, 40, 24);
            long s = HostKernel.call(HostSyscall.SENDMSG, localSocket, msg.address(), 0x4000 /* MSG_NOSIGNAL */);
            if (s < 0) return s;
            return call(ProxyChannel.NR_IMPORT_FD, 0, 0, 0, 0, 0, 0);
        } finally {
            importLock.unlock();
        }
    }

    /** The proxy is gone: every call in flight and every later one fails with EIO. */
    void proxyDied(PrintStream report, String why) {
        dead = true;
        java.lang.invoke.VarHandle.fullFence();
        for (ProxyCell cell : cells) {
            if (cell.completeIfRequested(-Errno.EIO)) futexWake(cell.stateOffset());
        }
        if (report != null) {
            report.println("herd: kernel proxy " + why + "; forwarded calls now fail with EIO");
            report.flush();
        }
    }

    @Override
    public String toString() { return "proxy"; }
}
