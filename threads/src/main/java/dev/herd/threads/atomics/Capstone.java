package dev.herd.threads.atomics;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.util.HashMap;
import java.util.Map;

/**
 * Minimal FFM binding of Capstone 4 (Debian {@code libcapstone4}) for x86-64: just enough to
 * linear-sweep code and read the operands of single instructions. Library:
 * {@code -Dherd.libcapstone=<path|soname>} &gt; {@code $HERD_LIBCAPSTONE} &gt; {@code libcapstone.so.4}.
 *
 * <p>Struct offsets are those of Capstone 4.0 on x86-64 ({@code CapstoneLayoutTest} compiles a C
 * probe against {@code /usr/include/capstone} and checks them). A handle is not thread-safe:
 * callers serialise use of one {@link Capstone}.
 */
final class Capstone implements AutoCloseable {
    // cs_insn (Capstone 4): id u32 @0, address u64 @8, size u16 @16, bytes[16] @18, mnemonic[32] @34,
    // op_str[160] @66, detail* @232; sizeof 240.
    static final long INSN_ID = 0, INSN_ADDRESS = 8, INSN_SIZE = 16, INSN_BYTES = 18, INSN_DETAIL = 232, INSN_SIZEOF = 240;
    // cs_detail: x86 union @80
    static final long DETAIL_X86 = 80;
    // cs_x86: prefix[4] @0, opcode[4] @4, rex @8, addr_size @9, modrm @10, sib @11, disp i64 @16,
    // op_count u8 @64, operands[8] @72 (48 bytes each)
    static final long X86_PREFIX = 0, X86_ADDR_SIZE = 9, X86_DISP = 16, X86_OP_COUNT = 64, X86_OPERANDS = 72, X86_OP_SIZEOF = 48;
    // cs_x86_op: type u32 @0, reg u32 / imm i64 / mem @8, size u8 @32, access u8 @33
    static final long OP_TYPE = 0, OP_REG = 8, OP_IMM = 8, OP_MEM = 8, OP_SIZE = 32;
    // x86_op_mem: segment u32 @0, base u32 @4, index u32 @8, scale i32 @12, disp i64 @16
    static final long MEM_SEGMENT = 0, MEM_BASE = 4, MEM_INDEX = 8, MEM_SCALE = 12, MEM_DISP = 16;

    static final int CS_ARCH_X86 = 3, CS_MODE_64 = 8, CS_OPT_DETAIL = 2, CS_OPT_ON = 3;
    static final int X86_OP_REG = 1, X86_OP_IMM = 2, X86_OP_MEM = 3;

    private static final MethodHandle CS_OPEN, CS_OPTION, CS_DISASM, CS_FREE, CS_CLOSE, CS_REG_NAME, CS_INSN_NAME, CS_VERSION;
    private static final Throwable LOAD_FAILURE;

