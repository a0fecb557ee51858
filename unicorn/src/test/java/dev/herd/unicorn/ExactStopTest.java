package dev.herd.unicorn;

import dev.herd.unicorn.x86_64.X86Reg;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Stops requested from another thread while the engine runs must resume exactly: a loop of
 * {@code add qword [mem], 1} restarted thousands of times from the PC it stopped at must count
 * exactly. With plain {@code uc_emu_stop} libunicorn 2.0.1 re-executes instructions (measured:
 * about one extra increment per restart), which is why {@link Unicorn#stopAtNextBlock()} exists.
 */
class ExactStopTest {
    private static final long CODE = 0x1000, DATA = 0x3000;

    @Test
    void stopAtNextBlockResumesExactly() throws Exception {
        long[] r = kickedLoop(true, 5_000_000);
        assertEquals(5_000_000, r[0], "increments after " + r[1] + " restarts");
        assertTrue(r[1] > 50, "the kicker must actually have stopped the engine: " + r[1]);
    }

    @Test
    void debiansLibraryStopsByKickWithoutABlockHook() {
        assertEquals(NativeHelpers.EXEC_STOPS_X86_64 | NativeHelpers.EXEC_STOPS_AARCH64,
                NativeHelpers.wrapperTargets() & (NativeHelpers.EXEC_STOPS_X86_64 | NativeHelpers.EXEC_STOPS_AARCH64),
                "cpu_exec_<arch> and check_exit_request_<arch> called through the PLT, uc_emu_stop and cpu_exit exported");
        try (Unicorn u = Unicorn.openX86_64()) {
            u.enableExactStops();
            assertTrue(u.exactStopsByKick());
        }
    }

    @Test
    void straightLineBlocksEndWithoutLeavingTranslatedCodeAndStillStopExactly() throws Exception {
        // L: add qword [rip+d], 1 ; 600 x inc rax ; dec ecx ; jnz L. The translator cuts the 603
        // instructions into blocks of at most 512 and ends the first with gen_eob; Herd turns that
        // return to cpu_exec into a lookup of the next block (herd_exit_tb_x86_64). A kick must still
        // stop the engine at a block start, and a resume must neither lose nor repeat an instruction.
        assertEquals(NativeHelpers.CHAINED_EOB_X86_64, NativeHelpers.wrapperTargets() & NativeHelpers.CHAINED_EOB_X86_64,
                "tcg_gen_exit_tb_x86_64 and tcg_gen_lookup_and_goto_ptr_x86_64 called through the PLT");
        int incs = 600, n = 300_000;
        byte[] loop = new byte[8 + 3 * incs + 2 + 6];
        System.arraycopy(ONE_BLOCK, 0, loop, 0, 8);
        for (int i = 0; i < incs; i++) System.arraycopy(new byte[]{0x48, (byte) 0xff, (byte) 0xc0}, 0, loop, 8 + 3 * i, 3);
        int at = 8 + 3 * incs;
        loop[at] = (byte) 0xff;
        loop[at + 1] = (byte) 0xc9;
        int rel = -(at + 2 + 6);
        loop[at + 2] = 0x0f;
        loop[at + 3] = (byte) 0x85;
        for (int i = 0; i < 4; i++) loop[at + 4 + i] = (byte) (rel >>> (8 * i));
        long[] rax = new long[1];
        long[] r = kickedLoop(true, n, loop, u -> { }, u -> rax[0] = u.regRead(X86Reg.RAX));
        assertEquals(n, r[0], "loop iterations after " + r[1] + " restarts");
        assertEquals((long) incs * n, rax[0], "straight-line increments after " + r[1] + " restarts");
        assertTrue(r[1] > 50, "the kicker must actually have stopped the engine: " + r[1]);
    }

    @Test
    void aStopRequestedBeforeTheRunStopsItBeforeTheFirstBlock() throws Exception {
        // inc rax ; jmp $-3 (forever): only the pending request can end this run.
        byte[] code = {0x48, (byte) 0xff, (byte) 0xc0, (byte) 0xeb, (byte) 0xfb};
        try (Arena arena = Arena.ofShared(); Unicorn u = Unicorn.openX86_64()) {
            MemorySegment mem = arena.allocate(0x4000, 0x1000);
            MemorySegment.copy(code, 0, mem, ValueLayout.JAVA_BYTE, CODE, code.length);
            u.memMapPtr(0, 0x4000, UcProt.ALL, mem.address());
            u.enableExactStops();
            u.regWrite(X86Reg.RAX, 0);
            u.stopAtNextBlock();
            u.emuStart(CODE, 0, 0, 0);
            assertEquals(CODE, u.regRead(X86Reg.RIP));
            assertEquals(0, u.regRead(X86Reg.RAX), "no instruction ran");
            // The request was taken: the next run goes on until the next request.
            Thread kicker = Thread.ofPlatform().start(() -> {
                try {
                    Thread.sleep(50);
                } catch (InterruptedException e) {
                    return;
                }
                u.stopAtNextBlock();
            });
            u.emuStart(CODE, 0, 0, 0);
            kicker.join();
            assertTrue(u.regRead(X86Reg.RAX) > 0, "the second run executed");
        }
    }

    @Test
    void asyncEmuStopIsMeasuredNotTrusted() throws Exception {
        long[] r = kickedLoop(false, 5_000_000);
        // Reported, not asserted equal: this documents libunicorn's behaviour (>= n always holds).
        System.out.printf("async uc_emu_stop: %d increments for 5000000 iterations, %d restarts%n", r[0], r[1]);
        assertTrue(r[0] >= 5_000_000);
    }

    @Test
    void aCodeHookRunsOncePerInstructionUnderStops() throws Exception {
        // The check after a code hook must not take a kick: the hook would run again after the resume.
        java.util.concurrent.atomic.AtomicLong hooked = new java.util.concurrent.atomic.AtomicLong();
        // Long enough for many kicks (one per 200 µs): 200,000 rounds took ~33 ms, and a CI run saw
        // only 45 restarts in them, under the 50 this asked for.
        long[] r = kickedLoop(true, 1_000_000, u -> u.hookCode(CODE, CODE, (uc, address, size) -> hooked.incrementAndGet()));
        assertEquals(1_000_000, r[0], "increments after " + r[1] + " restarts");
        assertEquals(1_000_000, hooked.get(), "hook calls at the loop's first instruction after " + r[1] + " restarts");
        assertTrue(r[1] > 10, "the kicker must actually have stopped the engine: " + r[1]);
    }

    @Test
    void aCodeHookElsewhereDoesNotMakeStopsResumeAtAStalePc() throws Exception {
        // Two chained blocks, a code hook on an address that never runs. 2.0.1 skips restoring the
        // PC from the block on an exit at a block start whenever any code hook exists (it assumes
        // the hook helper synced it); a chained jump does not store the PC, so without Herd's fix
        // the engine resumed at the block it last left through the epilogue and ran it again.
        long[] r = kickedLoop(true, 2_000_000, TWO_BLOCKS, u -> u.hookCode(CODE + TWO_BLOCKS.length, CODE + TWO_BLOCKS.length,
                (uc, address, size) -> { }));
        assertEquals(2_000_000, r[0], "increments after " + r[1] + " restarts");
        assertTrue(r[1] > 50, "the kicker must actually have stopped the engine: " + r[1]);
    }

    // L: add qword [rip+d], 1 ; dec ecx ; jnz L
    private static final byte[] ONE_BLOCK = {0x48, (byte) 0x83, 0x05, 0, 0, 0, 0, 0x01, (byte) 0xff, (byte) 0xc9, 0x75, (byte) 0xf4};
    // L: add qword [rip+d], 1 ; jmp M ; M: dec ecx ; jnz L
    private static final byte[] TWO_BLOCKS = {0x48, (byte) 0x83, 0x05, 0, 0, 0, 0, 0x01, (byte) 0xeb, 0x00,
            (byte) 0xff, (byte) 0xc9, 0x75, (byte) 0xf2};

    private static long[] kickedLoop(boolean exact, int n) throws Exception {
        return kickedLoop(exact, n, u -> {});
    }

    private static long[] kickedLoop(boolean exact, int n, java.util.function.Consumer<Unicorn> setUp) throws Exception {
        return kickedLoop(exact, n, ONE_BLOCK, setUp);
    }

    private static long[] kickedLoop(boolean exact, int n, byte[] loop, java.util.function.Consumer<Unicorn> setUp) throws Exception {
        return kickedLoop(exact, n, loop, setUp, u -> { });
    }

    /** Returns {final counter, restarts}; {@code atEnd} sees the engine after the loop. */
    private static long[] kickedLoop(boolean exact, int n, byte[] loop, java.util.function.Consumer<Unicorn> setUp,
                                     java.util.function.Consumer<Unicorn> atEnd) throws Exception {
        byte[] code = loop.clone();
        int d = (int) (DATA - (CODE + 8));
        for (int i = 0; i < 4; i++) code[3 + i] = (byte) (d >>> (8 * i));
        long end = CODE + code.length;
        try (Arena arena = Arena.ofShared(); Unicorn u = Unicorn.openX86_64()) {
            MemorySegment mem = arena.allocate(0x4000, 0x1000);
            MemorySegment.copy(code, 0, mem, ValueLayout.JAVA_BYTE, CODE, code.length);
            u.memMapPtr(0, 0x4000, UcProt.ALL, mem.address());
            if (exact) u.enableExactStops();
            setUp.accept(u);
            u.regWrite(X86Reg.RCX, n);
            u.regWrite(X86Reg.RIP, CODE);
            AtomicBoolean running = new AtomicBoolean(true);
            Thread kicker = Thread.ofPlatform().start(() -> {
                while (running.get()) {
                    if (exact) u.stopAtNextBlock(); else u.emuStop();
                    try {
                        Thread.sleep(0, 200_000);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            });
            long restarts = 0;
            try {
                for (long pc; (pc = u.regRead(X86Reg.RIP)) != end; restarts++) u.emuStart(pc, end, 0, 0);
            } finally {
                running.set(false);
                kicker.join();
            }
            atEnd.accept(u);
            return new long[]{mem.get(ValueLayout.JAVA_LONG, DATA), restarts};
        }
    }
}
