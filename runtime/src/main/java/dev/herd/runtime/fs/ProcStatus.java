package dev.herd.runtime.fs;

import dev.herd.host.HostKernel;
import dev.herd.host.HostSyscall;
import dev.herd.memory.MapFlags;
import dev.herd.memory.Mapping;
import dev.herd.memory.Prot;
import dev.herd.runtime.syscall.SyscallContext;
import dev.herd.signals.SignalAction;
import dev.herd.signals.Signals;
import dev.herd.threads.GuestThread;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code /proc/PID/status}, {@code stat} and {@code comm} as the guest sees them (see
 * {@link ProcFiles}): the host's file of the guest thread's host thread, with the guest's own
 * values put in. Fields Linux gives per process (utime/stime, memory) are the guest process's;
 * the JVM's other threads and memory are not part of it.
 */
final class ProcStatus {
    private ProcStatus() {}

    private static final long PAGE = 4096;
    private static final int JVM_PID = (int) HostKernel.call(HostSyscall.GETPID);

    /** The host's {@code /proc/JVM/task/TID/name} of a guest thread (the caller's if it is gone). */
    static String hostTaskFile(SyscallContext ctx, int tid, String name) {
        for (int t : new int[]{tid, ctx.tid()}) {
            try {
                return Files.readString(Path.of("/proc/" + JVM_PID + "/task/" + t + "/" + name),
                        java.nio.charset.StandardCharsets.ISO_8859_1);
            } catch (IOException gone) {
                // the thread ended: try the caller's
            }
        }
        return "";
    }

    private static SyscallContext contextOf(SyscallContext ctx, int tid) {
        GuestThread t = ctx.process().threads().byTid(tid);
        return t != null && t.kernelState() instanceof SyscallContext c ? c : ctx;
    }

    /** Memory sizes from the guest's mappings, in bytes: size, resident, data, stack, exe, lib. */
    private record Memory(long size, long rss, long data, long stack, long exe, long lib, long[] code, long[] dataRange) {}

    private static Memory memory(SyscallContext ctx) {
        long size = 0, rss = 0, data = 0, stack = 0, exe = 0, lib = 0;
        long[] code = {0, 0}, dataRange = {0, 0};
        String program = ctx.process().exePath(), programReal = program;
        try {
            programReal = Path.of(program).toRealPath().toString();
        } catch (IOException | RuntimeException e) {
            // the file is gone: compare by the name given
        }
        long base = ctx.process().addressSpace().hostBase();
        try (Arena a = Arena.ofConfined()) {
            int vecPages = 1 << 16;
            MemorySegment vec = a.allocate(vecPages);
            for (Mapping m : ctx.process().addressSpace().mappings()) {
                long len = m.end() - m.start();
                size += len;
                for (long off = 0; off < len; off += vecPages * PAGE) {
                    long n = Math.min(len - off, vecPages * PAGE);
                    if (HostKernel.call(HostSyscall.MINCORE, base + m.start() + off, n, vec.address()) != 0) break;
                    for (long i = 0; i < n / PAGE; i++) if ((vec.get(ValueLayout.JAVA_BYTE, i) & 1) != 0) rss += PAGE;
                }
                boolean grows = (m.flags() & MapFlags.GROWSDOWN) != 0 || "[stack]".equals(m.name());
                boolean ownFile = m.name() != null && (m.name().equals(program) || m.name().equals(programReal));
                if (grows) {
                    stack += len;
                } else if ((m.prot() & Prot.EXEC) != 0 && m.name() != null && !m.name().startsWith("[")) {
                    if (ownFile) {
                        exe += len;
                        if (code[0] == 0) code[0] = m.start();
                        code[1] = m.end();
                    } else {
                        lib += len;
                    }
                } else if ((m.prot() & Prot.WRITE) != 0 && (m.flags() & MapFlags.TYPE) != MapFlags.SHARED) {
                    data += len;
                    if (ownFile && dataRange[0] == 0) dataRange = new long[]{m.start(), m.end()};
                }
            }
        }
        return new Memory(size, rss, data, stack, exe, lib, code, dataRange);
    }

    private static long sigMask(SyscallContext ctx, long handler) {
        long mask = 0;
        for (int sig = 1; sig <= Signals.MAX; sig++) {
            long h = ctx.process().signals().actions().get(sig).handler();
            boolean match = handler == SignalAction.SIG_IGN ? h == SignalAction.SIG_IGN
                    : h != SignalAction.SIG_IGN && h != SignalAction.SIG_DFL;
            if (match) mask |= Signals.bit(sig);
        }
        return mask;
    }

    private static long guestGroup(SyscallContext ctx, long id) {
        return id <= 0 ? id : ctx.process().guestIdOf((int) id);
    }

    /** The guest's parent: a fork's parent process, else the Herd JVM (as getppid says). */
    private static int parentPid(SyscallContext ctx) {
        return ctx.process().guestParentPid();
    }

