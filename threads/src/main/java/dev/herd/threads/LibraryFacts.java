package dev.herd.threads;

import dev.herd.unicorn.Unicorn;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.CodeSource;
import java.util.HexFormat;
import java.util.Properties;

/**
 * Facts Herd measures about the loaded libunicorn by probing it (the exception-latch offset, the
 * CPUID leaf 1 answer, whether its guest atomics are atomic), remembered per library build so that
 * only the first run after a library or Herd update pays for the probes (scratch engines, the
 * ~50 ms two-engine atomic self-test).
 *
 * <p>The file is {@code ${XDG_CACHE_HOME:-~/.cache}/herd/unicorn-KEY.properties}, KEY a hash of
 * the loaded library's path as {@code /proc/self/maps} names it and of the directory the Herd jars
 * are in (so two installations keep a file each). Its facts hold only while the
 * identity stored with them matches: the library file's path, size, modification time and inode,
 * and the same of the Herd jars that hold the probes (a changed probe invalidates its answers).
 * It is written to a temporary file that is renamed into place, and anything unreadable,
 * malformed, missing or of another identity counts as not known: the caller probes again. {@code HERD_PROBE_CACHE=off} disables
 * it. Values are lists of longs.
 */
public final class LibraryFacts {
    private LibraryFacts() {}

    private static final Object LOCK = new Object();
    private static Path file;          // null: caching off or the library not identified
    private static Properties facts;   // loaded lazily
    private static String identity;    // what the key hashes; stored in the file and checked
    private static final String IDENTITY = "identity";

    /** The remembered values of {@code name}, or null if not known. */
    public static long[] get(String name) {
        synchronized (LOCK) {
            Properties p = load();
            String v = p == null ? null : p.getProperty(name);
            if (v == null) return null;
            try {
                String[] parts = v.trim().split(",", -1);
                long[] out = new long[parts.length];
                for (int i = 0; i < parts.length; i++) out[i] = Long.parseLong(parts[i].trim());
                return out;
            } catch (NumberFormatException e) {
                return null;
            }
        }
    }

    /** Remembers {@code values} for {@code name} (best effort: a failure to write is ignored). */
    public static void put(String name, long... values) {
        synchronized (LOCK) {
            Properties p = load();
            if (p == null) return;
            StringBuilder sb = new StringBuilder();
            for (long v : values) sb.append(sb.isEmpty() ? "" : ",").append(v);
            p.setProperty(name, sb.toString());
            Path tmp = null;
            try {
                Files.createDirectories(file.getParent());
                tmp = Files.createTempFile(file.getParent(), file.getFileName().toString(), ".tmp");
                try (OutputStream out = Files.newOutputStream(tmp)) {
                    p.store(out, "Herd: facts probed from libunicorn (dev.herd.threads.LibraryFacts)");
                }
                Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                tmp = null;
            } catch (IOException | RuntimeException e) {
                // not cached: the next run probes again
            } finally {
                if (tmp != null) {
                    try {
                        Files.deleteIfExists(tmp);
                    } catch (IOException ignored) {
                        // left behind
                    }
                }
            }
        }
    }

    private static Properties load() {
        if (facts != null) return facts;
        if ("off".equals(System.getenv("HERD_PROBE_CACHE"))) return null;
        file = cacheFile();
        if (file == null) return null;
        Properties p = new Properties();
        try (InputStream in = Files.newInputStream(file)) {
            p.load(in);
        } catch (IOException | RuntimeException e) {
            p = new Properties();
        }
        if (!identity.equals(p.getProperty(IDENTITY))) p = new Properties();   // another build's, or damaged
        p.setProperty(IDENTITY, identity);
        facts = p;
        return p;
    }

    private static Path cacheFile() {
        try {
            Path lib = libraryPath();
            if (lib == null) return null;
            StringBuilder key = new StringBuilder();
            identify(key, lib);
            identify(key, codeSource(Unicorn.class));
            identify(key, codeSource(LibraryFacts.class));
            identity = key.toString();
            // One file per library path and Herd installation (the directory its jars are in): a
            // rebuilt Herd overwrites its facts instead of adding a file, and two installations
            // (a checkout and a release, two worktrees) do not overwrite each other's at every
            // run, each then probing again (~0.8 s). The identity stored inside decides whether
            // the facts still hold.
            Path herd = codeSource(Unicorn.class);
            String where = lib + "\n" + (herd == null ? "" : herd.getParent());
            long h = 0xcbf29ce484222325L;   // FNV-1a (MessageDigest would load the security providers)
            for (byte b : where.getBytes(java.nio.charset.StandardCharsets.UTF_8)) h = (h ^ (b & 0xff)) * 0x100000001b3L;
            String home = System.getenv("XDG_CACHE_HOME");
            String user = System.getProperty("user.home", "");
            if ((home == null || !home.startsWith("/")) && !user.startsWith("/")) return null;   // never relative to the cwd
            Path dir = home != null && home.startsWith("/") ? Path.of(home) : Path.of(user, ".cache");
            return dir.resolve("herd").resolve("unicorn-" + HexFormat.of().toHexDigits(h) + ".properties");
        } catch (Exception e) {
            return null;
        }
    }

    private static void identify(StringBuilder key, Path p) throws IOException {
        if (p == null) {
            key.append("-\n");
            return;
        }
        BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class);
        key.append(p).append(' ').append(a.size()).append(' ').append(a.lastModifiedTime().toMillis())
                .append(' ').append(a.fileKey()).append('\n');
    }

    private static Path codeSource(Class<?> c) {
        try {
            CodeSource cs = c.getProtectionDomain().getCodeSource();
            return cs == null ? null : Path.of(cs.getLocation().toURI());
        } catch (Exception e) {
            return null;
        }
    }

    /** The libunicorn file this JVM mapped, from {@code /proc/self/maps} (loads the library). */
    static Path libraryPath() {
        String name = Unicorn.libraryName();
        Unicorn.version(); // makes sure it is loaded
        String base = name.substring(name.lastIndexOf('/') + 1);
        Path wanted = null;
        if (name.contains("/")) {
            try {
                wanted = Path.of(name).toRealPath();
            } catch (IOException e) {
                return null;
            }
        }
        // Read line by line up to the library's first mapping (line 72 of 249 in a Herd run),
        // making a Path only of lines that name a file of the library's name.
        String named = wanted != null ? wanted.getFileName().toString() : base;
        try (java.io.BufferedReader maps = Files.newBufferedReader(Path.of("/proc/self/maps"))) {
            for (String line; (line = maps.readLine()) != null; ) {
                int slash = line.indexOf('/');
                if (slash < 0 || line.indexOf(named, slash) < 0) continue;
                Path p = Path.of(line.substring(slash));
                if (wanted != null ? p.equals(wanted) : p.getFileName().toString().startsWith(base)) return p;
            }
        } catch (IOException | RuntimeException e) {
            return null;
        }
        return null;
    }
}
