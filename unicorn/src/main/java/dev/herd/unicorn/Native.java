package dev.herd.unicorn;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.file.Path;

/**
 * Downcall handles into libunicorn and the upcall descriptors, all static finals so the JIT can
 * treat them as constants (the hot path is register access and hook dispatch). Each handle lives in
 * a holder class of its own ({@code Native.UC_OPEN.H}), created at its first use, and all have one
 * shape ({@link dev.herd.ffm.NativeWords#WORDS}; upcalls {@link #UPCALL}): the JVM spins classes per shape at start-up, and
 * an AOT cache does not keep them.
 *
 * <p>{@code critical(false)} marks calls that cannot call back into Java and return quickly: the
 * thread skips the Java-to-native state transition (a few ns each). It must NOT be used for
 * {@code uc_emu_start} (runs hooks), nor for calls that may block.
 */
final class Native {
    private Native() {}

    /** System property naming the libunicorn to load (path or soname). */
    static final String LIB_PROPERTY = "herd.libunicorn";
    /** Environment variable naming the libunicorn to load; the system property wins. */
    static final String LIB_ENV = "HERD_LIBUNICORN";
    /** Default: the Debian soname, found by the dynamic loader. */
    static final String LIB_DEFAULT = "libunicorn.so.2";

    static final String LIBRARY = chooseLibrary();
    static final Linker LINKER = Linker.nativeLinker();
    static final SymbolLookup LOOKUP = load(LIBRARY);

    private static final Linker.Option CRITICAL = Linker.Option.critical(false);

    /**
     * The one upcall shape (every hook callback): six words in (callbacks take at most six
     * arguments; words past the C callback's own are whatever the caller left in those registers),
     * one out (read by the C caller as its return type: {@code bool}, {@code int} or nothing).
     * Narrow arguments are narrowed by the Java side ({@code (int)}).
     */
    static final FunctionDescriptor UPCALL = FunctionDescriptor.of(JAVA_LONG,
            JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG);

    // uc_err uc_open(uc_arch, uc_mode, uc_engine **)
    // Every handle below has the type (long x 8)long (see NativeWords.WORDS); each is created at its first use.
    // Comments give the C signature where the words' meaning is not obvious.
    // uc_err uc_open(uc_arch, uc_mode, uc_engine **)
    static final class UC_OPEN { static final MethodHandle H = down("uc_open"); }
    static final class UC_CLOSE { static final MethodHandle H = down("uc_close"); }
    static final class UC_STRERROR { static final MethodHandle H = down("uc_strerror", CRITICAL); }
    static final class UC_VERSION { static final MethodHandle H = down("uc_version"); }
    static final class UC_QUERY { static final MethodHandle H = down("uc_query", CRITICAL); }
    // uc_mem_map_ptr(uc, uint64 address, size_t size, uint32 perms, void *ptr)
    static final class UC_MEM_MAP_PTR { static final MethodHandle H = down("uc_mem_map_ptr"); }
    static final class UC_MEM_MAP { static final MethodHandle H = down("uc_mem_map"); }
    static final class UC_MEM_UNMAP { static final MethodHandle H = down("uc_mem_unmap"); }
    static final class UC_MEM_PROTECT { static final MethodHandle H = down("uc_mem_protect"); }
    static final class UC_MEM_REGIONS { static final MethodHandle H = down("uc_mem_regions"); }
    static final class UC_MEM_READ { static final MethodHandle H = down("uc_mem_read"); }
    static final class UC_MEM_WRITE { static final MethodHandle H = down("uc_mem_write"); }
    static final class UC_FREE { static final MethodHandle H = down("uc_free"); }
    // register access: pure state copies, never call back -> critical
    static final class UC_REG_READ { static final MethodHandle H = down("uc_reg_read", CRITICAL); }
    static final class UC_REG_WRITE { static final MethodHandle H = down("uc_reg_write", CRITICAL); }
    static final class UC_REG_READ_BATCH { static final MethodHandle H = down("uc_reg_read_batch", CRITICAL); }
    static final class UC_REG_WRITE_BATCH { static final MethodHandle H = down("uc_reg_write_batch", CRITICAL); }
    // uc_emu_start runs guest code and hooks (upcalls): never critical
    static final class UC_EMU_START { static final MethodHandle H = down("uc_emu_start"); }
    static final class UC_EMU_STOP { static final MethodHandle H = down("uc_emu_stop"); }
    // uc_hook_add(uc, uc_hook *hh, int type, void *cb, void *user_data, uint64 begin, uint64 end, ...): the
    // UC_HOOK_INSN form passes the instruction id as the eighth word (variadic; see WORDS)
    static final class UC_HOOK_ADD { static final MethodHandle H = down("uc_hook_add"); }
    static final class UC_HOOK_DEL { static final MethodHandle H = down("uc_hook_del"); }
    // uc_ctl(uc, uc_control_type, ...): the control's arguments in the following words
    static final class UC_CTL { static final MethodHandle H = down("uc_ctl"); }
    static final class UC_CONTEXT_ALLOC { static final MethodHandle H = down("uc_context_alloc"); }
    static final class UC_CONTEXT_SAVE { static final MethodHandle H = down("uc_context_save"); }
    static final class UC_CONTEXT_RESTORE { static final MethodHandle H = down("uc_context_restore"); }
    static final class UC_CONTEXT_SIZE { static final MethodHandle H = down("uc_context_size"); }
    static final class UC_CONTEXT_FREE { static final MethodHandle H = down("uc_context_free"); }
    static final class UC_CONTEXT_REG_READ { static final MethodHandle H = down("uc_context_reg_read", CRITICAL); }
    static final class UC_CONTEXT_REG_WRITE { static final MethodHandle H = down("uc_context_reg_write", CRITICAL); }

