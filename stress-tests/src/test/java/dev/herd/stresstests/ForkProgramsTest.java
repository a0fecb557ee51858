package dev.herd.stresstests;

import static dev.herd.stresstests.GuestCase.sys;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Debian programs that fork (issue 13), natively and under herd in every mode: bash pipelines,
 * command substitution, {@code &&}/{@code ||}, here-documents, background jobs and {@code wait};
 * {@code make -j2}; Python's subprocess and multiprocessing with the fork start method; xargs,
 * timeout, find -exec. Every child is a child Herd started from the parent's fork image.
 */
class ForkProgramsTest {
    private static final String MAKEFILE = "all: one two three\n\t@echo all: $^\n"
            + "one two three:\n\t@sleep 0.1; echo made $@ > $@.out\n"
            + "clean:\n\t@rm -f *.out\n";

    static final List<GuestCase> CASES = List.of(
            sys("/usr/bin/bash", "-c", "seq 1 1000 | sort -rn | head -n 3").status(0).named("bash pipeline"),
            sys("/usr/bin/bash", "-c", "n=$(wc -l < words.txt); echo \"$n words\"; echo \"$(echo nested $(echo twice))\"")
                    .status(0).named("bash command substitution"),
            sys("/usr/bin/bash", "-c", "true && echo and-ok; false || echo or-ok; false && echo never; (exit 3); echo $?")
                    .status(0).named("bash && || and a subshell's status"),
            sys("/usr/bin/bash", "-c", "x=here; cat <<EOF\nline one $x\n$(echo two)\nEOF\ncat <<'EOF'\nliteral $x\nEOF")
                    .status(0).named("bash here-documents"),
            sys("/usr/bin/bash", "-c", "{ (sleep 0.2; echo slow) & (echo fast) & wait; } | sort; echo waited; "
                    + "sleep 0.1 & p=$!; wait $p; echo \"status $?\"; (exit 7) & wait $!; echo \"bg status $?\"")
                    .status(0).named("bash background jobs and wait"),
            sys("/usr/bin/bash", "-c", "sort words.txt | uniq -c | sort -rn | head -n 5 | tr a-z A-Z | wc -l")
                    .status(0).named("bash five-stage pipeline"),
            sys("/usr/bin/bash", "-c", "make -j2 -s; cat one.out two.out three.out; make -s clean")
                    .status(0).named("make -j2"),
            sys("/usr/bin/xargs", "-n", "25", "echo", "words:").stdin("words.txt").status(0),
            sys("/usr/bin/bash", "-c", "timeout 5 sleep 0.1; echo \"in time $?\"; timeout 0.3 sleep 10; echo \"timed out $?\"")
                    .status(0).named("timeout"),
            sys("/usr/bin/find", "tree", "-name", "*.txt", "-exec", "wc", "-c", "{}", ";").status(0),
            sys("/usr/bin/python3", "-c", "import subprocess, sys\n"
                    + "r = subprocess.run(['sort', 'words.txt'], capture_output=True, text=True)\n"
                    + "print(r.returncode, r.stdout.splitlines()[:3])\n"
                    + "p = subprocess.Popen(['cat'], stdin=subprocess.PIPE, stdout=subprocess.PIPE)\n"
                    + "print(p.communicate(b'through a pipe')[0].decode(), p.returncode)\n"
                    + "print(subprocess.call('exit 5', shell=True))\n"
                    + "import os\n"
                    + "out = subprocess.run([sys.executable, '-c', 'import os; print(os.getppid())'], capture_output=True, text=True)\n"
                    + "print('parent is us:', int(out.stdout) == os.getpid())\n"
                    + "p = subprocess.Popen([sys.executable, '-c', 'import os; print(os.getpid())'], stdout=subprocess.PIPE, text=True)\n"
                    + "print('Popen.pid is its getpid:', int(p.communicate()[0]) == p.pid)").status(0).named("python3 subprocess"),
            sys("/usr/bin/bash", "-c", "a=$PPID; exec /bin/sh -c \"test \\$PPID = $a && echo execve keeps the parent\"")
                    .status(0).named("execve keeps getppid"),
            sys("/usr/bin/python3", "-c", "import multiprocessing as mp, os\n"
                    + "def square(x): return x * x\n"
                    + "def child(q): q.put(os.getppid() == parent)\n"
                    + "parent = os.getpid()\n"
                    + "ctx = mp.get_context('fork')\n"
                    + "with ctx.Pool(2) as pool: print(pool.map(square, range(8)))\n"
                    + "q = ctx.Queue(); p = ctx.Process(target=child, args=(q,)); p.start(); print(q.get()); p.join(); print(p.exitcode)\n"
                    + "pid = os.fork()\n"
                    + "if pid == 0: os._exit(9)\n"
                    + "print(os.waitpid(pid, 0)[1] >> 8)").status(0).named("python3 multiprocessing fork"),
            // job control through execve: a spawned shell stops itself (SIGTSTP's default action),
            // and a forked one that exec'd (the waiting JVM stops with its image) by SIGSTOP
            // (a group of its own, not orphaned, so that SIGTSTP's default action stops as in a shell)
            sys("/usr/bin/python3", "-c", "import os, signal, subprocess, sys\n"
                    + "os.setpgid(0, 0)\n"
                    + "p = subprocess.Popen(['/bin/sh', '-c', 'kill -TSTP $$; echo resumed'])\n"
                    + "pid, st = os.waitpid(p.pid, os.WUNTRACED)\n"
                    + "print('spawned:', os.WIFSTOPPED(st), os.WSTOPSIG(st))\n"
                    + "os.kill(p.pid, signal.SIGCONT)\n"
                    + "print('spawned exit:', os.waitpid(p.pid, 0)[1]); sys.stdout.flush()\n"
                    + "r, w = os.pipe()\n"
                    + "pid = os.fork()\n"
                    + "if pid == 0: os.dup2(r, 0); os.execv('/bin/sh', ['sh', '-c', 'kill -STOP $$; read x; echo resumed $x'])\n"
                    + "_, st = os.waitpid(pid, os.WUNTRACED)\n"
                    + "print('forked and exec\\'d:', os.WIFSTOPPED(st), os.WSTOPSIG(st))\n"
                    + "os.kill(pid, signal.SIGCONT)\n"
                    + "print('continued:', os.WIFCONTINUED(os.waitpid(pid, os.WCONTINUED)[1]))\n"
                    + "os.write(w, b'too\\n')\n"
                    + "print('exit:', os.waitpid(pid, 0)[1])").status(0).named("python3 job control"));

