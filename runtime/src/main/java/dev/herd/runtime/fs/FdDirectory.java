package dev.herd.runtime.fs;

import dev.herd.host.HostKernel;
import dev.herd.host.HostSyscall;
import dev.herd.runtime.syscall.SyscallContext;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * {@code /proc/self/fd} (and {@code /proc/thread-self/fd}, {@code /proc/PID/fd} and
 * {@code /proc/PID/task/TID/fd} of the guest) as the guest's: the directory is the JVM's, whose
 * listing has the JVM's fds under their host numbers. getdents64 on it lists ".", ".." and the
 * guest's open fds by their guest numbers instead (the links themselves already resolve through
 * the guest's table: PathResolver). The directory's own file position counts the entries
 * returned (procfs lets a directory seek anywhere), so a listing read in several calls, or
 * rewound, goes on where it should; entries come from the table as it is at each call, as
 * Linux's do.
 */
final class FdDirectory {
    private FdDirectory() {}

    private static final java.util.regex.Pattern FDS = java.util.regex.Pattern.compile("/proc/(\\d+)(?:/task/(\\d+))?/fd");
    private static final int DT_DIR = 4, DT_LNK = 10, SEEK_SET = 0, SEEK_CUR = 1;

    /** Whether {@code procPath} is an fd directory of this JVM's process (of the guest, then). */
    static boolean is(SyscallContext ctx, String procPath) {
        return TaskDirectory.ofThisProcess(ctx, procPath, FDS);
    }

    /**
     * getdents64 of the fd directory into the guest's buffer of {@code n} bytes. As Linux's
     * proc_readfd, the position is the next fd number plus 2 (0 and 1 are "." and ".."), so fds
     * closed between two calls (a child closing what it lists) shift nothing.
     */
    static long getdents64(SyscallContext ctx, int h, long dirp, long n) {
        long pos = HostKernel.call(HostSyscall.LSEEK, h, 0, SEEK_CUR);
        if (pos < 0) return pos;
        int[] fds = ctx.process().fds().openFds();
        ByteBuffer out = ByteBuffer.allocate((int) Math.min(n, 1 << 16)).order(ByteOrder.LITTLE_ENDIAN);
        int k = 0; // the first open fd at or after the position
        while (k < fds.length && fds[k] + 2L < pos) k++;
        boolean full = false;
        while (pos < 2 || k < fds.length) {
            long entry = pos < 2 ? pos : fds[k] + 2L;
            String name = entry == 0 ? "." : entry == 1 ? ".." : Integer.toString(fds[k]);
            byte[] bytes = name.getBytes(StandardCharsets.ISO_8859_1);
            int reclen = (19 + bytes.length + 1 + 7) & ~7; // struct linux_dirent64, 8-aligned
            if (out.remaining() < reclen) {
                full = true;
                break;
            }
            int at = out.position();
            out.putLong(at, entry < 2 ? 1 : 0x10000L + fds[k]); // d_ino
            out.putLong(at + 8, entry + 1);                      // d_off: where the next entry starts
            out.putShort(at + 16, (short) reclen);
            out.put(at + 18, (byte) (entry < 2 ? DT_DIR : DT_LNK));
            out.put(at + 19, bytes);
            out.position(at + reclen);
            pos = entry + 1;
            if (entry >= 2) k++;
        }
        if (out.position() == 0 && full) return -dev.herd.host.Errno.EINVAL; // not even one entry fits
        if (out.position() > 0) ctx.memory().write(dirp, java.util.Arrays.copyOf(out.array(), out.position()));
        HostKernel.call(HostSyscall.LSEEK, h, pos, SEEK_SET);
        return out.position();
    }
}
