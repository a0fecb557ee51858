package dev.herd.runtime.launch;

import dev.herd.threads.ExecutionMode;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;

/**
 * Everything needed to start one guest process.
 *
 * @param program     host path of the program file
 * @param argv        the guest's argv, argv[0] included, as raw bytes (Linux arguments are bytes,
 *                    not text: a Java String would lose what is not valid in the JVM's charset)
 * @param env         the guest's environment, "NAME=value" entries as raw bytes
 * @param rootfs      host directory the guest's paths are confined to ("/" for none)
 * @param cwd         the guest's initial working directory, a guest path
 * @param mode        parallel or serial execution
 * @param strace      print one line per syscall to {@code diagnostics}
 * @param stdin       host fd the guest's fd 0 duplicates
 * @param stdout      host fd the guest's fd 1 duplicates
 * @param stderr      host fd the guest's fd 2 duplicates
 * @param diagnostics where Herd's own messages (fault reports, warnings, strace) go
 * @param inherited   what an execve of a parent Herd hands over (fds, ignored signals, mask)
 * @param proxy       the run's kernel proxy, or null for none
 */
public record RunConfig(Path program, List<byte[]> argv, List<byte[]> env, Path rootfs, String cwd,
                        ExecutionMode mode, boolean strace, int stdin, int stdout, int stderr,
                        PrintStream diagnostics, ExecInheritance inherited, ProxySettings proxy) {
    public RunConfig {
        argv = List.copyOf(argv);
        env = List.copyOf(env);
    }

    /** A run that starts fresh (nothing inherited from an execve). */
    public RunConfig(Path program, List<byte[]> argv, List<byte[]> env, Path rootfs, String cwd,
                     ExecutionMode mode, boolean strace, int stdin, int stdout, int stderr, PrintStream diagnostics) {
        this(program, argv, env, rootfs, cwd, mode, strace, stdin, stdout, stderr, diagnostics, ExecInheritance.NONE, null);
    }

    /** The same run with a kernel proxy. */
    public RunConfig withProxy(ProxySettings proxy) {
        return new RunConfig(program, argv, env, rootfs, cwd, mode, strace, stdin, stdout, stderr, diagnostics, inherited, proxy);
    }

    /**
     * State an execve keeps, handed from the parent Herd to the child Herd that runs the new image.
     *
     * @param fds     guest fds (beyond 0-2) the new image has open
     * @param hostFds the host fd holding each of {@link #fds}: the same number after a cold child
     *                Herd's start (placed there by the spawn), any number in a warm fork spare
     *                (received by SCM_RIGHTS). The launcher takes them over.
     * @param ignored signals ignored (SIG_IGN), as a mask
     * @param blocked the blocked mask of the thread that called execve
     * @param programFd a host fd of the image the parent checked, read instead of the program path
     *                  (which then only names it); -1 for none. The launcher closes it.
     * @param chroot    the guest's root directory (chroot) as a path inside the rootfs, "/" for none:
     *                  resolved confined to the rootfs by the child, like any guest path
     * @param budgetFd  the run's {@code ProcessBudget} memfd of the parent Herd, -1 for a new run
     * @param parentPid the guest's parent (its getppid, kept across execve) while {@code parentHostPid}
     *                  is this process's host parent; 0 for none (the Herd JVM is the parent)
     * @param parentHostPid the host process whose child this Herd is while that holds
     */
    public record ExecInheritance(int[] fds, int[] hostFds, long ignored, long blocked, int programFd, String chroot, int budgetFd,
                                  int parentPid, int parentHostPid, int umask, long[][] rlimits) {
        public static final ExecInheritance NONE = new ExecInheritance(new int[0], new int[0], 0, 0, -1, "/", -1, 0, 0, -1, null);

        /** {@code umask} -1 and {@code rlimits} null: the host's (a top-level run). */
        public ExecInheritance {
            fds = fds.clone();
            hostFds = hostFds.clone();
            if (hostFds.length != fds.length) throw new IllegalArgumentException("one host fd per guest fd");
            if (chroot == null || chroot.isEmpty()) chroot = "/";
        }

        /** Only the process budget of a parent Herd (a fork's child). */
        public static ExecInheritance budgetOnly(int budgetFd) {
            return new ExecInheritance(new int[0], new int[0], 0, 0, -1, "/", budgetFd, 0, 0, -1, null);
        }
    }

    /** UTF-8 bytes of each string, for callers that have text. */
    public static List<byte[]> utf8(List<String> strings) {
        return strings.stream().map(s -> s.getBytes(java.nio.charset.StandardCharsets.UTF_8)).toList();
    }
}
