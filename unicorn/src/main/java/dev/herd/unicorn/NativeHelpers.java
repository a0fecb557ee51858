package dev.herd.unicorn;

import dev.herd.ffm.NativeWords;

import java.lang.foreign.MemorySegment;

/**
 * Herd's small native helpers ({@code unicorn/src/main/c/herd_native.c}, loaded by
 * {@link dev.herd.ffm.HerdNative}): the libunicorn wrappers, the exact-stop block hook and the host
 * interrupt-signal handler.
 */
public final class NativeHelpers {
    private NativeHelpers() {}

    static final String RESOURCE = dev.herd.ffm.HerdNative.RESOURCE;

    private static final class Loaded {
        static final MemorySegment CHECK = dev.herd.ffm.HerdNative.function("herd_stop_check");
    }

    /** A downcall handle of {@link NativeWords#WORDS} shape for the helper's function {@code name}. */
    private static java.lang.invoke.MethodHandle down(String name) {
        return NativeWords.handle(dev.herd.ffm.HerdNative.function(name));
    }

    /** Address of {@code herd_stop_check}, a UC_HOOK_BLOCK callback. */
    static MemorySegment checkFunction() { return Loaded.CHECK; }

    private static final class Interrupt {
        static final java.lang.invoke.MethodHandle INSTALL = down("herd_install_interrupt_handler");
    }

    /**
     * Installs the do-nothing host handler for {@code signo} without SA_RESTART, so that a thread
     * blocked in a host syscall returns EINTR when Herd sends it {@code signo}. Idempotent.
     */
    public static void installInterruptHandler(int signo) {
        int r;
        try {
            r = (int) NativeWords.call(Interrupt.INSTALL, signo);
        } catch (Throwable t) {
            throw new IllegalStateException("cannot install the interrupt handler", t);
        }
        if (r != 0) throw new IllegalStateException("sigaction(" + signo + ") failed");
    }

    /** {@link #wrapperTargets()} bits: the store fast path for x86_64 / aarch64 engines. */
    static final int FAST_STORES_X86_64 = 1, FAST_STORES_AARCH64 = 2;
    /** {@link #wrapperTargets()} bits: translator atomics for x86_64 / aarch64 engines. */
    static final int PARALLEL_X86_64 = 4, PARALLEL_AARCH64 = 8;
    /** {@link #wrapperTargets()} bits: exact stops without a block hook (cpu_exec wrapper) for x86_64 / aarch64 engines. */
    static final int EXEC_STOPS_X86_64 = 32, EXEC_STOPS_AARCH64 = 64;
    /** {@link #wrapperTargets()} bit: the region lookup keeps its cache (herd_memory_mapping), all engines. */
    static final int REGION_CACHE = 128;
    /** {@link #wrapperTargets()} bits: fault PCs from the load/store helpers' notes (herd_sync_fault_pc) for x86_64 / aarch64 engines. */
    static final int FAULT_PC_X86_64 = 256, FAULT_PC_AARCH64 = 512;
    /** {@link #wrapperTargets()} bit: x86_64 blocks end with a lookup of the next block instead of a return to cpu_exec. */
    static final int CHAINED_EOB_X86_64 = 1024;

    /**
     * The libunicorn wrappers of herd_native.c (store fast path, DESIGN fact 11; translator atomics,
     * fact 13; exact stops, herd_native.c; the region lookup's cache), installed once per process at
     * first use: the bits above for what is in place, 0 when nothing is. {@code HERD_FAST_STORES=0},
     * {@code HERD_TRANSLATOR_ATOMICS=0}, {@code HERD_EXEC_STOPS=0} (block-hook stops) and
     * {@code HERD_REGION_CACHE=0} and {@code HERD_CHAIN_EOB=0} leave the respective wrapper out. Process-wide by nature (they
     * patch the one libunicorn of the process); a wrapper other than the region lookup (which has no
     * state but the engine's own cache index) only acts for an engine run through
     * {@link #emuStartHandle()} with its own state, so runs sharing a JVM stay independent.
     */
    static int wrapperTargets() { return Wrappers.TARGETS; }

    /** herd_emu_start(state, uc_emu_start, uc, begin, until, timeout, count). */
    static java.lang.invoke.MethodHandle emuStartHandle() { return Wrappers.EMU_START; }

    /** herd_kick(state). */
    static java.lang.invoke.MethodHandle kickHandle() { return Wrappers.KICK; }

    /** herd_sync_fault_pc(state, address) returning int; made at the first fault that needs it. */
    static java.lang.invoke.MethodHandle syncFaultPcHandle() { return FaultPc.SYNC; }

    private static final class FaultPc {
        static final java.lang.invoke.MethodHandle SYNC = down("herd_sync_fault_pc");
    }

    /** herd_engine_flush_tlb(state). */
    static java.lang.invoke.MethodHandle flushTlbHandle() { return Wrappers.FLUSH_TLB; }

    /** Address of libunicorn's {@code uc_emu_start}. */
    static MemorySegment emuStartFunction() { return Wrappers.UC_EMU_START; }

