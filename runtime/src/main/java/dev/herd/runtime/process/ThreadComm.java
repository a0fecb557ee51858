package dev.herd.runtime.process;

import dev.herd.host.HostKernel;
import dev.herd.host.HostSyscall;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;

/** A guest thread's comm: its host thread's name (prctl PR_SET_NAME / PR_GET_NAME, 15 bytes). */
public final class ThreadComm {
    private ThreadComm() {}

    private static final int PR_SET_NAME = 15, PR_GET_NAME = 16, TASK_COMM_LEN = 16;

    /** Linux's comm for a program: the basename of the file execve ran, cut to 15 bytes. */
    public static String ofProgram(String path) {
        String base = path.substring(path.lastIndexOf('/') + 1);
        byte[] b = base.getBytes(StandardCharsets.UTF_8);
        return b.length < TASK_COMM_LEN ? base : new String(b, 0, TASK_COMM_LEN - 1, StandardCharsets.ISO_8859_1);
    }

    /** The calling host thread's comm. */
    static String current() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(TASK_COMM_LEN);
            if (HostKernel.call(HostSyscall.PRCTL, PR_GET_NAME, buf.address()) != 0) return null;
            return buf.getString(0, StandardCharsets.ISO_8859_1);
        }
    }

    /** Sets the calling host thread's comm. */
    static void set(String comm) {
        if (comm == null) return;
        try (Arena a = Arena.ofConfined()) {
            byte[] b = comm.getBytes(StandardCharsets.ISO_8859_1);
            MemorySegment buf = a.allocate(TASK_COMM_LEN);
            MemorySegment.copy(b, 0, buf, java.lang.foreign.ValueLayout.JAVA_BYTE, 0, Math.min(b.length, TASK_COMM_LEN - 1));
            HostKernel.call(HostSyscall.PRCTL, PR_SET_NAME, buf.address());
        }
    }
}
