package dev.herd.runtime.fs;

import dev.herd.host.HostFd;
import dev.herd.host.HostSyscall;
import dev.herd.runtime.syscall.SyscallContext;

/**
 * {@code /proc/self/task} (and {@code /proc/PID/task} of the guest) as the guest's: the directory
 * is the JVM's, so its listing has every JVM thread; getdents64 on it keeps ".", ".." and the
 * guest's own threads only (the entries are compacted in the guest's buffer; a buffer whose
 * entries were all someone else's is read again, so only the real end is 0).
 */
final class TaskDirectory {
    private TaskDirectory() {}

    private static final long JVM_PID = ProcessHandle.current().pid();
    private static final java.util.regex.Pattern TASKS = java.util.regex.Pattern.compile("/proc/(\\d+)/task");

    /** The /proc path host fd {@code h} is open on, or null (another file, a proxy fd, closed). */
    static String procPath(int h) {
        if (HostFd.isProxy(h)) return null;
        try {
            String path = PathResolver.readlinkProcFd(h);
            return path.startsWith("/proc/") ? path : null;
        } catch (RuntimeException e) {
            return null;
        }
    }

    /**
     * Whether {@code procPath} is this JVM's task directory: /proc/self/task, or /proc/N/task for
     * the guest's pid or any of its threads (Linux lists the whole thread group there too).
     */
    static boolean is(SyscallContext ctx, String procPath) {
        return ofThisProcess(ctx, procPath, TASKS);
    }

    /**
     * Whether {@code procPath} matches {@code path} (its first group a pid) for this JVM: the JVM's
     * pid, or one of the guest's threads (Linux answers for the whole thread group under any of
     * its ids). Also {@link FdDirectory}'s test.
     */
    static boolean ofThisProcess(SyscallContext ctx, String procPath, java.util.regex.Pattern path) {
        java.util.regex.Matcher m = path.matcher(procPath);
        if (!m.matches()) return false;
        try {
            long n = Long.parseLong(m.group(1));
            return n == JVM_PID || ctx.process().threads().byTid((int) n) != null;
        } catch (NumberFormatException e) {
            return false;
        }
    }

    /** getdents64 of the task directory into the guest's buffer. */
    static long getdents64(SyscallContext ctx, int h, long dirp, long n) {
        while (true) {
            long r = Sys.onFd(ctx, HostSyscall.GETDENTS64, h, Sys.out(ctx, dirp, n), n);
            if (r <= 0) return r;
            byte[] in = ctx.memory().read(dirp, (int) r);
            java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(in).order(java.nio.ByteOrder.LITTLE_ENDIAN);
            byte[] out = new byte[(int) r];
            int kept = 0;
            for (int pos = 0; pos + 19 <= r; ) {
                int reclen = b.getShort(pos + 16) & 0xffff;
                if (reclen == 0 || pos + reclen > r) break;
                int len = 0;
                while (19 + len < reclen && in[pos + 19 + len] != 0) len++;
                String name = new String(in, pos + 19, len, java.nio.charset.StandardCharsets.ISO_8859_1);
                if (name.equals(".") || name.equals("..") || isGuestThread(ctx, name)) {
                    System.arraycopy(in, pos, out, kept, reclen);
                    kept += reclen;
                }
                pos += reclen;
            }
            if (kept > 0) {
                ctx.memory().write(dirp, java.util.Arrays.copyOf(out, kept));
                return kept;
            }
        }
    }

    private static boolean isGuestThread(SyscallContext ctx, String name) {
        try {
            return ctx.process().threads().byTid(Integer.parseInt(name)) != null;
        } catch (NumberFormatException e) {
            return false;
        }
    }
}
