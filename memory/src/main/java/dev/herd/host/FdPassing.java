package dev.herd.host;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Fds over an AF_UNIX socket (SCM_RIGHTS): one message of a few data bytes and at most
 * {@link #MAX_FDS} fds. Received fds are close-on-exec (MSG_CMSG_CLOEXEC).
 */
public final class FdPassing {
    private FdPassing() {}

    /** Fewer than the kernel's SCM_MAX_FD (253) per message. */
    public static final int MAX_FDS = 250;
    private static final int SOL_SOCKET = 1, SCM_RIGHTS = 1, MSG_NOSIGNAL = 0x4000, MSG_CMSG_CLOEXEC = 0x40000000;
    private static final int MSG_CTRUNC = 0x8;

    /** Sends {@code data} with {@code fds}; returns 0 or -errno (EINTR retried). */
    public static long send(int socket, byte[] data, int[] fds) {
        if (fds.length > MAX_FDS || data.length == 0) throw new IllegalArgumentException("data and at most " + MAX_FDS + " fds");
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(data.length);
            MemorySegment.copy(data, 0, buf, ValueLayout.JAVA_BYTE, 0, data.length);
            MemorySegment iov = a.allocate(16, 8);
            iov.set(ValueLayout.JAVA_LONG, 0, buf.address());
            iov.set(ValueLayout.JAVA_LONG, 8, data.length);
            long ctlLen = fds.length == 0 ? 0 : cmsgSpace(fds.length);
            MemorySegment ctl = a.allocate(Math.max(8, ctlLen), 8);
            if (fds.length > 0) {
                ctl.set(ValueLayout.JAVA_LONG, 0, 16 + 4L * fds.length); // cmsg_len = CMSG_LEN
                ctl.set(ValueLayout.JAVA_INT, 8, SOL_SOCKET);
                ctl.set(ValueLayout.JAVA_INT, 12, SCM_RIGHTS);
                for (int i = 0; i < fds.length; i++) ctl.set(ValueLayout.JAVA_INT, 16 + 4L * i, fds[i]);
            }
            MemorySegment msg = a.allocate(56, 8);
            msg.set(ValueLayout.JAVA_LONG, 16, iov.address());
            msg.set(ValueLayout.JAVA_LONG, 24, 1);
            msg.set(ValueLayout.JAVA_LONG, 32, fds.length == 0 ? 0 : ctl.address());
            msg.set(ValueLayout.JAVA_LONG, 40, ctlLen);
            long r;
            do r = HostKernel.call(HostSyscall.SENDMSG, socket, msg.address(), MSG_NOSIGNAL); while (r == -Errno.EINTR);
            return r < 0 ? r : 0;
        }
    }

    /** What one {@link #receive} got: the data bytes (empty at EOF) and the fds. */
    public record Message(byte[] data, int[] fds) {
        public boolean eof() { return data.length == 0 && fds.length == 0; }
    }

    /** Receives one message of at most {@code maxData} bytes; ErrnoException on failure (EINTR retried). */
    public static Message receive(int socket, int maxData) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(maxData);
            MemorySegment iov = a.allocate(16, 8);
            iov.set(ValueLayout.JAVA_LONG, 0, buf.address());
            iov.set(ValueLayout.JAVA_LONG, 8, maxData);
            long ctlLen = cmsgSpace(MAX_FDS);
            MemorySegment ctl = a.allocate(ctlLen, 8);
            MemorySegment msg = a.allocate(56, 8);
            msg.set(ValueLayout.JAVA_LONG, 16, iov.address());
            msg.set(ValueLayout.JAVA_LONG, 24, 1);
            msg.set(ValueLayout.JAVA_LONG, 32, ctl.address());
            msg.set(ValueLayout.JAVA_LONG, 40, ctlLen);
            long r;
            do r = HostKernel.call(HostSyscall.RECVMSG, socket, msg.address(), MSG_CMSG_CLOEXEC); while (r == -Errno.EINTR);
            if (r < 0) throw new ErrnoException((int) -r);
            int[] fds = new int[0];
            long got = msg.get(ValueLayout.JAVA_LONG, 40);
            if (got >= 16 && ctl.get(ValueLayout.JAVA_INT, 8) == SOL_SOCKET && ctl.get(ValueLayout.JAVA_INT, 12) == SCM_RIGHTS) {
                int n = (int) ((ctl.get(ValueLayout.JAVA_LONG, 0) - 16) / 4);
                fds = new int[n];
                for (int i = 0; i < n; i++) fds[i] = ctl.get(ValueLayout.JAVA_INT, 16 + 4L * i);
            }
            if ((msg.get(ValueLayout.JAVA_INT, 48) & MSG_CTRUNC) != 0) {
                for (int fd : fds) HostKernel.call(HostSyscall.CLOSE, fd);
                throw new ErrnoException(Errno.EMSGSIZE);
            }
            return new Message(buf.asSlice(0, r).toArray(ValueLayout.JAVA_BYTE), fds);
        }
    }

    private static long cmsgSpace(int fds) {
        return 16 + ((4L * fds + 7) & ~7L);
    }
}