    /** fork.c with every fork cold (a child Herd started for it): the path the first fork takes. */
    @ParameterizedTest(name = "fork.c without the warm spare [{0}]")
    @org.junit.jupiter.params.provider.EnumSource(Mode.class)
    void coldForks(Mode mode) throws IOException {
        Differential.check(GuestCase.c("fork").status(0), mode, java.util.Map.of("HERD_FORK_SPARE", "off"));
    }

    /**
     * jobctl.c with every fork cold: its children stop themselves at once, which once stopped a
     * cold child Herd before it had told its parent its pid, and the parent's fork waited for ever.
     */
    @ParameterizedTest(name = "jobctl.c without the warm spare [{0}]")
    @org.junit.jupiter.params.provider.EnumSource(Mode.class)
    void coldJobControl(Mode mode) throws IOException {
        Differential.check(GuestCase.c("jobctl").status(0), mode, java.util.Map.of("HERD_FORK_SPARE", "off"));
    }

    /**
     * posix_spawn's children (spawn_warm.c) against native, with every spawn after the first run
     * in the warm fork spare the one before left (HERD_FORK_SPARE=wait makes the spawn wait for it
     * to boot instead of starting a child Herd): the spare path is checked to have been taken.
     */
    @ParameterizedTest(name = "posix_spawn in warm spares [{0}]")
    @org.junit.jupiter.params.provider.EnumSource(Mode.class)
    void warmSpawns(Mode mode) throws IOException {
        Path trace = Files.createTempFile(Files.createDirectories(HerdEnv.WORK), "spawn-trace-", ".txt");
        Differential.check(GuestCase.c("spawn_warm").status(0), mode,
                java.util.Map.of("HERD_FORK_SPARE", "wait", "HERD_STARTUP_TRACE", trace.toString()));
        org.junit.jupiter.api.Assertions.assertEquals(3, warmSpawnsIn(trace), Files.readString(trace));
        Files.delete(trace);
    }

    /**
     * Forks back to back (fork_reuse.c, against native): each child checks that it starts from
     * its parent's state and from nothing an earlier child left, which matters because Herd runs
     * a later child in an earlier child's JVM once that one exited cleanly (a reused spare;
     * HERD_FORK_SPARE=wait makes each fork wait for it): that path is checked to have been taken.
     */
    @ParameterizedTest(name = "forks in reused spares [{0}]")
    @org.junit.jupiter.params.provider.EnumSource(Mode.class)
    void reusedSpares(Mode mode) throws IOException {
        Path trace = Files.createTempFile(Files.createDirectories(HerdEnv.WORK), "fork-trace-", ".txt");
        Differential.check(GuestCase.c("fork_reuse", "10").status(0), mode,
                java.util.Map.of("HERD_FORK_SPARE", "wait", "HERD_STARTUP_TRACE", trace.toString()));
        long reused = Files.readAllLines(trace).stream().filter(l -> l.contains("fork spare: reused")).count();
        org.junit.jupiter.api.Assertions.assertTrue(reused >= 1, Files.readString(trace));
        Files.delete(trace);
    }

