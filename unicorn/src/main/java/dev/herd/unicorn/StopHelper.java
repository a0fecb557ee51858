package dev.herd.unicorn;

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
 * Loads Herd's small native stop helper ({@code src/main/c/herd_stop.c}, compiled by the build into
 * the jar) and exposes its block-hook function. From a jar it is copied to a private temporary
 * file first, because the dynamic loader needs a file.
 */
final class StopHelper {
    private StopHelper() {}

    static final String RESOURCE = "/dev/herd/unicorn/native/libherd-stop.so";

    private static final class Loaded {
        static final MemorySegment CHECK = load();

        private static MemorySegment load() {
            URL url = StopHelper.class.getResource(RESOURCE);
            if (url == null) throw new IllegalStateException("native helper " + RESOURCE + " missing from the build");
            Path file;
            try {
                if ("file".equals(url.getProtocol())) {
                    file = Path.of(url.toURI());
                } else {
                    Path dir = Files.createTempDirectory("herd-native");
                    file = dir.resolve("libherd-stop.so");
                    try (InputStream in = url.openStream()) {
                        Files.copy(in, file, StandardCopyOption.REPLACE_EXISTING);
                    }
                    file.toFile().deleteOnExit();
                    dir.toFile().deleteOnExit();
                }
            } catch (IOException e) {
                throw new UncheckedIOException("cannot unpack " + RESOURCE, e);
            } catch (java.net.URISyntaxException e) {
                throw new IllegalStateException(e);
            }
            return SymbolLookup.libraryLookup(file, Arena.global()).find("herd_stop_check")
                    .orElseThrow(() -> new IllegalStateException("herd_stop_check not found in " + file));
        }
    }

    /** Address of {@code herd_stop_check}, a UC_HOOK_BLOCK callback. */
    static MemorySegment checkFunction() { return Loaded.CHECK; }

    /** Address of libunicorn's {@code uc_emu_stop}, handed to the helper so it calls the library Herd loaded. */
    static MemorySegment emuStopFunction() {
        return Native.LOOKUP.find("uc_emu_stop").orElseThrow();
    }
}
