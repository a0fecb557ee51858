package dev.herd.runtime.fs;

import dev.herd.host.Errno;
import dev.herd.host.ErrnoException;
import dev.herd.host.HostKernel;
import dev.herd.host.HostStat;
import dev.herd.host.HostSyscall;
import dev.herd.memory.MapFlags;
import dev.herd.memory.Mapping;
import dev.herd.memory.Prot;
import dev.herd.runtime.syscall.SyscallContext;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;

/**
 * The guest's own {@code /proc/self} files that the host would answer for the JVM instead (also
 * under {@code /proc/thread-self} and {@code /proc/PID} for the guest's pid):
 * <ul>
 * <li>{@code maps}, as the kernel's {@code show_map_vma} prints it, from the guest's mapping table:
 *     {@code start-end perms offset major:minor inode} and, after padding to 72 characters and one
 *     space, the file path or {@code [heap]}/{@code [stack]} (glibc's pthread_getattr_np reads it to
 *     find the main thread's stack);</li>
 * <li>{@code cmdline} and {@code environ}: the guest memory from the first argv (envp) string to
 *     the end of the last, as the kernel reads {@code arg_start..arg_end}, so changes the program
 *     made to those strings show;</li>
 * <li>{@code auxv}: the auxiliary vector the loader gave the guest;</li>
 * <li>{@code status}, {@code stat} and {@code comm} of the process and of each guest thread
 *     ({@code /proc/self/task/TID/...}): the host's file of that guest thread's host thread
 *     (state, credentials, CPU times, context switches, affinity: the host's are the thread's
 *     own), with what the guest sees differently put in: pid, tgid, ppid, groups as the guest
 *     reads them, comm, thread count, signal sets (pending, shared pending, blocked, ignored,
 *     caught, SigQ), and memory sizes from the guest's mapping table (VmRSS from the resident
 *     pages of its mappings; the JVM's heap and code are not the guest's). The process's
 *     utime/stime are the sum of its threads'.</li>
 * </ul>
 * Each is a snapshot taken at open, in a read-only memfd: reads and seeks behave as on a file.
 */
final class ProcFiles {
    private ProcFiles() {}

    private static final int O_ACCMODE = 3, O_RDONLY = 0, O_CLOEXEC = 0x80000, AT_FDCWD = -100, MFD_CLOEXEC = 1;
    /** Kernel: seq_setwidth(m, 25 + sizeof(void *) * 6 - 1) before the name. */
    private static final int NAME_COLUMN = 25 + 8 * 6 - 1;

    /**
     * One of the files this class answers: its name, and for the per-task files the guest thread
     * and whether it is that thread's own view (task/TID, thread-self) or the process's (self).
     */
    record Own(String file, int tid, boolean task) {}

    private static final java.util.regex.Pattern TASK =
            java.util.regex.Pattern.compile("/proc/(?:self|\\d+)/task/(\\d+)/(status|stat|comm)");

    /** The file {@code n} names when it is one of ours (for the calling thread {@code ctx}), else null. */
    static Own names(String n, SyscallContext ctx) {
        long pid = ctx.process().pid();
        java.util.regex.Matcher t = TASK.matcher(n);
        if (t.matches() && (n.startsWith("/proc/self/") || n.startsWith("/proc/" + pid + "/"))) {
            int tid = Integer.parseInt(t.group(1));
            return ctx.process().threads().byTid(tid) == null ? null : new Own(t.group(2), tid, true);
        }
        for (String dir : new String[]{"/proc/self/", "/proc/thread-self/", "/proc/" + pid + "/"}) {
            if (n.startsWith(dir)) {
                String f = n.substring(dir.length());
                boolean thread = dir.equals("/proc/thread-self/");
                return switch (f) {
                    case "maps", "cmdline", "environ", "auxv" -> new Own(f, (int) pid, false);
                    case "status", "stat", "comm" -> new Own(f, thread ? ctx.tid() : (int) pid, thread);
                    default -> null;
                };
            }
        }
        return null;
    }

