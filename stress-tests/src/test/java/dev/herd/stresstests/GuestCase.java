package dev.herd.stresstests;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * One differential test case: a command line (argv[0] is the program), optional stdin file, an
 * optional preparation of the run's directory, and optionally the status the native run must have
 * (a guard against a broken fixture making both runs fail the same way).
 *
 * <p>Placeholders in argv: {@code {guests}} is the directory of the built C guests,
 * {@code {dir}} the (fresh, empty apart from the setup) directory the case runs in.
 *
 * <p>Adding a case is one line in a table, e.g. {@code c("hello", "3", "word").status(3)} or
 * {@code bb("sort", "-n").stdin("numbers.txt")}.
 */
record GuestCase(String name, List<String> argv, String stdin, Setup setup, Integer expectStatus) {

    /** Prepares the run's directory (called before the native run and again before herd's). */
    @FunctionalInterface
    interface Setup {
        void prepare(Path dir) throws IOException;
    }

    static final Setup NONE = dir -> {};

    /** A C guest from stress-tests/src/main/c: {@code c("hello", "3")} runs {guests}/hello 3. */
    static GuestCase c(String program, String... args) {
        List<String> argv = new ArrayList<>();
        argv.add("{guests}/" + program);
        argv.addAll(Arrays.asList(args));
        return new GuestCase(nameOf(program, args), argv, null, NONE, null);
    }

    /** A busybox applet, always run as {@code /usr/bin/busybox APPLET ARGS} (so argv[0] matches). */
    static GuestCase bb(String applet, String... args) {
        List<String> argv = new ArrayList<>();
        argv.add(HerdEnv.BUSYBOX.toString());
        argv.add(applet);
        argv.addAll(Arrays.asList(args));
        return new GuestCase(nameOf(applet, args), argv, null, Fixtures::populate, null);
    }

    /**
     * An installed program of the host system (dynamically linked, from Debian packages), run in
     * a directory holding the {@link Fixtures}: {@code sys("/usr/bin/sort", "-n", "numbers.txt")}.
     */
    static GuestCase sys(String path, String... args) {
        List<String> argv = new ArrayList<>();
        argv.add(path);
        argv.addAll(Arrays.asList(args));
        return new GuestCase(nameOf(Path.of(path).getFileName().toString(), args), argv, null, Fixtures::populate, null);
    }

    GuestCase named(String newName) {
        return new GuestCase(newName, argv, stdin, setup, expectStatus);
    }

    /** stdin from a file in the run's directory (fixtures are copied there by busybox cases). */
    GuestCase stdin(String fileInDir) {
        return new GuestCase(name + " <" + fileInDir, argv, fileInDir, setup, expectStatus);
    }

    GuestCase setup(Setup newSetup) {
        return new GuestCase(name, argv, stdin, newSetup, expectStatus);
    }

    /** The native run must exit with this status (checks the test itself). */
    GuestCase status(int status) {
        return new GuestCase(name, argv, stdin, setup, status);
    }

    List<String> resolve(Path dir) {
        return argv.stream()
                .map(a -> a.replace("{guests}", HerdEnv.GUESTS.toString()).replace("{dir}", dir.toString()))
                .toList();
    }

    /** The program argument, for existence checks. */
    String program() {
        return argv.getFirst();
    }

    @Override
    public String toString() {
        return name;
    }

    private static String nameOf(String program, String... args) {
        StringBuilder sb = new StringBuilder(program);
        for (String a : args) sb.append(' ').append(GuestRun.shellQuote(a));
        return sb.toString();
    }
}
