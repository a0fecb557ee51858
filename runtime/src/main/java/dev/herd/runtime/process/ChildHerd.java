package dev.herd.runtime.process;

import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * How this run starts another Herd process: the JVM that runs this one (its java binary, its JVM
 * options minus debuggers and agents, its class path) with {@code HerdMain run} and this run's
 * rootfs, mode and tracing. {@code execve} uses it to run the new program image in a child Herd.
 *
 * @param java        the java launcher of this JVM
 * @param jvmOptions  options for the child JVM
 * @param classPath   the class path holding Herd
 * @param rootfs      host path of the guest root
 * @param serial      whether the run is in serial mode
 * @param strace      whether syscalls are traced
 */
public record ChildHerd(String java, List<String> jvmOptions, String classPath, String rootfs, boolean serial,
                        boolean strace) {
    public ChildHerd {
        jvmOptions = List.copyOf(jvmOptions);
    }

    /** The child description of the running JVM. */
    public static ChildHerd ofThisJvm(String rootfs, boolean serial, boolean strace) {
        String java = ProcessHandle.current().info().command()
                .orElse(System.getProperty("java.home") + "/bin/java");
        List<String> opts = new ArrayList<>();
        for (String o : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            // A debugger or agent with a fixed port or file would clash with the parent's.
            if (o.startsWith("-agentlib") || o.startsWith("-agentpath") || o.startsWith("-javaagent")
                    || o.startsWith("-Xdebug") || o.startsWith("-Xrunjdwp")) {
                continue;
            }
            opts.add(o);
        }
        if (opts.stream().noneMatch(o -> o.startsWith("--enable-native-access"))) opts.add("--enable-native-access=ALL-UNNAMED");
        return new ChildHerd(java, opts, System.getProperty("java.class.path"), rootfs, serial, strace);
    }

    /**
     * The child's argv: {@code java OPTIONS -cp CP HerdMain run ... --program PROGRAM -- ARGV...}.
     *
     * @param program       host path of the program image
     * @param guestArgv     the guest's argv, argv[0] included, as bytes
     * @param inheritedFds  guest fds the child finds open at the same numbers
     * @param ignored       signals ignored (SIG_IGN) across the exec, as a mask
     * @param blocked       the blocked mask across the exec
     */
    public List<byte[]> command(String program, List<byte[]> guestArgv, int[] inheritedFds, long ignored, long blocked) {
        List<String> head = new ArrayList<>();
        head.add(java);
        head.addAll(jvmOptions);
        head.add("-cp");
        head.add(classPath);
        head.add("dev.herd.runtime.cli.HerdMain");
        head.add("run");
        head.add("--rootfs");
        head.add(rootfs);
        head.add("--mode");
        head.add(serial ? "serial" : "parallel");
        if (strace) head.add("--strace");
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
        head.add("--");
        List<byte[]> cmd = new ArrayList<>();
        for (String s : head) cmd.add(s.getBytes(StandardCharsets.UTF_8));
        cmd.addAll(guestArgv);
        return cmd;
    }
}
