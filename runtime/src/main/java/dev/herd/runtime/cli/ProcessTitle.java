package dev.herd.runtime.cli;

import dev.herd.ffm.HerdNative;
import dev.herd.ffm.NativeWords;
import dev.herd.host.HostKernel;
import dev.herd.host.HostSyscall;
import dev.herd.runtime.fs.ArgumentArea;
import dev.herd.runtime.process.GuestProcess;
import dev.herd.runtime.process.ThreadComm;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.charset.StandardCharsets;

/**
 * What other processes see of a Herd JVM that runs a guest (the command line's, never an
 * embedding application's JVM): {@code /proc/PID/cmdline} and {@code environ} are the guest's
 * argv and envp (herd_native.c's herd_set_process_title: the kernel's argument and environment
 * ranges moved to a copy, by prctl(PR_SET_MM_MAP)), and the comm of its first thread, which
 * {@code /proc/PID/stat} and {@code status} name the process by, is the program's. So {@code ps},
 * {@code pgrep}, {@code pkill} and a guest that reads another guest's /proc/PID files see the
 * program, not {@code java} (the guest pid, its first guest thread's id, shows the same: /proc
 * answers for any thread's id with its process's files). Set at each image (start, execve, and a
 * fork's child, which shows its parent's). Best effort: where the kernel refuses (no
 * CONFIG_CHECKPOINT_RESTORE), the JVM's own stay, said once under HERD_DEBUG.
 */
final class ProcessTitle {
    private ProcessTitle() {}

    private static final MethodHandle SET_TITLE = NativeWords.handle(HerdNative.function("herd_set_process_title"));
    private static volatile boolean refusalSaid;

    /** Shows {@code process}'s current image as this JVM's. */
    static void show(GuestProcess process) {
        byte[] args = ArgumentArea.bytes(process.addressSpace().memory(), process.argvAddress());
        byte[] env = ArgumentArea.bytes(process.addressSpace().memory(), process.envpAddress());
        try (Arena a = Arena.ofConfined()) {
            MemorySegment argBuf = a.allocate(Math.max(1, args.length));
            MemorySegment.copy(args, 0, argBuf, ValueLayout.JAVA_BYTE, 0, args.length);
            MemorySegment envBuf = a.allocate(Math.max(1, env.length));
            MemorySegment.copy(env, 0, envBuf, ValueLayout.JAVA_BYTE, 0, env.length);
            long r = NativeWords.call(SET_TITLE, argBuf.address(), args.length, envBuf.address(), env.length);
            if (r < 0 && !refusalSaid && System.getenv("HERD_DEBUG") != null) {
                refusalSaid = true;
                System.err.println("herd: the guest's command line is not shown as the process's: prctl(PR_SET_MM_MAP) " + r);
            }
            comm(a, process.exePath());
        }
    }

    /** The comm of this JVM's first thread (the process's name in /proc/PID/stat): the program's basename, as execve sets it. */
    private static void comm(Arena a, String exePath) {
        if (exePath == null) return;
        byte[] b = ThreadComm.ofProgram(exePath).getBytes(StandardCharsets.ISO_8859_1);
        int n = b.length;
        long pid = HostKernel.call(HostSyscall.GETPID);
        long fd = HostKernel.call(HostSyscall.OPENAT, -100 /* AT_FDCWD */,
                a.allocateFrom("/proc/self/task/" + pid + "/comm").address(), 1 /* O_WRONLY */ | 0x80000 /* O_CLOEXEC */, 0);
        if (fd < 0) return;
        MemorySegment name = a.allocate(n + 1L);
        MemorySegment.copy(b, 0, name, ValueLayout.JAVA_BYTE, 0, n);
        HostKernel.call(HostSyscall.WRITE, fd, name.address(), n);
        HostKernel.call(HostSyscall.CLOSE, fd);
    }
}
