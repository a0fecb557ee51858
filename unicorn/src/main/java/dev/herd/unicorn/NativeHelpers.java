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

    /**
     * The store fast path (herd_native.c, DESIGN fact 11): the TLB fill of libunicorn interposed
     * once per process, at first use. Bit 0: x86_64 engines, bit 1: aarch64 engines; 0 when the
     * library lacks the symbols or the PLT relocations, or {@code HERD_FAST_STORES=0} asked for the
     * stock slow path. Process-wide by nature (it patches the one libunicorn of the process); a
     * fill only takes the fast path for an engine started through {@link #emuStartHandle()} with
     * its own permission state, so runs sharing a JVM stay independent.
     */
    static int fastStoreTargets() { return FastStores.TARGETS; }

    /** herd_emu_start(state, uc_emu_start, uc, begin, until, timeout, count). */
    static java.lang.invoke.MethodHandle emuStartHandle() { return FastStores.EMU_START; }

    /** herd_fast_stores_flush(state). */
    static java.lang.invoke.MethodHandle flushHandle() { return FastStores.FLUSH; }

    /** Address of libunicorn's {@code uc_emu_start}. */
    static MemorySegment emuStartFunction() { return FastStores.UC_EMU_START; }

    private static final class FastStores {
        static final MemorySegment UC_EMU_START = Native.LOOKUP.find("uc_emu_start").orElseThrow();
        static final java.lang.invoke.MethodHandle EMU_START = java.lang.foreign.Linker.nativeLinker().downcallHandle(
                Loaded.LIBRARY.find("herd_emu_start").orElseThrow(),
                java.lang.foreign.FunctionDescriptor.of(java.lang.foreign.ValueLayout.JAVA_INT,
                        java.lang.foreign.ValueLayout.ADDRESS, java.lang.foreign.ValueLayout.ADDRESS,
                        java.lang.foreign.ValueLayout.ADDRESS, java.lang.foreign.ValueLayout.JAVA_LONG,
                        java.lang.foreign.ValueLayout.JAVA_LONG, java.lang.foreign.ValueLayout.JAVA_LONG,
                        java.lang.foreign.ValueLayout.JAVA_LONG));
        static final java.lang.invoke.MethodHandle FLUSH = java.lang.foreign.Linker.nativeLinker().downcallHandle(
                Loaded.LIBRARY.find("herd_fast_stores_flush").orElseThrow(),
                java.lang.foreign.FunctionDescriptor.ofVoid(java.lang.foreign.ValueLayout.ADDRESS));
        static final int TARGETS = install();

        private static int install() {
            if ("0".equals(System.getenv("HERD_FAST_STORES"))) {
                debug("store fast path off (HERD_FAST_STORES=0)");
                return 0;
            }
            MemorySegment none = MemorySegment.NULL;
            java.lang.foreign.SymbolLookup lib = Native.LOOKUP;
            int r;
            try {
                java.lang.invoke.MethodHandle install = java.lang.foreign.Linker.nativeLinker().downcallHandle(
                        Loaded.LIBRARY.find("herd_fast_stores_install").orElseThrow(),
                        java.lang.foreign.FunctionDescriptor.of(java.lang.foreign.ValueLayout.JAVA_INT,
                                java.lang.foreign.ValueLayout.ADDRESS, java.lang.foreign.ValueLayout.ADDRESS,
                                java.lang.foreign.ValueLayout.ADDRESS, java.lang.foreign.ValueLayout.ADDRESS,
                                java.lang.foreign.ValueLayout.ADDRESS));
                r = (int) install.invokeExact(UC_EMU_START,
                        lib.find("tlb_set_dirty_x86_64").orElse(none), lib.find("tlb_flush_x86_64").orElse(none),
                        lib.find("tlb_set_dirty_aarch64").orElse(none), lib.find("tlb_flush_aarch64").orElse(none));
            } catch (Throwable t) {
                debug("store fast path unavailable: " + t);
                return 0;
            }
            if (r < 0) {
                debug("store fast path unavailable in " + Native.LIBRARY + ": " + switch (r) {
                    case -1 -> "library not found among the loaded modules";
                    case -2 -> "no PLT relocations";
                    default -> "cannot write its GOT";
                });
                return 0;
            }
            if ((r & 1) == 0) debug("store fast path unavailable for x86_64 engines: " + Native.LIBRARY
                    + " has no PLT-called tlb_set_page_with_attrs_x86_64 or no tlb_set_dirty_x86_64");
            if ((r & 2) == 0) debug("store fast path unavailable for aarch64 engines: " + Native.LIBRARY
                    + " has no PLT-called tlb_set_page_with_attrs_aarch64 or no tlb_set_dirty_aarch64");
            return r;
        }

        private static void debug(String message) {
            if (System.getenv("HERD_DEBUG") != null) System.err.println("herd: " + message);
        }
    }

    /** Address of libunicorn's {@code uc_emu_stop}, handed to the helper so it calls the library Herd loaded. */
    static MemorySegment emuStopFunction() {
        return Native.LOOKUP.find("uc_emu_stop").orElseThrow();
    }
}