    /** A host fd, read-only, holding the file's contents now. */
    static int open(SyscallContext ctx, Own own, int flags) {
        String file = own.file();
        if ((flags & O_ACCMODE) != O_RDONLY) throw new ErrnoException(Errno.EACCES);
        byte[] text = switch (file) {
            case "maps" -> listing(ctx).getBytes(StandardCharsets.ISO_8859_1);
            case "auxv" -> ctx.process().auxv();
            case "cmdline" -> ArgumentArea.bytes(ctx.memory(), ctx.process().argvAddress());
            case "status" -> ProcStatus.status(ctx, own.tid(), own.task()).getBytes(StandardCharsets.ISO_8859_1);
            case "stat" -> ProcStatus.stat(ctx, own.tid(), own.task()).getBytes(StandardCharsets.ISO_8859_1);
            case "comm" -> ProcStatus.hostTaskFile(ctx, own.tid(), "comm").getBytes(StandardCharsets.ISO_8859_1);
            default -> ArgumentArea.bytes(ctx.memory(), ctx.process().envpAddress());
        };
        try (Arena arena = Arena.ofConfined()) {
            int memfd = (int) HostKernel.check(HostKernel.call(HostSyscall.MEMFD_CREATE,
                    arena.allocateFrom("herd-proc-" + file).address(), MFD_CLOEXEC));
            try {
                MemorySegment buf = arena.allocate(Math.max(1, text.length));
                MemorySegment.copy(text, 0, buf, ValueLayout.JAVA_BYTE, 0, text.length);
                long done = 0;
                while (done < text.length) {
                    long w = HostKernel.check(HostKernel.call(HostSyscall.WRITE, memfd, buf.address() + done, text.length - done));
                    done += w;
                }
                // Reopened read-only: the guest cannot write into "the kernel's" file.
                return (int) HostKernel.check(HostKernel.call(HostSyscall.OPENAT, AT_FDCWD,
                        arena.allocateFrom(PathResolver.procFd(memfd)).address(), O_RDONLY | O_CLOEXEC, 0));
            } finally {
                HostKernel.call(HostSyscall.CLOSE, memfd);
            }
        }
    }

    static String listing(SyscallContext ctx) {
        StringBuilder sb = new StringBuilder();
        PathResolver paths = ctx.process().paths();
        for (Mapping m : ctx.process().addressSpace().mappings()) {
            String name = m.name();
            // The loader names its mappings by host path: inside a rootfs, show the guest's.
            if (name != null && name.startsWith("/")) name = paths.guestNameOfHostPath(name);
            boolean file = name != null && !name.startsWith("[");
            long[] devIno = file ? devInode(paths, name) : new long[]{0, 0};
            int start = sb.length();
            sb.append(String.format("%08x-%08x %c%c%c%c %08x %02x:%02x %d",
                    m.start(), m.end(),
                    (m.prot() & Prot.READ) != 0 ? 'r' : '-',
                    (m.prot() & Prot.WRITE) != 0 ? 'w' : '-',
                    (m.prot() & Prot.EXEC) != 0 ? 'x' : '-',
                    (m.flags() & MapFlags.TYPE) == MapFlags.SHARED ? 's' : 'p',
                    file ? m.fileOffset() : 0,
                    devIno[0] >>> 8 & 0xfff | (devIno[0] >>> 32 & ~0xfffL), devIno[0] & 0xff | (devIno[0] >>> 12 & ~0xffL),
                    devIno[1]));
            if (name != null) {
                sb.append(" ".repeat(Math.max(0, NAME_COLUMN - (sb.length() - start)))).append(' ');
                sb.append(name);
            }
            sb.append('\n');
        }
        return sb.toString();
    }

    /** st_dev and st_ino of the file a mapping names (0, 0 if it is gone). */
    private static long[] devInode(PathResolver paths, String guestPath) {
        try (PathResolver.Target t = paths.follow(PathResolver.AT_FDCWD, guestPath)) {
            HostStat st = HostStat.of(t.dirFd());
            return new long[]{st.dev(), st.ino()};
        } catch (ErrnoException e) {
            return new long[]{0, 0};
        }
    }
}