    static String status(SyscallContext ctx, int tid, boolean task) {
        String host = hostTaskFile(ctx, tid, "status");
        SyscallContext t = contextOf(ctx, tid);
        int pid = ctx.process().pid();
        Memory mem = memory(ctx);
        long shared = ctx.process().signals().shared().pending();
        long pendingCount = Long.bitCount(shared);
        for (GuestThread g : ctx.process().threads().threads()) {
            if (g.kernelState() instanceof SyscallContext c) pendingCount += Long.bitCount(c.signals().pending().pending());
        }
        StringBuilder out = new StringBuilder();
        for (String line : host.split("\n")) {
            int colon = line.indexOf(':');
            String key = colon < 0 ? line : line.substring(0, colon);
            String value = switch (key) {
                case "Name" -> hostTaskFile(ctx, tid, "comm").strip();
                case "Tgid" -> Integer.toString(pid);
                case "Pid" -> Integer.toString(task ? tid : pid);
                case "PPid" -> Integer.toString(parentPid(ctx));
                case "NStgid" -> Integer.toString(pid);
                case "NSpid" -> Integer.toString(task ? tid : pid);
                case "NSpgid", "NSsid" -> Long.toString(guestGroup(ctx, Long.parseLong(line.substring(colon + 1).strip())));
                case "Threads" -> Integer.toString(ctx.process().threads().count());
                case "SigQ" -> pendingCount + "/" + line.substring(colon + 1).strip().replaceFirst("^\\d+/", "");
                case "SigPnd" -> hex(t.signals().pending().pending());
                case "ShdPnd" -> hex(shared);
                case "SigBlk" -> hex(t.signals().blocked());
                case "SigIgn" -> hex(sigMask(ctx, SignalAction.SIG_IGN));
                case "SigCgt" -> hex(sigMask(ctx, 2));
                case "VmPeak", "VmSize" -> kb(mem.size());
                case "VmHWM", "VmRSS", "RssAnon" -> kb(mem.rss());
                case "RssFile", "RssShmem", "VmLck", "VmPin", "VmPTE", "VmSwap", "HugetlbPages" -> kb(0);
                case "VmData" -> kb(mem.data());
                case "VmStk" -> kb(mem.stack());
                case "VmExe" -> kb(mem.exe());
                case "VmLib" -> kb(mem.lib());
                default -> null;
            };
            out.append(value == null ? line : key + ":\t" + value).append('\n');
        }
        return out.toString();
    }

    static String stat(SyscallContext ctx, int tid, boolean task) {
        String host = hostTaskFile(ctx, tid, "stat").strip();
        int close = host.lastIndexOf(')');
        if (close < 0) return host;
        List<String> f = new ArrayList<>();
        f.add(""); // fields are 1-based
        f.add(Integer.toString(task ? tid : ctx.process().pid()));
        f.add("(" + hostTaskFile(ctx, tid, "comm").strip() + ")");
        for (String x : host.substring(close + 2).split(" ")) f.add(x);
        SyscallContext t = contextOf(ctx, tid);
        Memory mem = memory(ctx);
        f.set(4, Integer.toString(parentPid(ctx)));
        for (int i : new int[]{5, 6, 8}) f.set(i, Long.toString(guestGroup(ctx, Long.parseLong(f.get(i)))));
        if (!task) {
            // the process's CPU time: all of its threads'
            long utime = 0, stime = 0;
            for (GuestThread g : ctx.process().threads().threads()) {
                String s = hostTaskFile(ctx, g.tid(), "stat");
                int c = s.lastIndexOf(')');
                if (c < 0) continue;
                String[] x = s.substring(c + 2).strip().split(" ");
                utime += Long.parseLong(x[11]);
                stime += Long.parseLong(x[12]);
            }
            f.set(14, Long.toString(utime));
            f.set(15, Long.toString(stime));
        }
        // PF_FORKNOEXEC: the guest's first thread is a JVM thread (cloned, never exec'd); the
        // process the guest sees has exec'd its program
        if (!task || tid == ctx.process().pid()) f.set(9, Long.toString(Long.parseLong(f.get(9)) & ~0x40L));
        f.set(20, Integer.toString(ctx.process().threads().count()));
        f.set(23, Long.toString(mem.size()));
        f.set(24, Long.toString(mem.rss() / PAGE));
        f.set(26, Long.toString(mem.code()[0]));
        f.set(27, Long.toString(mem.code()[1]));
        long argv = ctx.process().argvAddress();
        f.set(28, Long.toString(argv == 0 ? 0 : argv - 8)); // where argc is: the initial stack pointer
        f.set(29, "0");
        f.set(30, "0");
        f.set(31, Long.toString(t.signals().pending().pending() | ctx.process().signals().shared().pending()));
        f.set(32, Long.toString(t.signals().blocked()));
        f.set(33, Long.toString(sigMask(ctx, SignalAction.SIG_IGN)));
        f.set(34, Long.toString(sigMask(ctx, 2)));
        f.set(38, task && tid != ctx.process().pid() ? "-1" : "17"); // exit_signal: SIGCHLD for the leader
        if (f.size() > 51) {
            f.set(45, Long.toString(mem.dataRange()[0]));
            f.set(46, Long.toString(mem.dataRange()[1]));
            f.set(47, Long.toString(ctx.process().addressSpace().brkStart()));
            long[] args = ArgumentArea.span(ctx.memory(), ctx.process().argvAddress()),
                    env = ArgumentArea.span(ctx.memory(), ctx.process().envpAddress());
            f.set(48, Long.toString(args[0]));
            f.set(49, Long.toString(args[1]));
            f.set(50, Long.toString(env[0]));
            f.set(51, Long.toString(env[1]));
        }
        return String.join(" ", f.subList(1, f.size())) + "\n";
    }

    private static String hex(long mask) {
        return String.format("%016x", mask);
    }

    private static String kb(long bytes) {
        return String.format("%8d kB", bytes / 1024);
    }
}
