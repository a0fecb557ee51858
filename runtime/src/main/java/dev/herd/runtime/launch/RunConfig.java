package dev.herd.runtime.launch;

import dev.herd.threads.ExecutionMode;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;

/**
 * Everything needed to start one guest process.
 *
 * @param program     host path of the program file
 * @param argv        the guest's argv, argv[0] included
 * @param env         the guest's environment, "NAME=value" strings
 * @param rootfs      host directory the guest's paths are confined to ("/" for none)
 * @param cwd         the guest's initial working directory, a guest path
 * @param mode        parallel or serial execution
 * @param strace      print one line per syscall to {@code diagnostics}
 * @param stdin       host fd the guest's fd 0 duplicates
 * @param stdout      host fd the guest's fd 1 duplicates
 * @param stderr      host fd the guest's fd 2 duplicates
 * @param diagnostics where Herd's own messages (fault reports, warnings, strace) go
 */
public record RunConfig(Path program, List<String> argv, List<String> env, Path rootfs, String cwd,
                        ExecutionMode mode, boolean strace, int stdin, int stdout, int stderr,
                        PrintStream diagnostics) {
    public RunConfig {
        argv = List.copyOf(argv);
        env = List.copyOf(env);
    }
}
