package dev.herd.unicorn;

import dev.herd.ffm.NativeWords;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import dev.herd.unicorn.x86_64.X86Insn;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One Unicorn engine ({@code uc_engine}) over libunicorn.so.2 via {@code java.lang.foreign}.
 *
 * <h2>Thread-safety contract</h2>
 * An engine has an <em>owning thread</em>: the one that calls {@link #emuStart} (and in whose
 * context every hook runs). All methods except {@link #emuStop()} must be called by the owning
 * thread, or by another thread while the engine is not running and with a happens-before edge
 * to the owner's last use (e.g. handing the engine over through a queue or lock). Different
 * engines may be used concurrently from different threads (DESIGN fact 1); only {@code uc_open}
 * is serialised, by a global lock.
 * <p>{@link #emuStop()} may be called from any thread at any time, repeatedly, even after
 * {@link #close()} (then it does nothing). Per DESIGN fact 6 a stop issued just before
 * {@code uc_emu_start} begins, or followed by a PC write from a hook, can be lost: callers that
 * must stop a thread keep their own pending flag and re-issue the stop.
 * <p>{@link #close()} must not race with a running {@link #emuStart}: stop the engine and let
 * {@code emuStart} return first.
 *
 * <h2>Hooks</h2>
 * Each hook gets its own FFM upcall stub bound to the Java hook object and allocated in the
 * engine's shared arena, so closing the engine frees every stub. A hook that throws never lets
 * the throwable reach native code (that would crash the JVM): the wrapper records the first
 * throwable, calls {@code uc_emu_stop} and returns a safe value; {@link #emuStart} then throws
 * {@link HookFailedException}.
 *
 * <h2>Costs</h2>
 * Register reads/writes use per-engine scratch memory allocated once (batch scratch once per
 * batch length) and {@code Linker.Option.critical} downcalls, so the steady state allocates
 * nothing on the Java heap.
 */
public final class Unicorn implements AutoCloseable {
    /** uc_open touches a few globals in libunicorn 2.0.1 (DESIGN fact 1): serialise it. */
    private static final ReentrantLock OPEN_LOCK = new ReentrantLock();

    // Bytes of register scratch. The widest value uc_reg_read may store is an AVX-512 ZMM
    // register (64 bytes); round up so a wrong register id can never write past the scratch.
    private static final int REG_SCRATCH = 128;
    private static final int OFF_LONG = 0;       // 8-byte value slot for regRead/regWrite(long)
    private static final int OFF_WIDE = 128;     // REG_SCRATCH bytes for the MemorySegment forms
    private static final int OFF_OUT = 256;      // out-parameters (pointers, counts, query results)
    private static final int SCRATCH_SIZE = 320;

    private static final MethodHandle SYSCALL_TARGET;
    private static final MethodHandle INTR_TARGET;
    private static final MethodHandle CODE_TARGET;
    private static final MethodHandle BLOCK_TARGET;
    private static final MethodHandle MEM_TARGET;
    private static final MethodHandle EVENTMEM_TARGET;
    private static final MethodHandle INSN_INVALID_TARGET;
    private static final MethodHandle CPUID_TARGET;

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            SYSCALL_TARGET = l.findVirtual(SyscallStub.class, "call", Native.UPCALL.toMethodType());
            INTR_TARGET = l.findVirtual(IntrStub.class, "call", Native.UPCALL.toMethodType());
            CODE_TARGET = l.findVirtual(CodeStub.class, "call", Native.UPCALL.toMethodType());
            BLOCK_TARGET = l.findVirtual(BlockStub.class, "call", Native.UPCALL.toMethodType());
            MEM_TARGET = l.findVirtual(MemStub.class, "call", Native.UPCALL.toMethodType());
            EVENTMEM_TARGET = l.findVirtual(EventMemStub.class, "call", Native.UPCALL.toMethodType());
            INSN_INVALID_TARGET = l.findVirtual(InsnInvalidStub.class, "call", Native.UPCALL.toMethodType());
            CPUID_TARGET = l.findVirtual(CpuidStub.class, "call", Native.UPCALL.toMethodType());
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final UcArch arch;
    private final int mode;
    /** The uc_engine pointer (global scope: passing it to a downcall costs no liveness acquire). */
    private final MemorySegment uc;
    /** Owns upcall stubs and scratch; shared because hooks may be deleted / engine closed elsewhere. */
    private final Arena arena;
    /**
     * Scratch memory, aliased with global scope so that passing it to downcalls does not
     * acquire/release the shared arena on every call (an atomic op each); the {@link #closed}
     * check guards against use after {@link #close()}.
     */
    private final MemorySegment scratch;
    private final MemorySegment longSlot;
    private final MemorySegment wideSlot;
    private final MemorySegment outSlot;
    private BatchScratch[] batches = new BatchScratch[16];

    private final Object lifecycle = new Object();
    private volatile boolean closed;
    /** First throwable of a hook during the current emuStart; owning thread only. */
    private Throwable hookFailure;
    private final List<HookHandle> hooks = new ArrayList<>();
    private final Set<UcContext> contexts = Collections.newSetFromMap(new IdentityHashMap<>());

    private Unicorn(UcArch arch, int mode, MemorySegment uc) {
        this.arch = arch;
        this.mode = mode;
        this.uc = uc;
        this.arena = Arena.ofShared();
        MemorySegment s = arena.allocate(SCRATCH_SIZE, 64);
        this.scratch = MemorySegment.ofAddress(s.address()).reinterpret(SCRATCH_SIZE);
        this.longSlot = scratch.asSlice(OFF_LONG, REG_SCRATCH);
        this.wideSlot = scratch.asSlice(OFF_WIDE, REG_SCRATCH);
        this.outSlot = scratch.asSlice(OFF_OUT, SCRATCH_SIZE - OFF_OUT);
    }

    // ------------------------------------------------------------------ lifecycle

    /**
     * Opens an engine ({@code uc_open}), serialised with every other open in this JVM.
     *
     * @param arch architecture
     * @param mode {@link UcMode} bits
     * @return the new engine
     * @throws UnicornException if libunicorn refuses the arch/mode
     */
    public static Unicorn open(UcArch arch, int mode) {
        // The libunicorn wrappers go in before the first engine exists: each engine indexes the
        // library's helper table at uc_open, and the xchg helpers are among those replaced.
        NativeHelpers.wrapperTargets();
        int err;
        MemorySegment engine;
        OPEN_LOCK.lock();
        try (Arena tmp = Arena.ofConfined()) {
            MemorySegment out = tmp.allocate(ADDRESS);
            err = (int) NativeWords.call(Native.UC_OPEN.H, arch.value(), mode, out.address());
            // Pointers are read and written as JAVA_LONG addresses throughout this class: the first
            // ADDRESS access of each kind (get, set, setAtIndex) made the JVM build another var
            // handle and spin its adapter classes at every start.
            engine = MemorySegment.ofAddress(out.get(JAVA_LONG, 0));
        } catch (Throwable t) {
            throw unexpected(t);
        } finally {
            OPEN_LOCK.unlock();
        }
        if (err != UcErr.UC_ERR_OK) {
            throw Native.error(err, "uc_open(" + arch + ", mode=0x" + Integer.toHexString(mode) + ")");
        }
        try {
            return new Unicorn(arch, mode, engine);
        } catch (Throwable t) {
            try {
                int ignored = (int) NativeWords.call(Native.UC_CLOSE.H, engine.address());
            } catch (Throwable t2) {
                t.addSuppressed(t2);
            }
            throw t;
        }
    }

    /**
     * Opens an x86-64 engine ({@code UC_ARCH_X86}, {@code UC_MODE_64}).
     *
     * @return the new engine
     */
    public static Unicorn openX86_64() {
        return open(UcArch.X86, UcMode.UC_MODE_64);
    }

    /**
     * Opens an AArch64 engine ({@code UC_ARCH_ARM64}, {@code UC_MODE_ARM}).
     *
     * @return the new engine
     */
    public static Unicorn openAarch64() {
        return open(UcArch.ARM64, UcMode.UC_MODE_ARM);
    }

    /**
     * libunicorn's version ({@code uc_version}). Unicorn 2.x encodes it as
     * {@code major << 24 | minor << 16 | patch << 8 | extra} (2.0.1 gives {@code 0x020001ff}).
     *
     * @return the packed version
     */
    public static int version() {
        try {
            return (int) NativeWords.call(Native.UC_VERSION.H, 0, 0);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    /**
     * The library this binding loaded: {@code -Dherd.libunicorn}, else {@code $HERD_LIBUNICORN},
     * else {@code libunicorn.so.2}.
     *
     * @return the library name or path
     */
    public static String libraryName() {
        return Native.LIBRARY;
    }

    /**
     * Closes the engine ({@code uc_close}), frees contexts still open, then every upcall stub and
     * scratch buffer (the engine's arena). Releases the engine's ~1 GiB code-cache reservation.
     * Idempotent. Must not run while {@link #emuStart} is running on another thread.
     */
    @Override
    public void close() {
        synchronized (lifecycle) {
            if (closed) {
                return;
            }
            // From here on emuStop (which takes the same lock) is a no-op, so no thread can call
            // uc_emu_stop on a freed engine.
            closed = true;
        }
        Throwable failure = null;
        synchronized (contexts) {
            for (UcContext c : contexts) {
                try {
                    freeContextPtr(c);
                } catch (Throwable t) {
                    failure = t;
                }
            }
            contexts.clear();
        }
        int err;
        try {
            err = (int) NativeWords.call(Native.UC_CLOSE.H, uc.address());
        } catch (Throwable t) {
            throw unexpected(t);
        } finally {
            hooks.clear();
            batches = new BatchScratch[0];
            arena.close();
        }
        if (err != UcErr.UC_ERR_OK) {
            throw Native.error(err, "uc_close");
        }
        if (failure != null) {
            throw unexpected(failure);
        }
    }

    /**
     * Whether {@link #close()} has been called.
     *
     * @return true once closed
     */
    public boolean isClosed() {
        return closed;
    }

    /**
     * The engine's architecture.
     *
     * @return the arch passed to {@link #open}
     */
    public UcArch arch() {
        return arch;
    }

    /**
     * The engine's mode bits.
     *
     * @return the mode passed to {@link #open}
     */
    public int mode() {
        return mode;
    }

    /**
     * The raw {@code uc_engine*}, for callers that need to compare it with the first argument of
     * a native callback. Do not call libunicorn with it after {@link #close()}.
     *
     * @return the engine address
     */
    public long handle() {
        return uc.address();
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("Unicorn engine is closed");
        }
    }

    // ------------------------------------------------------------------ memory

    /**
     * Maps host memory into the guest ({@code uc_mem_map_ptr}). The host memory must stay valid
     * and at least as accessible as {@code perms} for as long as it is mapped in this engine.
     *
     * @param address     guest address, page aligned
     * @param size        size, a multiple of the page size
     * @param perms       {@link UcProt} bits
     * @param hostAddress host address of the backing memory
     */
    public void memMapPtr(long address, long size, int perms, long hostAddress) {
        checkOpen();
        int err;
        try {
            err = (int) NativeWords.call(Native.UC_MEM_MAP_PTR.H, uc.address(), address, size, perms, hostAddress);
        } catch (Throwable t) {
            throw unexpected(t);
        }
        check(err, "uc_mem_map_ptr", address, size, perms);
    }

    /**
     * Maps memory owned by libunicorn ({@code uc_mem_map}); mainly for tests and scratch.
     *
     * @param address guest address, page aligned
     * @param size    size, a multiple of the page size
     * @param perms   {@link UcProt} bits
     */
    public void memMap(long address, long size, int perms) {
        checkOpen();
        int err;
        try {
            err = (int) NativeWords.call(Native.UC_MEM_MAP.H, uc.address(), address, size, perms);
        } catch (Throwable t) {
            throw unexpected(t);
        }
        check(err, "uc_mem_map", address, size, perms);
    }

    /**
     * Unmaps a range ({@code uc_mem_unmap}); may split regions. Does NOT drop translated code
     * in 2.0.1 (DESIGN fact 5): call {@link #removeCache} for executable ranges.
     *
     * @param address guest address, page aligned
     * @param size    size, a multiple of the page size
     */
    public void memUnmap(long address, long size) {
        checkOpen();
        int err;
        try {
            err = (int) NativeWords.call(Native.UC_MEM_UNMAP.H, uc.address(), address, size);
        } catch (Throwable t) {
            throw unexpected(t);
        }
        check(err, "uc_mem_unmap", address, size, -1);
    }

    /**
     * Changes permissions of a range ({@code uc_mem_protect}); may split regions.
     *
     * @param address guest address, page aligned
     * @param size    size, a multiple of the page size
     * @param perms   {@link UcProt} bits
     */
    public void memProtect(long address, long size, int perms) {
        checkOpen();
        int err;
        try {
            err = (int) NativeWords.call(Native.UC_MEM_PROTECT.H, uc.address(), address, size, perms);
        } catch (Throwable t) {
            throw unexpected(t);
        }
        check(err, "uc_mem_protect", address, size, perms);
    }

    /**
     * Lists mapped regions ({@code uc_mem_regions}), in ascending address order.
     *
     * @return the regions; {@link MemRegion#end()} is inclusive
     */
    public List<MemRegion> memRegions() {
        checkOpen();
        int err;
        MemorySegment regions;
        int count;
        try {
            err = (int) NativeWords.call(Native.UC_MEM_REGIONS.H, uc.address(), outSlot.address(), outSlot.address() + 8);
            regions = MemorySegment.ofAddress(outSlot.get(JAVA_LONG, 0));
            count = outSlot.get(JAVA_INT, 8);
        } catch (Throwable t) {
            throw unexpected(t);
        }
        check(err, "uc_mem_regions", 0, 0, -1);
        // struct uc_mem_region { uint64_t begin; uint64_t end; uint32_t perms; } -> 24 bytes.
        List<MemRegion> list = new ArrayList<>(count);
        if (count > 0) {
            MemorySegment r = regions.reinterpret(24L * count);
            for (int i = 0; i < count; i++) {
                list.add(new MemRegion(r.get(JAVA_LONG, 24L * i), r.get(JAVA_LONG, 24L * i + 8), r.get(JAVA_INT, 24L * i + 16)));
            }
        }
        if (!regions.equals(MemorySegment.NULL)) {
            try {
                int ignored = (int) NativeWords.call(Native.UC_FREE.H, regions.address());
            } catch (Throwable t) {
                throw unexpected(t);
            }
        }
        return list;
    }

    /**
     * Reads guest memory through the engine ({@code uc_mem_read}).
     *
     * @param address guest address
     * @param dst     destination (native segment)
     */
    public void memRead(long address, MemorySegment dst) {
        checkOpen();
        int err;
        try {
            err = (int) NativeWords.call(Native.UC_MEM_READ.H, uc.address(), address, dst.address(), dst.byteSize());
        } catch (Throwable t) {
            throw unexpected(t);
        }
        check(err, "uc_mem_read", address, dst.byteSize(), -1);
    }

    /**
     * Reads guest memory into a new array ({@code uc_mem_read}).
     *
     * @param address guest address
     * @param length  number of bytes
     * @return the bytes
     */
    public byte[] memRead(long address, int length) {
        try (Arena tmp = Arena.ofConfined()) {
            MemorySegment seg = tmp.allocate(Math.max(1, length));
            memRead(address, seg.asSlice(0, length));
            return seg.asSlice(0, length).toArray(JAVA_BYTE);
        }
    }

    /**
     * Writes guest memory through the engine ({@code uc_mem_write}). Like any host-side write
     * it does not invalidate this or other engines' translations (DESIGN fact 5).
     *
     * @param address guest address
     * @param src     source (native segment)
     */
    public void memWrite(long address, MemorySegment src) {
        checkOpen();
        int err;
        try {
            err = (int) NativeWords.call(Native.UC_MEM_WRITE.H, uc.address(), address, src.address(), src.byteSize());
        } catch (Throwable t) {
            throw unexpected(t);
        }
        check(err, "uc_mem_write", address, src.byteSize(), -1);
    }

    /**
     * Writes bytes to guest memory ({@code uc_mem_write}).
     *
     * @param address guest address
     * @param bytes   the bytes
     */
    public void memWrite(long address, byte[] bytes) {
        try (Arena tmp = Arena.ofConfined()) {
            MemorySegment seg = tmp.allocate(Math.max(1, bytes.length));
            MemorySegment.copy(bytes, 0, seg, JAVA_BYTE, 0, bytes.length);
            memWrite(address, seg.asSlice(0, bytes.length));
        }
    }

    // ------------------------------------------------------------------ registers

    /**
     * Reads a register of at most 64 bits ({@code uc_reg_read}); narrower registers are
     * zero-extended. For wider ones use {@link #regRead(int, MemorySegment)}.
     *
     * @param regId register id ({@code X86Reg}, {@code Arm64Reg})
     * @return the value
     */
    public long regRead(int regId) {
        checkOpen();
        // Zero first: uc_reg_read stores only the register's width (4 bytes for EAX, ...).
        longSlot.set(JAVA_LONG, 0, 0L);
        int err;
        try {
            err = (int) NativeWords.call(Native.UC_REG_READ.H, uc.address(), regId, longSlot.address());
        } catch (Throwable t) {
            throw unexpected(t);
        }
        if (err != UcErr.UC_ERR_OK) {
            throw Native.error(err, "uc_reg_read(reg=" + regId + ")");
        }
        return longSlot.get(JAVA_LONG, 0);
    }

    /**
     * Writes a register of at most 64 bits ({@code uc_reg_write}). Per DESIGN fact 6, writing
     * the PC from a hook clears a pending {@link #emuStop()} in 2.0.1.
     *
     * @param regId register id
     * @param value the value (truncated to the register's width)
     */
    public void regWrite(int regId, long value) {
        checkOpen();
        longSlot.set(JAVA_LONG, 0, value);
        longSlot.set(JAVA_LONG, 8, 0L);
        int err;
        try {
            err = (int) NativeWords.call(Native.UC_REG_WRITE.H, uc.address(), regId, longSlot.address());
        } catch (Throwable t) {
            throw unexpected(t);
        }
        if (err != UcErr.UC_ERR_OK) {
            throw Native.error(err, "uc_reg_write(reg=" + regId + ")");
        }
    }

    /**
     * Reads a register of any width (XMM: 16 bytes, ST/FP: 10, YMM: 32, ZMM: 64, aarch64 Q/V: 16)
     * into {@code out}. Goes through engine scratch, so {@code out} may be any segment (heap or
     * native) and a too-small {@code out} receives a truncated value rather than corrupting
     * memory. For in/out registers ({@code UC_X86_REG_MSR}, {@code UC_ARM64_REG_CP_REG}) the
     * first bytes of {@code out} are passed in as well.
     *
     * @param regId register id
     * @param out   receives the value, little-endian; at most 128 bytes are used
     */
    public void regRead(int regId, MemorySegment out) {
        checkOpen();
        long n = Math.min(out.byteSize(), REG_SCRATCH);
        wideSlot.fill((byte) 0);
        MemorySegment.copy(out, 0, wideSlot, 0, n);
        int err;
        try {
            err = (int) NativeWords.call(Native.UC_REG_READ.H, uc.address(), regId, wideSlot.address());
        } catch (Throwable t) {
            throw unexpected(t);
        }
        if (err != UcErr.UC_ERR_OK) {
            throw Native.error(err, "uc_reg_read(reg=" + regId + ", wide)");
        }
        MemorySegment.copy(wideSlot, 0, out, 0, n);
    }

    /**
     * Writes a register of any width from {@code in} (missing high bytes are zero).
     *
     * @param regId register id
     * @param in    the value, little-endian; at most 128 bytes are used
     */
    public void regWrite(int regId, MemorySegment in) {
        checkOpen();
        long n = Math.min(in.byteSize(), REG_SCRATCH);
        wideSlot.fill((byte) 0);
        MemorySegment.copy(in, 0, wideSlot, 0, n);
        int err;
        try {
            err = (int) NativeWords.call(Native.UC_REG_WRITE.H, uc.address(), regId, wideSlot.address());
        } catch (Throwable t) {
            throw unexpected(t);
        }
        if (err != UcErr.UC_ERR_OK) {
            throw Native.error(err, "uc_reg_write(reg=" + regId + ", wide)");
        }
    }

    /**
     * Reads several registers of at most 64 bits each in one call ({@code uc_reg_read_batch}).
     * Allocation-free in steady state: the native id/pointer/value arrays are allocated once per
     * engine per batch length.
     *
     * @param regIds register ids
     * @param out    receives the values (zero-extended); at least {@code regIds.length} long
     */
    public void regReadBatch(int[] regIds, long[] out) {
        checkOpen();
        int n = regIds.length;
        if (out.length < n) {
            throw new IllegalArgumentException("out has " + out.length + " slots for " + n + " registers");
        }
        BatchScratch b = batch(n);
        MemorySegment ids = b.ids;
        MemorySegment vals = b.vals;
        // Element loops, not MemorySegment.copy/fill: for the usual 5-10 registers the bulk
        // operations' setup costs more than the stores. Zeroing: narrower registers (EAX, ...)
        // store fewer than 8 bytes.
        for (int i = 0; i < n; i++) {
            ids.setAtIndex(JAVA_INT, i, regIds[i]);
            vals.setAtIndex(JAVA_LONG, i, 0L);
        }
        int err;
        try {
            err = (int) NativeWords.call(Native.UC_REG_READ_BATCH.H, uc.address(), b.ids.address(), b.ptrs.address(), n);
        } catch (Throwable t) {
            throw unexpected(t);
        }
        if (err != UcErr.UC_ERR_OK) {
            throw Native.error(err, "uc_reg_read_batch(n=" + n + ")");
        }
        for (int i = 0; i < n; i++) {
            out[i] = vals.getAtIndex(JAVA_LONG, i);
        }
    }

    /**
     * Writes several registers of at most 64 bits each in one call ({@code uc_reg_write_batch}).
     *
     * @param regIds register ids
     * @param values the values; at least {@code regIds.length}
     */
    public void regWriteBatch(int[] regIds, long[] values) {
        checkOpen();
        int n = regIds.length;
        if (values.length < n) {
            throw new IllegalArgumentException("values has " + values.length + " slots for " + n + " registers");
        }
        BatchScratch b = batch(n);
        MemorySegment ids = b.ids;
        MemorySegment vals = b.vals;
        for (int i = 0; i < n; i++) {
            ids.setAtIndex(JAVA_INT, i, regIds[i]);
            vals.setAtIndex(JAVA_LONG, i, values[i]);
        }
        int err;
        try {
            err = (int) NativeWords.call(Native.UC_REG_WRITE_BATCH.H, uc.address(), b.ids.address(), b.ptrs.address(), n);
        } catch (Throwable t) {
            throw unexpected(t);
        }
        if (err != UcErr.UC_ERR_OK) {
            throw Native.error(err, "uc_reg_write_batch(n=" + n + ")");
        }
    }

    /** Native arrays for a batch call of one length: ids[n], ptrs[n] -> vals[n] (+ padding). */
    private static final class BatchScratch {
        final MemorySegment ids;
        final MemorySegment ptrs;
        final MemorySegment vals;

        BatchScratch(MemorySegment ids, MemorySegment ptrs, MemorySegment vals) {
            this.ids = ids;
            this.ptrs = ptrs;
            this.vals = vals;
        }
    }

    private BatchScratch batch(int n) {
        BatchScratch[] bs = batches;
        if (n < bs.length) {
            BatchScratch b = bs[n];
            if (b != null) {
                return b;
            }
        }
        return newBatch(n);
    }

    private BatchScratch newBatch(int n) {
        if (n >= batches.length) {
            batches = java.util.Arrays.copyOf(batches, Math.max(n + 1, batches.length * 2));
        }
        // Values are 8-byte slots plus REG_SCRATCH bytes of padding so that a (wrong) wide
        // register id in a batch writes into the padding, never outside the allocation.
        long valsOff = align(4L * n, 8) + 8L * n;
        long size = valsOff + 8L * n + REG_SCRATCH;
        MemorySegment owned = arena.allocate(size, 64);
        MemorySegment all = MemorySegment.ofAddress(owned.address()).reinterpret(size);
        MemorySegment ids = all.asSlice(0, 4L * n);
        MemorySegment ptrs = all.asSlice(align(4L * n, 8), 8L * n);
        MemorySegment vals = all.asSlice(valsOff, 8L * n);
        for (int i = 0; i < n; i++) {
            ptrs.setAtIndex(JAVA_LONG, i, vals.address() + 8L * i);
        }
        BatchScratch b = new BatchScratch(ids, ptrs, vals);
        batches[n] = b;
        return b;
    }

    private static long align(long v, long a) {
        return (v + a - 1) & -a;
    }

    // ------------------------------------------------------------------ execution

    /**
     * Runs guest code ({@code uc_emu_start}) on the calling (owning) thread until {@code until}
     * is reached, {@code count} instructions ran (0 = unlimited), {@code timeoutMicros} passed
     * (0 = none), or {@link #emuStop()} is called.
     *
     * @param begin         start address
     * @param until         address at which to stop (not executed)
     * @param timeoutMicros timeout in microseconds, 0 for none
     * @param count         instruction budget, 0 for unlimited
     * @throws HookFailedException if a Java hook threw during the run (it is the cause)
     * @throws UnicornException    if emulation ended with an error (unmapped access, ...)
     */
    public void emuStart(long begin, long until, long timeoutMicros, long count) {
        checkOpen();
        started = true;
        int err;
        try {
            if (NativeHelpers.wrapperTargets() != 0) {
                // Through herd_emu_start even without fast stores of our own: a nested run (a scratch
                // engine inside a hook) must not be taken for the outer engine by the fill wrapper.
                MemorySegment state = wrapperState == null ? MemorySegment.NULL : wrapperState;
                err = (int) NativeWords.call(NativeHelpers.emuStartHandle(), state.address(), NativeHelpers.emuStartFunction().address(), uc.address(), begin, until, timeoutMicros, count);
            } else {
                err = (int) NativeWords.call(Native.UC_EMU_START.H, uc.address(), begin, until, timeoutMicros, count);
            }
        } catch (Throwable t) {
            throw unexpected(t);
        }
        Throwable failure = hookFailure;
        if (failure != null) {
            hookFailure = null;
            throw new HookFailedException(err, failure);
        }
        if (err != UcErr.UC_ERR_OK) {
            throw Native.error(err, "uc_emu_start(begin=0x" + Long.toHexString(begin) + ", until=0x"
                    + Long.toHexString(until) + ")");
        }
    }

    /**
     * Asks the engine to stop ({@code uc_emu_stop}). Safe from any thread, at any time,
     * idempotent, and a no-op after {@link #close()}. The engine stops at the next block
     * boundary (20-80 µs from another thread, DESIGN fact 6). Does nothing useful if the engine
     * is not running (and a stop issued just before {@code uc_emu_start} may be lost).
     */
    public void emuStop() {
        synchronized (lifecycle) {
            if (closed) {
                return;
            }
            try {
                int ignored = (int) NativeWords.call(Native.UC_EMU_STOP.H, uc.address());
            } catch (Throwable t) {
                throw unexpected(t);
            }
        }
    }

    /**
     * Drops translated code for {@code [begin, end)} ({@code uc_ctl_remove_cache}). Needed after
     * code bytes change, after unmap, and after exec permission changes (DESIGN fact 5).
     * Call on the owning thread while the engine is stopped, or from a hook.
     *
     * @param begin first guest address
     * @param end   end guest address (exclusive); must be greater than {@code begin}
     */
    public void removeCache(long begin, long end) {
        checkOpen();
        int err;
        try {
            err = (int) NativeWords.call(Native.UC_CTL.H, uc.address(), Native.ctl(UcCtl.UC_CTL_TB_REMOVE_CACHE, 2, Native.UC_CTL_IO_WRITE), begin, end);
        } catch (Throwable t) {
            throw unexpected(t);
        }
        if (err != UcErr.UC_ERR_OK) {
            throw Native.error(err, "uc_ctl_remove_cache(0x" + Long.toHexString(begin) + ", 0x" + Long.toHexString(end) + ")");
        }
    }

    /**
     * Drops the translated code of every mapped region ({@code uc_ctl_remove_cache} region by
     * region: ~3 µs per MiB, measured). It keeps blocks of addresses unmapped meanwhile
     * ({@code uc_mem_unmap} keeps them, DESIGN fact 5): drop those before unmapping, or when
     * mapping code there again. Not {@code UC_CTL_TB_FLUSH}: 2.0.1's region reset zeroes the whole
     * 1 GiB code buffer with memset, so an engine's first flush faults it all in (measured: 2.2 s
     * of system time, and the gigabyte stays resident), later ones ~15 ms. The same engine,
     * stopped or in a hook.
     */
    public void dropTranslations() {
        for (MemRegion r : memRegions()) removeCache(r.begin(), r.end() + 1);
    }

    /**
     * Selects the emulated CPU model ({@code uc_ctl_set_cpu_model}); must be called before the
     * first {@link #emuStart} or register access.
     *
     * @param model a {@code X86Cpu}/{@code Arm64Cpu} constant
     */
    public void setCpuModel(int model) {
        checkOpen();
        int err;
        try {
            err = (int) NativeWords.call(Native.UC_CTL.H, uc.address(), Native.ctl(UcCtl.UC_CTL_CPU_MODEL, 1, Native.UC_CTL_IO_WRITE), model);
        } catch (Throwable t) {
            throw unexpected(t);
        }
        if (err != UcErr.UC_ERR_OK) {
            throw Native.error(err, "uc_ctl_set_cpu_model(" + model + ")");
        }
    }

    /**
     * The engine's page size ({@code uc_query(UC_QUERY_PAGE_SIZE)}); 4096 for x86-64, and 1024
     * for aarch64 in 2.0.1 (DESIGN fact 7).
     *
     * @return page size in bytes
     */
    public int pageSize() {
        return (int) query(UcQuery.UC_QUERY_PAGE_SIZE);
    }

    /**
     * {@code uc_query}.
     *
     * @param type a {@link UcQuery} constant
     * @return the result
     */
    public long query(int type) {
        checkOpen();
        outSlot.set(JAVA_LONG, 0, 0L);
        int err;
        try {
            err = (int) NativeWords.call(Native.UC_QUERY.H, uc.address(), type, outSlot.address());
        } catch (Throwable t) {
            throw unexpected(t);
        }
        if (err != UcErr.UC_ERR_OK) {
            throw Native.error(err, "uc_query(" + type + ")");
        }
        return outSlot.get(JAVA_LONG, 0);
    }

    // ------------------------------------------------------------------ contexts

    /**
     * Saves the CPU state into a new context ({@code uc_context_alloc} + {@code uc_context_save}).
     *
     * @return the context; close it when done (or it is freed with the engine)
     */
    public UcContext contextSave() {
        checkOpen();
        int err;
        MemorySegment ctx;
        try {
            err = (int) NativeWords.call(Native.UC_CONTEXT_ALLOC.H, uc.address(), outSlot.address());
            ctx = MemorySegment.ofAddress(outSlot.get(JAVA_LONG, 0));
        } catch (Throwable t) {
            throw unexpected(t);
        }
        if (err != UcErr.UC_ERR_OK) {
            throw Native.error(err, "uc_context_alloc");
        }
        UcContext c = new UcContext(this, ctx);
        synchronized (contexts) {
            contexts.add(c);
        }
        contextSave(c);
        return c;
    }

    /**
     * Saves the CPU state into an existing context of this engine (no allocation).
     *
     * @param c a context from {@link #contextSave()}
     */
    public void contextSave(UcContext c) {
        checkOpen();
        MemorySegment p = live(c);
        int err;
        try {
            err = (int) NativeWords.call(Native.UC_CONTEXT_SAVE.H, uc.address(), p.address());
        } catch (Throwable t) {
            throw unexpected(t);
        }
        if (err != UcErr.UC_ERR_OK) {
            throw Native.error(err, "uc_context_save");
        }
    }

    /**
     * Restores CPU state from a context ({@code uc_context_restore}).
     *
     * @param c a context of this engine
     */
    public void contextRestore(UcContext c) {
        checkOpen();
        MemorySegment p = live(c);
        int err;
        try {
            err = (int) NativeWords.call(Native.UC_CONTEXT_RESTORE.H, uc.address(), p.address());
        } catch (Throwable t) {
            throw unexpected(t);
        }
        if (err != UcErr.UC_ERR_OK) {
            throw Native.error(err, "uc_context_restore");
        }
    }

    private MemorySegment live(UcContext c) {
        if (c.owner != this) {
            throw new IllegalArgumentException("context belongs to another engine");
        }
        MemorySegment p = c.ptr;
        if (p == null) {
            throw new IllegalStateException("context is closed");
        }
        return p;
    }

    /** The saved bytes of a context ({@code uc_context_size} bytes, header included), live while it is open. */
    MemorySegment contextBytes(UcContext c) {
        checkOpen();
        MemorySegment p = live(c);
        long size;
        try {
            size = (long) NativeWords.call(Native.UC_CONTEXT_SIZE.H, uc.address());
        } catch (Throwable t) {
            throw unexpected(t);
        }
        return p.reinterpret(size);
    }

    long contextRegRead(UcContext c, int regId) {
        checkOpen();
        MemorySegment p = live(c);
        longSlot.set(JAVA_LONG, 0, 0L);
        int err;
        try {
            err = (int) NativeWords.call(Native.UC_CONTEXT_REG_READ.H, p.address(), regId, longSlot.address());
        } catch (Throwable t) {
            throw unexpected(t);
        }
        if (err != UcErr.UC_ERR_OK) {
            throw Native.error(err, "uc_context_reg_read(reg=" + regId + ")");
        }
        return longSlot.get(JAVA_LONG, 0);
    }

    void contextRegWrite(UcContext c, int regId, long value) {
        checkOpen();
        MemorySegment p = live(c);
        longSlot.set(JAVA_LONG, 0, value);
        longSlot.set(JAVA_LONG, 8, 0L);
        int err;
        try {
            err = (int) NativeWords.call(Native.UC_CONTEXT_REG_WRITE.H, p.address(), regId, longSlot.address());
        } catch (Throwable t) {
            throw unexpected(t);
        }
        if (err != UcErr.UC_ERR_OK) {
            throw Native.error(err, "uc_context_reg_write(reg=" + regId + ")");
        }
    }

    void contextFree(UcContext c) {
        synchronized (contexts) {
            if (c.ptr == null) {
                return;
            }
            contexts.remove(c);
            freeContextPtr(c);
        }
    }

    private static void freeContextPtr(UcContext c) {
        MemorySegment p = c.ptr;
        c.ptr = null;
        if (p != null) {
            try {
                int ignored = (int) NativeWords.call(Native.UC_CONTEXT_FREE.H, p.address());
            } catch (Throwable t) {
                throw unexpected(t);
            }
        }
    }

    // ------------------------------------------------------------------ hooks

    /**
     * Hooks the x86 {@code syscall} instruction ({@code UC_HOOK_INSN} + {@code UC_X86_INS_SYSCALL}).
     * Inside the hook RIP is the syscall instruction; after it returns execution continues with
     * the next instruction. On aarch64 use {@link #hookInterrupt} (intno 2 is {@code svc}).
     *
     * @param h the hook
     * @return its handle
     * @throws UnsupportedOperationException if the engine is not x86
     */
    public HookHandle hookSyscall(SyscallHook h) {
        if (arch != UcArch.X86) {
            throw new UnsupportedOperationException("hookSyscall is x86 only; on " + arch + " use hookInterrupt");
        }
        return hookInsn(X86Insn.SYSCALL, SYSCALL_TARGET.bindTo(new SyscallStub(this, h)));
    }

    /**
     * Hooks the x86 {@code cpuid} instruction ({@code UC_HOOK_INSN} + {@code UC_X86_INS_CPUID}), so
     * the embedder can present its own CPU identification.
     *
     * @param h the hook
     * @return its handle
     * @throws UnsupportedOperationException if the engine is not x86
     */
    public HookHandle hookCpuid(CpuidHook h) {
        if (arch != UcArch.X86) {
            throw new UnsupportedOperationException("hookCpuid is x86 only");
        }
        return hookInsn(X86Insn.CPUID, CPUID_TARGET.bindTo(new CpuidStub(this, h)));
    }

    /**
     * Hooks interrupts and exceptions ({@code UC_HOOK_INTR}).
     *
     * @param h the hook
     * @return its handle
     */
    public HookHandle hookInterrupt(InterruptHook h) {
        return add(UcHook.UC_HOOK_INTR, INTR_TARGET.bindTo(new IntrStub(this, h)), 1, 0);
    }

    /**
     * Hooks invalid memory accesses (any of {@link UcHook#UC_HOOK_MEM_INVALID}'s bits).
     *
     * @param ucHookTypes {@code UC_HOOK_MEM_*_UNMAPPED} / {@code UC_HOOK_MEM_*_PROT} bits
     * @param h           the hook; return true if the access should be retried
     * @return its handle
     */
    public HookHandle hookMemInvalid(int ucHookTypes, MemEventHook h) {
        if (ucHookTypes == 0 || (ucHookTypes & ~UcHook.UC_HOOK_MEM_INVALID) != 0) {
            throw new IllegalArgumentException("not invalid-access hook types: 0x" + Integer.toHexString(ucHookTypes));
        }
        return add(ucHookTypes, EVENTMEM_TARGET.bindTo(new EventMemStub(this, h)), 1, 0);
    }

    /**
     * Hooks valid memory accesses in {@code [begin, end]} (inclusive; {@code begin > end} means
     * everywhere). Instrumenting accesses slows the hooked code down a lot.
     *
     * @param ucHookTypes {@code UC_HOOK_MEM_READ/WRITE/FETCH/READ_AFTER} bits
     * @param begin       first address
     * @param end         last address (inclusive)
     * @param h           the hook
     * @return its handle
     */
    public HookHandle hookMem(int ucHookTypes, long begin, long end, MemAccessHook h) {
        int valid = UcHook.UC_HOOK_MEM_VALID | UcHook.UC_HOOK_MEM_READ_AFTER;
        if (ucHookTypes == 0 || (ucHookTypes & ~valid) != 0) {
            throw new IllegalArgumentException("not valid-access hook types: 0x" + Integer.toHexString(ucHookTypes));
        }
        HookHandle handle = add(ucHookTypes, MEM_TARGET.bindTo(new MemStub(this, h)), begin, end);
        if (seesGuestWrites(ucHookTypes, begin, end)) {
            handle.seesGuestWrites = true;
            guestWriteHookCount(1);
        }
        return handle;
    }

    /**
     * Hooks every instruction in {@code [begin, end]} ({@code UC_HOOK_CODE}; {@code begin > end}
     * means everywhere).
     *
     * @param begin first address
     * @param end   last address (inclusive)
     * @param h     the hook
     * @return its handle
     */
    public HookHandle hookCode(long begin, long end, CodeHook h) {
        return add(UcHook.UC_HOOK_CODE, CODE_TARGET.bindTo(new CodeStub(this, h)), begin, end);
    }

    /**
     * Hooks every basic block starting in {@code [begin, end]} ({@code UC_HOOK_BLOCK}).
     *
     * @param begin first address
     * @param end   last address (inclusive)
     * @param h     the hook
     * @return its handle
     */
    public HookHandle hookBlock(long begin, long end, BlockHook h) {
        return add(UcHook.UC_HOOK_BLOCK, BLOCK_TARGET.bindTo(new BlockStub(this, h)), begin, end);
    }

    /**
     * Hooks invalid instructions ({@code UC_HOOK_INSN_INVALID}).
     *
     * @param h the hook; return true to continue
     * @return its handle
     */
    public HookHandle hookInvalidInsn(InvalidInsnHook h) {
        return add(UcHook.UC_HOOK_INSN_INVALID, INSN_INVALID_TARGET.bindTo(new InsnInvalidStub(this, h)),
                1, 0);
    }

    /**
     * Removes a hook ({@code uc_hook_del}); idempotent. Owning thread only (or while stopped).
     * The stub stays allocated until {@link #close()} (libunicorn may still reference it until
     * the current run unwinds).
     *
     * @param h a handle of this engine
     */
    public void hookDel(HookHandle h) {
        checkOpen();
        if (h.owner != this) {
            throw new IllegalArgumentException("hook belongs to another engine");
        }
        if (h.deleted) {
            return;
        }
        int err;
        try {
            err = (int) NativeWords.call(Native.UC_HOOK_DEL.H, uc.address(), h.handle);
        } catch (Throwable t) {
            throw unexpected(t);
        }
        if (err != UcErr.UC_ERR_OK) {
            throw Native.error(err, "uc_hook_del");
        }
        h.deleted = true;
        hooks.remove(h);
        if (h.seesGuestWrites) guestWriteHookCount(-1);
    }

    /**
     * Makes {@link #stopAtNextBlock()} available. Owning thread only; idempotent.
     *
     * <p>Why not {@link #emuStop()}: called while the engine runs on another thread, libunicorn
     * 2.0.1 may stop after a load or store in the middle of a block with the PC of the block's
     * start, so resuming re-executes instructions. Where herd_native.c's wrappers are in place
     * (cpu_exec, and no per-access exit checks in this engine's translations), a stop is a kick that
     * leaves the block chain at the next block start with an exact PC, and the wrapper stops on the
     * engine's own thread: nothing per block. Otherwise a native block hook checks the request at
     * every block start (a stop raised there is exact; measured ~35% of the run time of branchy
     * guest code). With kicks, a stop or PC write from inside a memory hook takes effect at the next
     * block start rather than right after the access (code hooks are unchanged).
     */
    public void enableExactStops() {
        checkOpen();
        if (stopRequest != null) return;
        MemorySegment request = arena.allocate(16, 8); // struct herd_stop_request {atomic_int; fnptr}
        request.set(JAVA_LONG, 8, NativeHelpers.emuStopFunction().address());
        if (wrapperAvailable(NativeHelpers.EXEC_STOPS_X86_64, NativeHelpers.EXEC_STOPS_AARCH64)) {
            wrapperState().set(JAVA_LONG, ST_STOP_FLAG, request.address());
            wrapperState().set(JAVA_INT, ST_EXACT_STOPS, 1);
            // Blocks translated before would still leave at every memory access after a kick.
            if (started) dropTranslations();
            stopsByKick = true; // before the volatile publication stopAtNextBlock reads first
            stopRequest = request;
            return;
        }
        int err;
        try {
            err = (int) NativeWords.call(Native.UC_HOOK_ADD.H, uc.address(), outSlot.address(), UcHook.UC_HOOK_BLOCK, NativeHelpers.checkFunction().address(), request.address(), 1L, 0L);
        } catch (Throwable t) {
            throw unexpected(t);
        }
        added(err, UcHook.UC_HOOK_BLOCK, NativeHelpers.checkFunction(), "uc_hook_add(native stop check)");
        stopRequest = request;
    }

    /** Whether exact stops work by kicks (no per-block hook); false before {@link #enableExactStops()}. */
    public boolean exactStopsByKick() { return stopsByKick; }

    /**
     * Whether {@link #syncFaultPc(long)} can make the PC exact in an invalid-memory hook without a
     * memory-access hook: herd_native.c's load/store-helper notes are in place for this engine's
     * architecture, and stops work by kicks (the note is read inside the cpu_exec wrapper).
     */
    public boolean exactFaultPcs() {
        return stopsByKick && wrapperAvailable(NativeHelpers.FAULT_PC_X86_64, NativeHelpers.FAULT_PC_AARCH64);
    }

    /**
     * From inside an invalid-memory hook for a data read or write at {@code address}: restores the
     * PC (x86: and the lazily computed flags' state) to the faulting instruction, as QEMU does
     * before raising a guest exception. libunicorn 2.0.1 otherwise leaves the PC of the last block
     * boundary there unless a memory-access hook exists (which sends every guest load and store
     * down the slow path). Returns false, changing nothing, when this engine cannot
     * ({@link #exactFaultPcs()}) or the access was made inside another helper (x87 80-bit loads,
     * {@code fxsave}, {@code cmpxchg16b}: those keep the block-boundary PC). Engine's own thread.
     */
    public boolean syncFaultPc(long address) {
        if (!exactFaultPcs()) return false;
        try {
            return (int) NativeWords.call(NativeHelpers.syncFaultPcHandle(), wrapperState.address(), address) != 0;
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    /**
     * Asks the engine to stop before its next block executes, with an exact PC, from any thread.
     * Never lost: the request waits in the engine until the next block starts, even if the engine
     * is not running yet. Requires {@link #enableExactStops()}.
     */
    public void stopAtNextBlock() {
        MemorySegment request = stopRequest;
        if (request == null) throw new IllegalStateException("enableExactStops() was not called");
        STOP_FLAG.setVolatile(request, 0L, 1);
        if (!stopsByKick) return;
        synchronized (lifecycle) { // close() frees the CPUState the kick writes
            if (closed) return;
            try {
                NativeWords.call(NativeHelpers.kickHandle(), wrapperState.address());
            } catch (Throwable t) {
                throw unexpected(t);
            }
        }
    }

    /** Withdraws a pending {@link #stopAtNextBlock()} (the engine's owner, while it is stopped). */
    public void clearStopRequest() {
        MemorySegment request = stopRequest;
        if (request != null) STOP_FLAG.setVolatile(request, 0L, 0);
    }

    // ------------------------------------------------------------------ libunicorn wrappers

    /**
     * struct herd_engine_state (herd_native.c): fast-store ranges pointer, count, disabled, cpu,
     * flush, uc, parallel, parallel misses, exclusive, guard, stop flag, pass PC, TLB fills and
     * growths (native only), kick CPU (native only), exact stops by kick, stop owed, exec arch,
     * range hint (native only) and host base.
     */
    private static final long ST_RANGES = 0, ST_COUNT = 8, ST_STORES_DISABLED = 12, ST_UC = 32,
            ST_PARALLEL = 40, ST_PARALLEL_MISSES = 44, ST_EXCLUSIVE = 48, ST_GUARD_ATOMICS = 52, ST_STOP_FLAG = 56,
            ST_PASS_PC = 64, ST_EXACT_STOPS = 88, ST_HOST_BASE = 104, ST_EXCLUSIVE_ADDR = 112, ST_SIZE = 120;
    /** This engine's herd_engine_state, once a wrapper was enabled for it; owning thread only. */
    private MemorySegment wrapperState;
    private boolean fastStores;
    private MemorySegment fastRanges = MemorySegment.NULL;
    private int fastRangeCapacity;
    private boolean fastRangesEmpty = true;
    /** Memory-write hooks whose range can reach guest addresses (the fast path is off while any exists). */
    private int guestWriteHooks;

    private boolean wrapperAvailable(int x86Bit, int arm64Bit) {
        int bit = switch (arch) {
            case X86 -> x86Bit;
            case ARM64 -> arm64Bit;
            default -> 0;
        };
        return (NativeHelpers.wrapperTargets() & bit) != 0;
    }

    private MemorySegment wrapperState() {
        if (wrapperState == null) {
            MemorySegment s = arena.allocate(ST_SIZE, 8);
            wrapperState = MemorySegment.ofAddress(s.address()).reinterpret(ST_SIZE);
            wrapperState.set(JAVA_LONG, ST_UC, uc.address());
        }
        return wrapperState;
    }

    /**
     * Lets guest stores into pages this engine may write and cannot execute skip libunicorn 2.0.1's
     * per-store slow path (DESIGN fact 11). Which pages those are is the caller's to say with
     * {@link #setFastStoreRanges}; until then no page is fast. Owning thread only; idempotent.
     *
     * @return false when the loaded libunicorn does not allow it (then stores stay on the slow path)
     */
    public boolean enableFastStores() {
        checkOpen();
        if (fastStores) return true;
        if (!wrapperAvailable(NativeHelpers.FAST_STORES_X86_64, NativeHelpers.FAST_STORES_AARCH64)) return false;
        wrapperState().set(JAVA_INT, ST_STORES_DISABLED, guestWriteHooks > 0 ? 1 : 0);
        fastStores = true;
        return true;
    }

    /** Whether {@link #enableFastStores()} succeeded on this engine. */
    public boolean fastStoresEnabled() { return fastStores; }

    /**
     * Makes the translator emit host atomics for guest atomic instructions and barriers from now on
     * (DESIGN fact 13: the parallel flag during translation), so they are atomic across engines
     * sharing memory. Blocks translated before stay as they are: call before the first run or flush
     * translations. Owning thread only; idempotent. Whether it then works is for an atomic
     * self-test to say: a translation whose layout check fails runs without the flag (see
     * {@link #translatorAtomicMisses()}).
     *
     * @return false when the loaded libunicorn is not a build Herd knows the layout of
     */
    public boolean enableTranslatorAtomics() {
        checkOpen();
        if (!wrapperAvailable(NativeHelpers.PARALLEL_X86_64, NativeHelpers.PARALLEL_AARCH64)) return false;
        if (stopRequest == null) throw new IllegalStateException("enableExactStops() first: an exclusive step must stop exactly");
        wrapperState().set(JAVA_LONG, ST_STOP_FLAG, stopRequest.address());
        wrapperState().set(JAVA_INT, ST_PARALLEL, 1);
        return true;
    }

    /** Translator atomics are enabled but translations are made without them ({@link #suspendTranslatorAtomics}). */
    private boolean translatorAtomicsSuspended;

    /**
     * After {@link #enableTranslatorAtomics()} (and {@link #guardTranslatorAtomics()}): translates
     * guest atomics as plain accesses until {@link #resumeTranslatorAtomics()}, which is exact while
     * no other engine or process can touch the memory (QEMU linux-user's single-thread mode) and
     * several times faster. Call before the engine translates anything. Owning thread only.
     */
    public void suspendTranslatorAtomics() {
        checkOpen();
        MemorySegment s = wrapperState;
        if (s == null || s.get(JAVA_INT, ST_PARALLEL) == 0) return;
        s.set(JAVA_INT, ST_PARALLEL, 0);
        translatorAtomicsSuspended = true;
    }

    /**
     * Ends {@link #suspendTranslatorAtomics()}: translates with host atomics from now on. Blocks
     * translated before keep their plain atomics, so the caller drops them ({@link #removeCache}
     * over the executable memory, or {@link #dropTranslations()}). Owning thread, engine stopped.
     *
     * @return whether translator atomics were suspended (and translations must be dropped)
     */
    public boolean resumeTranslatorAtomics() {
        if (!translatorAtomicsSuspended) return false;
        checkOpen();
        wrapperState.set(JAVA_INT, ST_PARALLEL, 1);
        translatorAtomicsSuspended = false;
        return true;
    }

    /** Whether translations are made without translator atomics for now ({@link #suspendTranslatorAtomics()}). */
    public boolean translatorAtomicsSuspended() { return translatorAtomicsSuspended; }

    /**
     * With translator atomics and fast stores: lets libunicorn's atomic helpers write only inside
     * the fast-store ranges ({@link #setFastStoreRanges}); an atomic access anywhere else (a
     * read-only, executable or unmapped page, or one not published yet) stops the engine before its
     * instruction as {@link #takeExclusiveStep} describes, so the caller performs it with its own
     * permission check. 2.0.1's helpers skip Unicorn's: unguarded, a locked read-modify-write on a
     * read-only page writes the host page. Owning thread only.
     *
     * @return false unless both {@link #enableTranslatorAtomics()} and {@link #enableFastStores()} succeeded
     */
    public boolean guardTranslatorAtomics() {
        checkOpen();
        MemorySegment s = wrapperState;
        if (!fastStores || s == null || s.get(JAVA_INT, ST_PARALLEL) == 0) return false;
        s.set(JAVA_INT, ST_GUARD_ATOMICS, 1);
        return true;
    }

    /**
     * With {@link #guardTranslatorAtomics() guarded} translator atomics: declares that the guest
     * memory of the fast-store ranges is host memory at {@code hostBase + address} (every such
     * region was mapped with {@link #memMapPtr} there), so an aligned little-endian atomic inside
     * them is done on the host memory directly instead of through libunicorn's helper and its TLB
     * lookup (QEMU linux-user's g2h). Accesses the guard refuses still stop the engine. Owning
     * thread only.
     *
     * @return false unless the atomics are guarded
     */
    public boolean directAtomics(long hostBase) {
        checkOpen();
        MemorySegment s = wrapperState;
        if (s == null || s.get(JAVA_INT, ST_GUARD_ATOMICS) == 0) return false;
        s.set(JAVA_LONG, ST_HOST_BASE, hostBase);
        return true;
    }

    /**
     * With translator atomics: whether the engine stopped (as by {@link #stopAtNextBlock()}) before
     * an instruction the translator could not make a host atomic (libunicorn's EXCP_ATOMIC, e.g. a
     * misaligned operand, which 2.0.1 would retry forever); clears it. The PC register is on that
     * instruction. The caller makes it atomic another way (patches it to a trap) and drops the
     * translations of its address before resuming, or calls {@link #passExclusiveStep}.
     * Owning thread only.
     */
    public boolean takeExclusiveStep() {
        MemorySegment s = wrapperState;
        if (s == null || s.get(JAVA_INT, ST_EXCLUSIVE) == 0) return false;
        s.set(JAVA_INT, ST_EXCLUSIVE, 0);
        return true;
    }

    /**
     * After {@link #takeExclusiveStep}: the guest address of the atomic operand that stopped the
     * engine because it lay outside the fast-store ranges ({@link #guardTranslatorAtomics}), or 0
     * when the stop had another cause (no host atomic form); clears it. The caller may find that
     * the operand's region is only not mapped in this engine yet. Owning thread only.
     */
    public long takeExclusiveAddress() {
        MemorySegment s = wrapperState;
        if (s == null) return 0;
        long a = s.get(JAVA_LONG, ST_EXCLUSIVE_ADDR);
        s.set(JAVA_LONG, ST_EXCLUSIVE_ADDR, 0);
        return a;
    }

    /**
     * For an instruction at {@code pc} that could not be made atomic another way: the next block
     * translated at {@code pc} is translated without translator atomics, so it runs (atomic only
     * within this engine) instead of stopping again. Drops the translations at {@code pc} itself.
     * That block then stays translated so in this engine. Owning thread only, engine stopped.
     */
    public void passExclusiveStep(long pc) {
        if (wrapperState == null) return;
        wrapperState.set(JAVA_LONG, ST_PASS_PC, pc);
        removeCache(pc, pc + 1);
    }

    /** Translations since {@link #enableTranslatorAtomics()} that ran without the flag (layout check failed). */
    public int translatorAtomicMisses() {
        MemorySegment s = wrapperState;
        return s == null ? 0 : s.get(JAVA_INT, ST_PARALLEL_MISSES);
    }

    /**
     * Sets the guest ranges whose pages may take the store fast path: {@code count} sorted,
     * disjoint {@code [start, end)} pairs in {@code pairs}. Every page in them must be writable by
     * the guest in this engine's regions and not executable, and its host page writable. Pages
     * that leave the set are flushed from the engine's TLB here. Owning thread only (also from
     * inside a hook). No effect unless {@link #enableFastStores()} succeeded.
     */
    public void setFastStoreRanges(long[] pairs, int count) {
        if (!fastStores) return;
        checkOpen();
        MemorySegment s = wrapperState;
        if (count > fastRangeCapacity) {
            int cap = Math.max(16, Integer.highestOneBit(count) << 1);
            MemorySegment a = arena.allocate(16L * cap, 8);
            fastRanges = MemorySegment.ofAddress(a.address()).reinterpret(16L * cap);
            fastRangeCapacity = cap;
        }
        // Same thread as every fill that reads it, so plain stores suffice.
        boolean wasEmpty = fastRangesEmpty;
        s.set(JAVA_INT, ST_COUNT, 0);
        MemorySegment.copy(pairs, 0, fastRanges, JAVA_LONG, 0, 2 * count);
        s.set(JAVA_LONG, ST_RANGES, fastRanges.address());
        s.set(JAVA_INT, ST_COUNT, count);
        fastRangesEmpty = count == 0;
        // Pages that left the set may still have fast entries when Unicorn's own regions did not
        // change (uc_mem_protect / uc_mem_unmap flush by themselves): flush unless nothing was fast.
        if (!wasEmpty) flushFastStores();
    }

    private void flushFastStores() {
        if (!fastStores) return;
        try {
            NativeWords.call(NativeHelpers.flushTlbHandle(), wrapperState.address());
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    private void guestWriteHookCount(int delta) {
        guestWriteHooks += delta;
        if (!fastStores) return;
        wrapperState.set(JAVA_INT, ST_STORES_DISABLED, guestWriteHooks > 0 ? 1 : 0);
        if (delta > 0) flushFastStores(); // entries filled fast before the hook existed must go
    }

    /** Whether a memory-access hook of these types and range can see guest stores. */
    private static boolean seesGuestWrites(int types, long begin, long end) {
        if ((types & UcHook.UC_HOOK_MEM_WRITE) == 0) return false;
        // begin > end (unsigned) is "everywhere"; otherwise guests live in the lower half.
        return Long.compareUnsigned(begin, end) > 0 || begin >= 0;
    }

    private static final java.lang.invoke.VarHandle STOP_FLAG = JAVA_INT.varHandle();
    private volatile MemorySegment stopRequest;
    /** Exact stops by kick and the cpu_exec wrapper (no block hook); set with stopRequest. */
    private volatile boolean stopsByKick;
    /** Whether {@link #emuStart} ran (so the engine may hold translations); owning thread only. */
    private boolean started;

    private HookHandle add(int type, MethodHandle target, long begin, long end) {
        checkOpen();
        MemorySegment stub = Native.LINKER.upcallStub(target, Native.UPCALL, arena);
        int err;
        try {
            err = (int) NativeWords.call(Native.UC_HOOK_ADD.H, uc.address(), outSlot.address(), type, stub.address(), 0, begin, end);
        } catch (Throwable t) {
            throw unexpected(t);
        }
        return added(err, type, stub, "uc_hook_add(type=0x" + Integer.toHexString(type) + ")");
    }

    private HookHandle hookInsn(int insn, MethodHandle target) {
        checkOpen();
        MemorySegment stub = Native.LINKER.upcallStub(target, Native.UPCALL, arena);
        int err;
        try {
            // begin=1 > end=0: the whole address space; the trailing int is the variadic insn id.
            err = (int) NativeWords.call(Native.UC_HOOK_ADD.H, uc.address(), outSlot.address(), UcHook.UC_HOOK_INSN, stub.address(), 0, 1L, 0L, insn);
        } catch (Throwable t) {
            throw unexpected(t);
        }
        return added(err, UcHook.UC_HOOK_INSN, stub, "uc_hook_add(UC_HOOK_INSN, insn=" + insn + ")");
    }

    private HookHandle added(int err, int type, MemorySegment stub, String what) {
        if (err != UcErr.UC_ERR_OK) {
            throw Native.error(err, what);
        }
        HookHandle h = new HookHandle(this, outSlot.get(JAVA_LONG, 0), type, stub);
        hooks.add(h);
        return h;
    }

    /**
     * Called by every upcall wrapper when the Java hook threw. Must never throw itself: it runs
     * with native frames of libunicorn below it.
     */
    void hookFailed(Throwable t) {
        try {
            Throwable first = hookFailure;
            if (first == null) {
                hookFailure = t;
            } else if (first != t && first.getSuppressed().length < 8) {
                first.addSuppressed(t);
            }
        } catch (Throwable ignored) {
            // nothing safe left to do; the stop below still ends the run
        }
        try {
            int ignored = (int) NativeWords.call(Native.UC_EMU_STOP.H, uc.address());
        } catch (Throwable ignored) {
            // cannot happen for a downcall with int return; never propagate into native code
        }
    }

    // Upcall targets: one small object per hook, bound into its stub. Each catches Throwable
    // so nothing unwinds into libunicorn. All have Native.UPCALL's shape: the callback's arguments
    // as words (narrowed here), unused trailing words, and a word the C caller reads as its result.

    private record SyscallStub(Unicorn uc, SyscallHook h) {
        @SuppressWarnings("unused")
        long call(long engine, long user, long a2, long a3, long a4, long a5) {
            try {
                h.onSyscall(uc);
            } catch (Throwable t) {
                uc.hookFailed(t);
            }
            return 0;
        }
    }

    private record IntrStub(Unicorn uc, InterruptHook h) {
        @SuppressWarnings("unused")
        long call(long engine, long intno, long user, long a3, long a4, long a5) {
            try {
                h.onInterrupt(uc, (int) intno);
            } catch (Throwable t) {
                uc.hookFailed(t);
            }
            return 0;
        }
    }

    private record CodeStub(Unicorn uc, CodeHook h) {
        @SuppressWarnings("unused")
        long call(long engine, long address, long size, long user, long a4, long a5) {
            try {
                h.onCode(uc, address, (int) size);
            } catch (Throwable t) {
                uc.hookFailed(t);
            }
            return 0;
        }
    }

    private record BlockStub(Unicorn uc, BlockHook h) {
        @SuppressWarnings("unused")
        long call(long engine, long address, long size, long user, long a4, long a5) {
            try {
                h.onBlock(uc, address, (int) size);
            } catch (Throwable t) {
                uc.hookFailed(t);
            }
            return 0;
        }
    }

    private record MemStub(Unicorn uc, MemAccessHook h) {
        @SuppressWarnings("unused")
        long call(long engine, long type, long address, long size, long value, long user) {
            try {
                h.onAccess(uc, (int) type, address, (int) size, value);
            } catch (Throwable t) {
                uc.hookFailed(t);
            }
            return 0;
        }
    }

    private record EventMemStub(Unicorn uc, MemEventHook h) {
        @SuppressWarnings("unused")
        long call(long engine, long type, long address, long size, long value, long user) {
            try {
                return h.onInvalidAccess(uc, (int) type, address, (int) size, value) ? 1 : 0;
            } catch (Throwable t) {
                uc.hookFailed(t);
                return 0;
            }
        }
    }

    private record CpuidStub(Unicorn uc, CpuidHook h) {
        @SuppressWarnings("unused")
        long call(long engine, long user, long a2, long a3, long a4, long a5) {
            try {
                return h.onCpuid(uc) ? 1 : 0;
            } catch (Throwable t) {
                uc.hookFailed(t);
                return 1; // the run is ending; do not execute the instruction behind the failure
            }
        }
    }

    private record InsnInvalidStub(Unicorn uc, InvalidInsnHook h) {
        @SuppressWarnings("unused")
        long call(long engine, long user, long a2, long a3, long a4, long a5) {
            try {
                return h.onInvalidInsn(uc) ? 1 : 0;
            } catch (Throwable t) {
                uc.hookFailed(t);
                return 0;
            }
        }
    }

    // ------------------------------------------------------------------ errors

    private static void check(int err, String call, long address, long size, int perms) {
        if (err != UcErr.UC_ERR_OK) {
            throw Native.error(err, call + "(0x" + Long.toHexString(address) + ", size=0x" + Long.toHexString(size)
                    + (perms >= 0 ? ", perms=" + perms : "") + ")");
        }
    }

    private static RuntimeException unexpected(Throwable t) {
        if (t instanceof RuntimeException r) {
            return r;
        }
        if (t instanceof Error e) {
            throw e;
        }
        return new IllegalStateException(t);
    }

    @Override
    public String toString() {
        return "Unicorn[" + arch + ", mode=0x" + Integer.toHexString(mode) + ", uc=0x" + Long.toHexString(uc.address())
                + (closed ? ", closed]" : "]");
    }
}
