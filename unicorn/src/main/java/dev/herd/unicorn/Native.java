package dev.herd.unicorn;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BOOLEAN;
import static java.lang.foreign.ValueLayout.JAVA_INT;
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
 * a holder class of its own ({@code Native.UC_OPEN.H}), created at its first use: making a downcall
 * handle costs milliseconds at start-up (FFM spins classes per shape, and an AOT cache does not keep
 * them), and a run uses about half of them.
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

    // uc_err uc_open(uc_arch, uc_mode, uc_engine **)
    static final class UC_OPEN { static final MethodHandle H = down("uc_open", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS)); }
    static final class UC_CLOSE { static final MethodHandle H = down("uc_close", FunctionDescriptor.of(JAVA_INT, ADDRESS)); }
    static final class UC_STRERROR { static final MethodHandle H = down("uc_strerror", FunctionDescriptor.of(ADDRESS, JAVA_INT), CRITICAL); }
    static final class UC_VERSION { static final MethodHandle H = down("uc_version", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS)); }
    static final class UC_QUERY { static final MethodHandle H = down("uc_query", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, ADDRESS), CRITICAL); }
    // uc_mem_map_ptr(uc, uint64 address, size_t size, uint32 perms, void *ptr)
    static final class UC_MEM_MAP_PTR { static final MethodHandle H = down("uc_mem_map_ptr",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG, JAVA_INT, ADDRESS)); }
    static final class UC_MEM_MAP { static final MethodHandle H = down("uc_mem_map",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG, JAVA_INT)); }
    static final class UC_MEM_UNMAP { static final MethodHandle H = down("uc_mem_unmap", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG)); }
    static final class UC_MEM_PROTECT { static final MethodHandle H = down("uc_mem_protect",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG, JAVA_INT)); }
    static final class UC_MEM_REGIONS { static final MethodHandle H = down("uc_mem_regions", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS)); }
    static final class UC_MEM_READ { static final MethodHandle H = down("uc_mem_read", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, ADDRESS, JAVA_LONG)); }
    static final class UC_MEM_WRITE { static final MethodHandle H = down("uc_mem_write", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, ADDRESS, JAVA_LONG)); }
    static final class UC_FREE { static final MethodHandle H = down("uc_free", FunctionDescriptor.of(JAVA_INT, ADDRESS)); }
    // Register access: pure state copies, never call back -> critical.
    static final class UC_REG_READ { static final MethodHandle H = down("uc_reg_read", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, ADDRESS), CRITICAL); }
    static final class UC_REG_WRITE { static final MethodHandle H = down("uc_reg_write", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, ADDRESS), CRITICAL); }
    static final class UC_REG_READ_BATCH { static final MethodHandle H = down("uc_reg_read_batch",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, JAVA_INT), CRITICAL); }
    static final class UC_REG_WRITE_BATCH { static final MethodHandle H = down("uc_reg_write_batch",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, JAVA_INT), CRITICAL); }
    // uc_emu_start runs guest code and hooks (upcalls): never critical.
    static final class UC_EMU_START { static final MethodHandle H = down("uc_emu_start",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG)); }
    static final class UC_EMU_STOP { static final MethodHandle H = down("uc_emu_stop", FunctionDescriptor.of(JAVA_INT, ADDRESS)); }
    // uc_err uc_hook_add(uc, uc_hook *hh, int type, void *cb, void *user_data, uint64 begin, uint64 end, ...)
    // Variadic: the ordinary form passes no variadic argument, the UC_HOOK_INSN form one int (insn id).
    private static final FunctionDescriptor HOOK_ADD_FIXED =
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG, JAVA_LONG);
    static final class UC_HOOK_ADD { static final MethodHandle H = down("uc_hook_add", HOOK_ADD_FIXED, Linker.Option.firstVariadicArg(7)); }
    static final class UC_HOOK_ADD_INSN { static final MethodHandle H = down("uc_hook_add", HOOK_ADD_FIXED.appendArgumentLayouts(JAVA_INT),
            Linker.Option.firstVariadicArg(7)); }
    static final class UC_HOOK_DEL { static final MethodHandle H = down("uc_hook_del", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG)); }
    // uc_err uc_ctl(uc, uc_control_type, ...)
    static final class UC_CTL_2LONG { static final MethodHandle H = down("uc_ctl",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_LONG, JAVA_LONG), Linker.Option.firstVariadicArg(2)); }
    static final class UC_CTL_0 { static final MethodHandle H = down("uc_ctl", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT),
            Linker.Option.firstVariadicArg(2)); }
    static final class UC_CTL_1INT { static final MethodHandle H = down("uc_ctl", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT),
            Linker.Option.firstVariadicArg(2)); }
    static final class UC_CONTEXT_ALLOC { static final MethodHandle H = down("uc_context_alloc", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS)); }
    static final class UC_CONTEXT_SAVE { static final MethodHandle H = down("uc_context_save", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS)); }
    static final class UC_CONTEXT_RESTORE { static final MethodHandle H = down("uc_context_restore", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS)); }
    static final class UC_CONTEXT_SIZE { static final MethodHandle H = down("uc_context_size", FunctionDescriptor.of(JAVA_LONG, ADDRESS)); }
    static final class UC_CONTEXT_FREE { static final MethodHandle H = down("uc_context_free", FunctionDescriptor.of(JAVA_INT, ADDRESS)); }
    static final class UC_CONTEXT_REG_READ { static final MethodHandle H = down("uc_context_reg_read",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, ADDRESS), CRITICAL); }
    static final class UC_CONTEXT_REG_WRITE { static final MethodHandle H = down("uc_context_reg_write",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, ADDRESS), CRITICAL); }

    // Upcall shapes (the trailing ADDRESS is user_data, unused: each stub is bound to its hook).
    static final FunctionDescriptor CB_SYSCALL = FunctionDescriptor.ofVoid(ADDRESS, ADDRESS);
    static final FunctionDescriptor CB_INTR = FunctionDescriptor.ofVoid(ADDRESS, JAVA_INT, ADDRESS);
    static final FunctionDescriptor CB_CODE = FunctionDescriptor.ofVoid(ADDRESS, JAVA_LONG, JAVA_INT, ADDRESS);
    static final FunctionDescriptor CB_MEM = FunctionDescriptor.ofVoid(ADDRESS, JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_LONG, ADDRESS);
    static final FunctionDescriptor CB_EVENTMEM =
            FunctionDescriptor.of(JAVA_BOOLEAN, ADDRESS, JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_LONG, ADDRESS);
    /** uc_cb_insn_cpuid_t: int (*)(uc_engine *, void *user_data), non-zero = handled. */
    static final FunctionDescriptor CB_CPUID = FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS);
    static final FunctionDescriptor CB_INSN_INVALID = FunctionDescriptor.of(JAVA_BOOLEAN, ADDRESS, ADDRESS);

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

    private static MethodHandle down(String name, FunctionDescriptor fd, Linker.Option... options) {
        MemorySegment sym = LOOKUP.find(name)
                .orElseThrow(() -> new UnsatisfiedLinkError(name + " not found in " + LIBRARY));
        return LINKER.downcallHandle(sym, fd, options);
    }

    /** {@code uc_strerror(code)} as a Java string. */
    static String strerror(int code) {
        try {
            MemorySegment s = (MemorySegment) UC_STRERROR.H.invokeExact(code);
            return s.equals(MemorySegment.NULL) ? "unknown error " + code : s.reinterpret(4096).getString(0);
        } catch (Throwable t) {
            return "error " + code;
        }
    }

    static UnicornException error(int code, String context) {
        return new UnicornException(code, strerror(code) + " (" + UcErr.nameOf(code) + " in " + context + ")");
    }
}
