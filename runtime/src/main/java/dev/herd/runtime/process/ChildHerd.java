package dev.herd.runtime.process;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * How this run starts another Herd process: the JVM that runs this one (its java binary, its JVM
 * options minus debuggers and agents, its class path, its own environment) with {@code HerdMain
 * run} and this run's rootfs, mode and tracing. {@code execve} uses it to run the new program image
 * in a child Herd.
 *
 * <p>Nothing the guest controls reaches the child JVM as a JVM or host-process input: the guest's
 * environment would otherwise be the JVM's ({@code LD_PRELOAD}, {@code JAVA_TOOL_OPTIONS},
 * {@code -Xlog:...:file=} run host code or touch host files). The child JVM gets this JVM's
 * environment (for the first Herd the user's, for a child Herd what its parent gave it, so by
 * induction never the guest's); the guest's environment travels in a memfd ({@code --env-fd}) and
 * the checked image as an open fd ({@code --program-fd}), both at numbers above the guest's fds.
 *
 * @param java        the java launcher of this JVM
 * @param jvmOptions  options for the child JVM
 * @param classPath   the class path holding Herd
 * @param rootfs      host path of the guest root
 * @param serial      whether the run is in serial mode
 * @param strace      whether syscalls are traced
 * @param environment the child JVM's environment, "NAME=value" bytes
 * @param proxyOptions the run's kernel-proxy options for the child (none without a proxy)
 */
public record ChildHerd(String java, List<String> jvmOptions, String classPath, String rootfs, boolean serial,
                        boolean strace, List<byte[]> environment, List<String> proxyOptions) {
    public ChildHerd {
        jvmOptions = List.copyOf(jvmOptions);
        environment = List.copyOf(environment);
        proxyOptions = List.copyOf(proxyOptions);
    }

    /** Variables the JVM reads options from: their effect is already in {@link #jvmOptions}. */
    private static final List<String> JVM_OPTION_VARIABLES = List.of("JAVA_TOOL_OPTIONS=", "JDK_JAVA_OPTIONS=", "_JAVA_OPTIONS=");

    /** The child description of the running JVM. */
    public static ChildHerd ofThisJvm(String rootfs, boolean serial, boolean strace, List<String> proxyOptions) {
        String java = ProcessHandle.current().info().command()
                .orElse(System.getProperty("java.home") + "/bin/java");
        List<String> opts = new ArrayList<>();
        for (String o : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            // A debugger or agent with a fixed port or file would clash with the parent's.
            if (o.startsWith("-agentlib") || o.startsWith("-agentpath") || o.startsWith("-javaagent")
                    || o.startsWith("-Xdebug") || o.startsWith("-Xrunjdwp")) {
                continue;
            }
            // A training run (scripts/aot-cache.sh) records this JVM only: a child writing the same
            // cache file would race with it. The child uses a cache (-XX:AOTCache) like its parent.
            if (o.startsWith("-XX:AOTCacheOutput") || o.startsWith("-XX:AOTConfiguration") || o.startsWith("-XX:AOTMode")) {
                continue;
            }
            opts.add(o);
        }
        if (opts.stream().noneMatch(o -> o.startsWith("--enable-native-access"))) opts.add("--enable-native-access=ALL-UNNAMED");
        List<byte[]> env = new ArrayList<>();
        String suspend = dev.herd.runtime.signal.HostSignalCarrier.JVM_SUSPEND_VARIABLE + "=";
        boolean hasSuspend = false;
        for (byte[] e : jvmEnvironment()) {
            String text = new String(e, StandardCharsets.ISO_8859_1);
            if (JVM_OPTION_VARIABLES.stream().noneMatch(text::startsWith)) env.add(e);
            hasSuspend |= text.startsWith(suspend);
        }
        // Every Herd JVM moves HotSpot's suspend signal off SIGUSR2 (an embedding JVM's child too),
        // so that SIGUSR2 from another guest process reaches the guest (HostSignalCarrier).
        if (!hasSuspend) env.add((suspend + dev.herd.runtime.signal.HostSignalCarrier.JVM_SUSPEND_SIGNAL).getBytes(StandardCharsets.ISO_8859_1));
        return new ChildHerd(java, opts, System.getProperty("java.class.path"), rootfs, serial, strace, env, proxyOptions);
    }

    /** This JVM's own initial environment, raw. */
    private static List<byte[]> jvmEnvironment() {
        try {
            return nulSeparated(Files.readAllBytes(Path.of("/proc/self/environ")));
        } catch (IOException e) {
            List<byte[]> env = new ArrayList<>();
            System.getenv().forEach((k, v) -> env.add((k + "=" + v).getBytes(StandardCharsets.UTF_8)));
            return env;
        }
    }

    /** Splits NUL-terminated strings (a missing final NUL ends the last one too). */
    public static List<byte[]> nulSeparated(byte[] all) {
        List<byte[]> out = new ArrayList<>();
        int start = 0;
        for (int i = 0; i < all.length; i++) {
            if (all[i] == 0) {
                out.add(Arrays.copyOfRange(all, start, i));
                start = i + 1;
            }
        }
        if (start < all.length) out.add(Arrays.copyOfRange(all, start, all.length));
        return out;
    }

    /** The guest environment as the bytes {@code --env-fd} carries: each entry NUL-terminated. */
    public static byte[] nulTerminated(List<byte[]> entries) {
        int n = 0;
        for (byte[] e : entries) n += e.length + 1;
        byte[] out = new byte[n];
        int at = 0;
        for (byte[] e : entries) {
            System.arraycopy(e, 0, out, at, e.length);
            at += e.length + 1;
        }
        return out;
    }

    /**
     * A fork's child: {@code java OPTIONS -cp CP HerdMain fork ... --state-fd N}, which starts from
     * the {@link ForkImage} in that fd instead of a program file.
     */
    public List<byte[]> forkCommand(int stateFd, int budgetFd) {
        return forkCommand("--state-fd", stateFd, budgetFd);
    }

    /** A warm spare for forks ({@code HerdMain fork ... --spare-fd N}): see {@link ForkSpare}. */
    public List<byte[]> spareCommand(int socketFd, int machine, int budgetFd) {
        List<byte[]> cmd = new ArrayList<>(forkCommand("--spare-fd", socketFd, budgetFd));
        cmd.add(cmd.size() - 2, "--machine".getBytes(StandardCharsets.UTF_8));
        cmd.add(cmd.size() - 2, Integer.toString(machine).getBytes(StandardCharsets.UTF_8));
        return cmd;
    }

    private List<byte[]> forkCommand(String fdOption, int fd, int budgetFd) {
        List<String> head = head("fork");
        head.add("--budget-fd");
        head.add(Integer.toString(budgetFd));
        head.add(fdOption);
        head.add(Integer.toString(fd));
        List<byte[]> cmd = new ArrayList<>();
        for (String s : head) cmd.add(s.getBytes(StandardCharsets.UTF_8));
        return cmd;
    }

    /** {@code java OPTIONS -cp CP HerdMain COMMAND} and this run's options (rootfs, mode, tracing, proxy). */
    private List<String> head(String command) {
        List<String> head = new ArrayList<>();
        head.add(java);
        head.addAll(jvmOptions);
        head.add("-cp");
        head.add(classPath);
        head.add("dev.herd.runtime.cli.HerdMain");
        head.add(command);
        head.add("--rootfs");
        head.add(rootfs);
        head.add("--mode");
        head.add(serial ? "serial" : "parallel");
        if (strace) head.add("--strace");
        head.addAll(proxyOptions);
        return head;
    }

    /**
     * The child's argv: {@code java OPTIONS -cp CP HerdMain run ... --program PROGRAM -- ARGV...}.
     *
     * @param program       host path of the program image (names it: the child reads {@code programFd})
     * @param programFd     the child's fd number of the open image
     * @param envFd         the child's fd number of the memfd holding the guest's environment
     * @param budgetFd      the child's fd number of the run's {@link ProcessBudget}
     * @param parentPid     the new image's getppid (the exec'ing process's parent; a vfork child's parent)
     * @param reportFd      the child's fd to which it writes its guest pid once known (a vfork child's
     *                      execve: the pid its parent's vfork returns), -1 for none
     * @param guestArgv     the guest's argv, argv[0] included, as bytes
     * @param inheritedFds  guest fds above 2 the child finds open at the same numbers
     * @param stdio         which of the guest's fds 0-2 the child finds open at their numbers (bit n: fd n);
     *                      the others are closed in the guest even if its JVM opens a file there
     * @param ignored       signals ignored (SIG_IGN) across the exec, as a mask
     * @param blocked       the blocked mask across the exec
     * @param chroot        the guest's root directory inside the rootfs ("/" for none)
     * @param umask         the guest's umask
     * @param rlimits       the guest's resource limits, {soft, hard} per resource
     */
    public List<byte[]> command(String program, int programFd, int envFd, int budgetFd, int parentPid, int reportFd,
                                List<byte[]> guestArgv, int[] inheritedFds, int stdio, long ignored, long blocked,
                                String chroot, int umask, long[][] rlimits) {
        List<String> head = head("run");
        if (stdio != 7) {
            head.add("--stdio");
            head.add(stdioList(stdio));
        }
        head.add("--umask");
        head.add(Integer.toOctalString(umask));
        StringBuilder limits = new StringBuilder();
        for (long[] l : rlimits) {
            limits.append(limits.isEmpty() ? "" : ",").append(Long.toHexString(l[0])).append(':').append(Long.toHexString(l[1]));
        }
        head.add("--rlimits");
        head.add(limits.toString());
        if (!chroot.equals("/")) {
            head.add("--chroot");
            head.add(chroot);
        }
        if (inheritedFds.length > 0) {
            StringBuilder sb = new StringBuilder();
            for (int fd : inheritedFds) sb.append(sb.isEmpty() ? "" : ",").append(fd);
            head.add("--inherit-fds");
            head.add(sb.toString());
        }
        head.add("--sigign");
        head.add(Long.toHexString(ignored));
        head.add("--sigmask");
        head.add(Long.toHexString(blocked));
        head.add("--program");
        head.add(program);
        head.add("--program-fd");
        head.add(Integer.toString(programFd));
        head.add("--env-fd");
        head.add(Integer.toString(envFd));
        head.add("--budget-fd");
        head.add(Integer.toString(budgetFd));
        head.add("--ppid");
        head.add(parentPid + ":" + ProcessHandle.current().pid());
        if (reportFd >= 0) {
            head.add("--report-fd");
            head.add(Integer.toString(reportFd));
        }
        head.add("--");
        List<byte[]> cmd = new ArrayList<>();
        for (String s : head) cmd.add(s.getBytes(StandardCharsets.UTF_8));
        cmd.addAll(guestArgv);
        return cmd;
    }

    /** {@code --stdio}'s argument: the fds among 0-2 whose bits are set, "-" for none. */
    public static String stdioList(int stdio) {
        StringBuilder sb = new StringBuilder();
        for (int fd = 0; fd < 3; fd++) if ((stdio & 1 << fd) != 0) sb.append(sb.isEmpty() ? "" : ",").append(fd);
        return sb.isEmpty() ? "-" : sb.toString();
    }
}
