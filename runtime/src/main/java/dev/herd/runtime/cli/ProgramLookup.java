package dev.herd.runtime.cli;

import java.nio.file.Files;
import java.nio.file.Path;

/** Finds the program file the way a shell does: a name with a slash is a path, else search PATH. */
final class ProgramLookup {
    private ProgramLookup() {}

    /** The program's host path, or null if it does not exist. */
    static Path find(String name) {
        if (name.isEmpty()) return null;
        if (name.contains("/")) {
            Path p = Path.of(name);
            return Files.exists(p) ? p : null;
        }
        String path = System.getenv("PATH");
        if (path == null) path = "/usr/local/bin:/usr/bin:/bin";
        for (String dir : path.split(":")) {
            Path p = Path.of(dir.isEmpty() ? "." : dir, name);
            if (Files.isRegularFile(p) && Files.isExecutable(p)) return p;
        }
        return null;
    }
}