    private static final class Wrappers {
        static final MemorySegment UC_EMU_START = Native.LOOKUP.find("uc_emu_start").orElseThrow();
        static final java.lang.invoke.MethodHandle EMU_START = down("herd_emu_start");
        static final java.lang.invoke.MethodHandle FLUSH_TLB = down("herd_engine_flush_tlb");
        static final java.lang.invoke.MethodHandle KICK = down("herd_kick");
        static final int TARGETS = install();

        private static int install() {
            boolean stores = !"0".equals(System.getenv("HERD_FAST_STORES"));
            boolean parallel = !"0".equals(System.getenv("HERD_TRANSLATOR_ATOMICS"));
            boolean execStops = !"0".equals(System.getenv("HERD_EXEC_STOPS"));
            if (!stores) debug("store fast path off (HERD_FAST_STORES=0)");
            if (!parallel) debug("translator atomics off (HERD_TRANSLATOR_ATOMICS=0)");
            if (!execStops) debug("exact stops by the per-block hook (HERD_EXEC_STOPS=0)");
            if (!stores && !parallel && !execStops && "0".equals(System.getenv("HERD_REGION_CACHE"))) return 0;
            MemorySegment none = MemorySegment.NULL;
            java.lang.foreign.SymbolLookup lib = Native.LOOKUP;
            int r;
            try {
                r = (int) NativeWords.call(down("herd_wrappers_install"), UC_EMU_START.address(),
                        lib.find("tlb_set_dirty_x86_64").orElse(none).address(), lib.find("tlb_flush_x86_64").orElse(none).address(),
                        lib.find("tlb_set_dirty_aarch64").orElse(none).address(), lib.find("tlb_flush_aarch64").orElse(none).address());
            } catch (Throwable t) {
                debug("libunicorn wrappers unavailable: " + t);
                return 0;
            }
            if (r < 0) {
                debug("libunicorn wrappers unavailable: " + Native.LIBRARY + " not found among the loaded modules");
                return 0;
            }
            // The wrappers cannot be installed separately; a switched-off one is simply never used.
            int mask = (stores ? FAST_STORES_X86_64 | FAST_STORES_AARCH64 : 0) | (parallel ? PARALLEL_X86_64 | PARALLEL_AARCH64 : 0)
                    | (execStops ? EXEC_STOPS_X86_64 | EXEC_STOPS_AARCH64 : 0) | REGION_CACHE | FAULT_PC_X86_64 | FAULT_PC_AARCH64
                    | CHAINED_EOB_X86_64;
            if (stores && (r & FAST_STORES_X86_64) == 0) debug("store fast path unavailable for x86_64 engines: " + Native.LIBRARY
                    + " has no PLT-called tlb_set_page_with_attrs_x86_64 or no tlb_set_dirty_x86_64");
            if (stores && (r & FAST_STORES_AARCH64) == 0) debug("store fast path unavailable for aarch64 engines: " + Native.LIBRARY
                    + " has no PLT-called tlb_set_page_with_attrs_aarch64 or no tlb_set_dirty_aarch64");
            if (parallel && (r & 16) != 0) debug("translator atomics unavailable: " + Native.LIBRARY
                    + " is not the build whose structure offsets and helper bugs Herd knows (Debian 2.0.1.post1-1+b1); atomic sites are patched");
            else if (parallel && (r & (PARALLEL_X86_64 | PARALLEL_AARCH64)) != (PARALLEL_X86_64 | PARALLEL_AARCH64))
                debug("translator atomics unavailable for some targets: no PLT-called gen_intermediate_code_<arch>");
            if ((r & REGION_CACHE) != 0 && (r & FAULT_PC_X86_64) == 0) debug("fault PCs need a memory hook for x86_64 engines: "
                    + Native.LIBRARY + " has no relocated helper_*_mmu_x86_64 or no cpu_restore_state_x86_64");
            if ((r & REGION_CACHE) == 0) debug("region lookup without its cache: " + Native.LIBRARY
                    + " is not the pinned build or has no PLT-called memory_mapping, or HERD_REGION_CACHE=0");
            if (execStops && (r & EXEC_STOPS_X86_64) == 0) debug("exact stops by the per-block hook: " + Native.LIBRARY
                    + " is not the pinned build, or has no PLT-called cpu_exec_x86_64 or check_exit_request_x86_64");
            if ((r & PARALLEL_X86_64) != 0 && (r & CHAINED_EOB_X86_64) == 0) debug("x86_64 blocks end in cpu_exec's loop: "
                    + Native.LIBRARY + " has no PLT-called tcg_gen_exit_tb_x86_64, or HERD_CHAIN_EOB=0");
            return r & mask & (FAST_STORES_X86_64 | FAST_STORES_AARCH64 | PARALLEL_X86_64 | PARALLEL_AARCH64
                    | EXEC_STOPS_X86_64 | EXEC_STOPS_AARCH64 | REGION_CACHE | FAULT_PC_X86_64 | FAULT_PC_AARCH64
                    | CHAINED_EOB_X86_64);
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