    /** UC_CTL_IO_WRITE/READ and the macro {@code UC_CTL(type, nr, rw)} of unicorn.h. */
    static final int UC_CTL_IO_WRITE = 1;
    static final int UC_CTL_IO_READ = 2;

    static int ctl(int type, int nargs, int rw) {
        return type | (nargs << 26) | (rw << 30);
    }

    private static String chooseLibrary() {
        String p = System.getProperty(LIB_PROPERTY);
        if (p != null && !p.isBlank()) {
            return p;
        }
        String e = System.getenv(LIB_ENV);
        if (e != null && !e.isBlank()) {
            return e;
        }
        return LIB_DEFAULT;
    }

    private static SymbolLookup load(String lib) {
        try {
            // A name containing '/' is a path; otherwise let the dynamic loader search (soname).
            return lib.contains("/") ? SymbolLookup.libraryLookup(Path.of(lib), Arena.global())
                    : SymbolLookup.libraryLookup(lib, Arena.global());
        } catch (IllegalArgumentException ex) {
            throw new UnsatisfiedLinkError("cannot load libunicorn '" + lib + "' (set -D" + LIB_PROPERTY
                    + " or $" + LIB_ENV + "): " + ex.getMessage());
        }
    }

    private static MethodHandle down(String name, Linker.Option... options) {
        MemorySegment sym = LOOKUP.find(name)
                .orElseThrow(() -> new UnsatisfiedLinkError(name + " not found in " + LIBRARY));
        return dev.herd.ffm.NativeWords.handle(sym, options);
    }

    /** {@code uc_strerror(code)} as a Java string. */
    static String strerror(int code) {
        try {
            long s = dev.herd.ffm.NativeWords.call(UC_STRERROR.H, code);
            return s == 0 ? "unknown error " + code : MemorySegment.ofAddress(s).reinterpret(4096).getString(0);
        } catch (Throwable t) {
            return "error " + code;
        }
    }

    static UnicornException error(int code, String context) {
        return new UnicornException(code, strerror(code) + " (" + UcErr.nameOf(code) + " in " + context + ")");
    }
}
