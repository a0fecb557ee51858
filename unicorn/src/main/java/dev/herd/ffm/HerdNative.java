package dev.herd.ffm;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * Herd's native helper library ({@code unicorn/src/main/c/herd_native.c}, compiled by the build
 * into the unicorn jar), loaded once per process at first use: the libunicorn wrappers, the
 * exact-stop block hook, the host interrupt-signal handler and the raw host syscall. From a jar
 * the library is copied to a private temporary file first, because the dynamic loader needs a
 * file, unless {@link #LIBRARY_PROPERTY} names the build's own copy.
 */
public final class HerdNative {
    private HerdNative() {}

    public static final String RESOURCE = "/dev/herd/unicorn/native/libherd-native.so";

    /**
     * System property naming the helper library as a file built with this jar (bin/herd passes
     * runtime/target/native/libherd-native.so when it is no older than the jars): loaded as it is,
     * without opening the jar and copying the library out first (measured: ~14 ms of every
     * start-up). A name that is not a regular file falls back to the jar's copy.
     */
    public static final String LIBRARY_PROPERTY = "herd.native.library";

    private static final class Loaded {
        static final SymbolLookup LIBRARY = load();
    }

    /** The address of the helper library's function {@code name}. */
    public static MemorySegment function(String name) {
        return Loaded.LIBRARY.find(name).orElseThrow(() -> new IllegalStateException(name + " missing from " + RESOURCE));
    }

    private static SymbolLookup load() {
        String unpacked = System.getProperty(LIBRARY_PROPERTY);
        if (unpacked != null && Files.isRegularFile(Path.of(unpacked))) {
            return SymbolLookup.libraryLookup(Path.of(unpacked), Arena.global());
        }
        URL url = HerdNative.class.getResource(RESOURCE);
        if (url == null) throw new IllegalStateException("native helper " + RESOURCE + " missing from the build");
        try {
            if ("file".equals(url.getProtocol())) return SymbolLookup.libraryLookup(Path.of(url.toURI()), Arena.global());
            // Unpacked to a private temporary file, loaded, and deleted at once: the loaded
            // mapping outlives the name (deleteOnExit would never run, Herd halts the JVM).
            Path dir = privateDirectory();
            Path file = dir.resolve("libherd-native.so");
            try {
                try (InputStream in = url.openStream()) {
                    Files.copy(in, file, StandardCopyOption.REPLACE_EXISTING);
                }
                return SymbolLookup.libraryLookup(file, Arena.global());
            } finally {
                Files.deleteIfExists(file);
                Files.deleteIfExists(dir);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot unpack " + RESOURCE, e);
        } catch (java.net.URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * A new directory only this user can enter, in java.io.tmpdir. Not Files.createTempDirectory:
     * its random names come from SecureRandom, whose first use loads the JDK's security providers
     * (measured: ~15 ms of every start-up). The name here is predictable, which is harmless:
     * mkdir fails on anything already there (a planted directory or symbolic link), and then
     * another name is tried.
     */
    private static Path privateDirectory() throws IOException {
        Path base = Path.of(System.getProperty("java.io.tmpdir"));
        long pid = ProcessHandle.current().pid();
        var ownerOnly = java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
                java.nio.file.attribute.PosixFilePermissions.fromString("rwx------"));
        for (int attempt = 0; ; attempt++) {
            Path dir = base.resolve("herd-native-" + pid + "-" + Long.toHexString(System.nanoTime()));
            try {
                return Files.createDirectory(dir, ownerOnly);
            } catch (java.nio.file.FileAlreadyExistsException e) {
                if (attempt == 100) throw e;
            }
        }
    }
}