    static {
        MethodHandle open = null, option = null, disasm = null, free = null, close = null, regName = null, insnName = null, version = null;
        Throwable failure = null;
        try {
            Linker l = Linker.nativeLinker();
            SymbolLookup lib = SymbolLookup.libraryLookup(libraryName(), Arena.global());
            open = l.downcallHandle(lib.findOrThrow("cs_open"), FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS));
            option = l.downcallHandle(lib.findOrThrow("cs_option"), FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_LONG));
            disasm = l.downcallHandle(lib.findOrThrow("cs_disasm"),
                    FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, ADDRESS, JAVA_LONG, JAVA_LONG, JAVA_LONG, ADDRESS));
            free = l.downcallHandle(lib.findOrThrow("cs_free"), FunctionDescriptor.ofVoid(ADDRESS, JAVA_LONG));
            close = l.downcallHandle(lib.findOrThrow("cs_close"), FunctionDescriptor.of(JAVA_INT, ADDRESS));
            regName = l.downcallHandle(lib.findOrThrow("cs_reg_name"), FunctionDescriptor.of(ADDRESS, JAVA_LONG, JAVA_INT));
            insnName = l.downcallHandle(lib.findOrThrow("cs_insn_name"), FunctionDescriptor.of(ADDRESS, JAVA_LONG, JAVA_INT));
            version = l.downcallHandle(lib.findOrThrow("cs_version"), FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        } catch (Throwable t) {
            failure = t;
        }
        CS_OPEN = open;
        CS_OPTION = option;
        CS_DISASM = disasm;
        CS_FREE = free;
        CS_CLOSE = close;
        CS_REG_NAME = regName;
        CS_INSN_NAME = insnName;
        CS_VERSION = version;
        LOAD_FAILURE = failure;
    }

    static String libraryName() {
        String p = System.getProperty("herd.libcapstone");
        if (p == null || p.isEmpty()) p = System.getenv("HERD_LIBCAPSTONE");
        return p == null || p.isEmpty() ? "libcapstone.so.4" : p;
    }

    /** Capstone's API version as (major << 8) | minor, e.g. 0x400 for 4.0. */
    static int version() {
        ensureLoaded();
        try {
            return (int) CS_VERSION.invokeExact(MemorySegment.NULL, MemorySegment.NULL);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    static void ensureLoaded() {
        if (LOAD_FAILURE != null) throw new IllegalStateException("cannot load Capstone (" + libraryName() + ")", LOAD_FAILURE);
    }

    private final long handle;
    // Shared, not confined: the owning AtomicSites serialises use (scanLock), but scans run on
    // whichever guest thread makes code executable.
    private final Arena arena = Arena.ofShared();
    private final MemorySegment outPtr;
    private MemorySegment code;
    private boolean closed;

    /** Opens an x86-64 handle; detail mode on if {@code detail}. */
    Capstone(boolean detail) {
        ensureLoaded();
        int major = version() >> 8;
        if (major != 4) throw new IllegalStateException("Capstone 4 required (struct offsets), found major version " + major);
        MemorySegment h = arena.allocate(JAVA_LONG);
        try {
            int err = (int) CS_OPEN.invokeExact(CS_ARCH_X86, CS_MODE_64, h);
            if (err != 0) throw new IllegalStateException("cs_open failed: " + err);
            handle = h.get(JAVA_LONG, 0);
            if (detail) {
                err = (int) CS_OPTION.invokeExact(handle, CS_OPT_DETAIL, (long) CS_OPT_ON);
                if (err != 0) throw new IllegalStateException("cs_option(DETAIL) failed: " + err);
            }
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        } catch (Throwable t) {
            arena.close();
            throw new IllegalStateException(t);
        }
        outPtr = arena.allocate(ADDRESS);
        code = arena.allocate(4096, 16);
    }

    /** Copies bytes into this handle's native code buffer (grown as needed) and returns it. */
    MemorySegment codeBuffer(byte[] src, int off, int len) {
        if (code.byteSize() < len) code = arena.allocate(Math.max(len, code.byteSize() * 2), 16);
        MemorySegment.copy(src, off, code, JAVA_BYTE, 0, len);
        return code;
    }

    /**
     * Decodes up to {@code count} (0 = all) instructions from {@code len} bytes at {@code buf}
     * (guest address {@code address}). Returns the cs_insn array (global scope, {@code n *}
     * {@link #INSN_SIZEOF} bytes), empty when nothing decoded; free it with {@link #free}.
     */
    MemorySegment disasm(MemorySegment buf, long len, long address, long count) {
        long n;
        try {
            n = (long) CS_DISASM.invokeExact(handle, buf, len, address, count, outPtr);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
        if (n <= 0) return MemorySegment.NULL;
        return outPtr.get(ADDRESS, 0).reinterpret(n * INSN_SIZEOF);
    }

    static void free(MemorySegment insns) {
        if (insns.equals(MemorySegment.NULL) || insns.address() == 0) return;
        try {
            CS_FREE.invokeExact(MemorySegment.ofAddress(insns.address()), insns.byteSize() / INSN_SIZEOF);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    static int count(MemorySegment insns) { return (int) (insns.byteSize() / INSN_SIZEOF); }

    static int id(MemorySegment insns, int i) { return insns.get(JAVA_INT, i * INSN_SIZEOF + INSN_ID); }

    static long address(MemorySegment insns, int i) { return insns.get(JAVA_LONG, i * INSN_SIZEOF + INSN_ADDRESS); }

    static int size(MemorySegment insns, int i) { return Short.toUnsignedInt(insns.get(JAVA_SHORT, i * INSN_SIZEOF + INSN_SIZE)); }

    /** The x86 part of instruction i's detail (valid only for a detail handle), {@code sizeof(cs_x86)}-ish bytes. */
    static MemorySegment x86Detail(MemorySegment insns, int i) {
        MemorySegment d = insns.get(ADDRESS, i * INSN_SIZEOF + INSN_DETAIL);
        return d.reinterpret(DETAIL_X86 + X86_OPERANDS + 8 * X86_OP_SIZEOF).asSlice(DETAIL_X86);
    }

    /** Register name ("rax", "r8d", "ah"...) or null. */
    String regName(int reg) {
        return cstr(CS_REG_NAME, reg);
    }

    /** Instruction mnemonic name ("add", "cmpxchg16b"...) or null. */
    String insnName(int id) {
        return cstr(CS_INSN_NAME, id);
    }

    private String cstr(MethodHandle mh, int id) {
        MemorySegment p;
        try {
            p = (MemorySegment) mh.invokeExact(handle, id);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
        if (p.address() == 0) return null;
        return p.reinterpret(256).getString(0);
    }

    /** Name → id for every instruction id Capstone knows. */
    Map<String, Integer> insnIds() {
        Map<String, Integer> m = new HashMap<>();
        for (int id = 1; id < 5000; id++) {
            String n = insnName(id);
            if (n != null) m.putIfAbsent(n, id);
        }
        return m;
    }

    /** Name → id for every register id Capstone knows. */
    Map<String, Integer> regIds() {
        Map<String, Integer> m = new HashMap<>();
        for (int id = 1; id < 1000; id++) {
            String n = regName(id);
            if (n != null) m.putIfAbsent(n, id);
        }
        return m;
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        MemorySegment h = arena.allocate(JAVA_LONG);
        h.set(JAVA_LONG, 0, handle);
        try {
            int ignored = (int) CS_CLOSE.invokeExact(h);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        } finally {
            arena.close();
        }
    }
}
