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
 * Herd's small native helpers ({@code unicorn/src/main/c/herd_native.c}, compiled by the build
 * into the jar): the exact-stop block hook and the host interrupt-signal handler. From a jar the
 * library is copied to a private temporary file first, because the dynamic loader needs a file.
 */
public final class NativeHelpers {
    private NativeHelpers() {}

    static final String RESOURCE = "/dev/herd/unicorn/native/libherd-native.so";

    private static final class Loaded {
        static final SymbolLookup LIBRARY = load();
        static final MemorySegment CHECK = LIBRARY.find("herd_stop_check")
                .orElseThrow(() -> new IllegalStateException("herd_stop_check missing from " + RESOURCE));

        private static SymbolLookup load() {
            URL url = NativeHelpers.class.getResource(RESOURCE);
            if (url == null) throw new IllegalStateException("native helper " + RESOURCE + " missing from the build");
            Path file;
            try {
                if ("file".equals(url.getProtocol())) {
                    file = Path.of(url.toURI());
                } else {
                    Path dir = Files.createTempDirectory("herd-native");
                    file = dir.resolve("libherd-native.so");
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
            return SymbolLookup.libraryLookup(file, Arena.global());
        }
    }

    /** Address of {@code herd_stop_check}, a UC_HOOK_BLOCK callback. */
    static MemorySegment checkFunction() { return Loaded.CHECK; }

    private static final class Interrupt {
        static final java.lang.invoke.MethodHandle INSTALL = java.lang.foreign.Linker.nativeLinker().downcallHandle(
                Loaded.LIBRARY.find("herd_install_interrupt_handler").orElseThrow(),
                java.lang.foreign.FunctionDescriptor.of(java.lang.foreign.ValueLayout.JAVA_INT,
                        java.lang.foreign.ValueLayout.JAVA_INT));
    }

    /**
     * Installs the do-nothing host handler for {@code signo} without SA_RESTART, so that a thread
     * blocked in a host syscall returns EINTR when Herd sends it {@code signo}. Idempotent.
     */
    public static void installInterruptHandler(int signo) {
        int r;
        try {
            r = (int) Interrupt.INSTALL.invokeExact(signo);
        } catch (Throwable t) {
            throw new IllegalStateException("cannot install the interrupt handler", t);
        }
        if (r != 0) throw new IllegalStateException("sigaction(" + signo + ") failed");
    }

    /** Address of libunicorn's {@code uc_emu_stop}, handed to the helper so it calls the library Herd loaded. */
    static MemorySegment emuStopFunction() {
        return Native.LOOKUP.find("uc_emu_stop").orElseThrow();
    }
}