    /** How many vfork children's execs a HERD_STARTUP_TRACE file says went to a warm spare. */
    static int warmSpawnsIn(Path trace) throws IOException {
        return (int) Files.readAllLines(trace).stream().filter(l -> l.contains("vfork exec: child running (warm spare)")).count();
    }

    /**
     * A fork bomb is bounded: with room for 4 Herd processes the guest makes 3 children, then fork
     * fails with EAGAIN (as at RLIMIT_NPROC), and everything ends.
     */
    @ParameterizedTest(name = "process limit [{0}]")
    @org.junit.jupiter.params.provider.EnumSource(Mode.class)
    void processLimit(Mode mode) throws IOException {
        Path base = Differential.newRunDirectory("fork-limit-" + mode);
        java.util.Map<String, String> env = new java.util.LinkedHashMap<>(HerdEnv.guestEnvironment(base));
        env.put("HERD_MAX_PROCESSES", "4");
        GuestRun.Result r = GuestRun.run(GuestRun.herdCommand(mode, List.of(HerdEnv.guest("fork_limit").toString(), "limit")),
                base, null, env, HerdEnv.TIMEOUT);
        GuestRun.assertNoJavaLeak(r);
        org.junit.jupiter.api.Assertions.assertEquals(0, r.status(), r.describe() + r.stderrText());
        org.junit.jupiter.api.Assertions.assertEquals("forked 3 then EAGAIN\n", r.stdoutText(), r.describe() + r.stderrText());
    }

    /**
     * A run's JVMs leave nothing in /tmp. HotSpot's attach listener, which -Xrs starts with the
     * JVM, makes /tmp/.java_pidPID and removes it only at a normal exit, and an unused spare ends
     * by SIGKILL: every run that forked left one such file (28,000 had piled up on the CI machine).
     * The run's JVMs are the pids its start-up trace names (each Herd JVM, spares too, marks its main).
     */
    @ParameterizedTest(name = "nothing left in /tmp [{0}]")
    @org.junit.jupiter.params.provider.EnumSource(Mode.class)
    void nothingLeftInTmp(Mode mode) throws IOException {
        Path base = Differential.newRunDirectory("fork-tmp-" + mode);
        Path trace = base.resolve("startup-trace.txt");
        java.util.Map<String, String> env = new java.util.LinkedHashMap<>(HerdEnv.guestEnvironment(base));
        env.put("HERD_FORK_SPARE", "wait"); // a spare is booted, and unused at the end
        env.put("HERD_STARTUP_TRACE", trace.toString());
        long started = System.currentTimeMillis() - 2000; // file times are coarser than the clock
        GuestRun.Result r = GuestRun.run(GuestRun.herdCommand(mode, List.of(HerdEnv.guest("fork").toString())), base, null, env,
                HerdEnv.TIMEOUT);
        GuestRun.assertNoJavaLeak(r);
        // fork.c reports a failed check on stdout
        org.junit.jupiter.api.Assertions.assertEquals(0, r.status(), r.describe() + "\n" + r.stdoutText() + r.stderrText());
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("HerdMain.main +\\[pid ([0-9]+)").matcher(Files.readString(trace));
        List<String> jvms = new java.util.ArrayList<>();
        while (m.find()) jvms.add(m.group(1));
        org.junit.jupiter.api.Assertions.assertTrue(jvms.size() >= 3, "the parent, a child and a spare: " + jvms);
        // Made during the run (an older file with the same pid is another JVM's, pids wrap).
        List<String> left = jvms.stream().filter(pid -> {
            java.io.File f = new java.io.File("/tmp/.java_pid" + pid);
            return f.exists() && f.lastModified() >= started;
        }).toList();
        org.junit.jupiter.api.Assertions.assertEquals(List.of(), left, "JVMs of the run with an attach file left in /tmp");
    }

    static Stream<Arguments> cases() {
        return Differential.inAllModes(CASES.stream().map(c -> c.setup(dir -> {
            Fixtures.populate(dir);
            Files.writeString(dir.resolve("Makefile"), MAKEFILE);
        })).toList());
    }

    @ParameterizedTest(name = "{0} [{1}]")
    @MethodSource("cases")
    void sameAsNative(GuestCase guest, Mode mode) throws IOException {
        Assumptions.assumeTrue(Files.isExecutable(Path.of(guest.program())), guest.program() + " is not installed");
        Differential.check(guest, mode);
    }
}
