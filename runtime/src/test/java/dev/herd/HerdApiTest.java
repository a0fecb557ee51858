package dev.herd;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.ByteArrayOutputStream;
import java.io.PipedInputStream;
import java.io.PipedOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The embedding API end to end: runs, syscall hooks, instrumentation, isolation between runs. */
class HerdApiTest {
    private static final Duration WAIT = Duration.ofSeconds(60);
    private static String probe;

    @BeforeAll
    static void build() throws Exception {
        probe = TestGuests.path("api_probe");
    }

    private static Herd.Builder probe(Capture out, String... args) {
        return Herd.builder().program(probe, args).stdout(out).env(Map.of("A", "1"));
    }

    private static PrintStream diagnostics(ByteArrayOutputStream to) {
        return new PrintStream(to, true, StandardCharsets.UTF_8);
    }

    @Test
    void runReturnsStatusAndCapturesStdout() throws Exception {
        Capture out = new Capture();
        try (Herd herd = probe(out, "pid").build()) {
            HerdRun run = herd.start();
            assertEquals(0, run.await());
            assertTrue(run.isDone());
            assertEquals(0, run.exitStatus());
            assertEquals("pid=" + run.pid() + "\n", out.text());
        }
    }

    @Test
    void missingProgramIsAStartError() {
        Herd herd = Herd.builder().program("/nonexistent/program").build();
        assertThrows(HerdException.class, herd::run);
    }

    @ParameterizedTest
    @EnumSource(ExecutionMode.class)
    void hooksFromManyThreadsCountExactly(ExecutionMode mode) throws Exception {
        int threads = 8, calls = 500;
        Capture out = new Capture();
        LongAdder enters = new LongAdder(), exits = new LongAdder();
        Map<Integer, AtomicInteger> perThread = new ConcurrentHashMap<>();
        try (Herd herd = probe(out, "threads", "" + threads, "" + calls).mode(mode).build()) {
            herd.setSyscall("getpid", Intercept.ENTER, ev -> {
                enters.increment();
                perThread.computeIfAbsent(ev.tid(), t -> new AtomicInteger()).incrementAndGet();
            });
            herd.setSyscall("getpid", Intercept.EXIT, ev -> {
                if (ev.returnValue() != ev.pid()) throw new AssertionError("getpid returned " + ev.returnValue());
                exits.increment();
            });
            assertEquals(0, herd.run());
        }
        assertEquals("threads done\n", out.text());
        assertEquals(threads * calls, enters.sum());
        assertEquals(threads * calls, exits.sum());
        assertEquals(threads, perThread.size());
        perThread.values().forEach(c -> assertEquals(calls, c.get()));
    }

    @Test
    void callReplacesAnUnimplementedSyscallWithoutWarning() throws Exception {
        Capture out = new Capture();
        ByteArrayOutputStream diag = new ByteArrayOutputStream();
        try (Herd herd = probe(out, "enosys").diagnostics(diagnostics(diag)).build()) {
            herd.setSyscall("100000", Intercept.CALL, ev -> {
                assertEquals(1, ev.arg(0));
                assertEquals(3, ev.arg(2));
                ev.setReturn(7);
            });
            assertEquals(0, herd.run());
        }
        assertEquals("r=7 errno=0\n", out.text());
        assertFalse(diag.toString().contains("unimplemented"), diag.toString());
    }

    @Test
    void withoutHookTheUnimplementedSyscallFails() throws Exception {
        Capture out = new Capture();
        ByteArrayOutputStream diag = new ByteArrayOutputStream();
        try (Herd herd = probe(out, "enosys").diagnostics(diagnostics(diag)).build()) {
            assertEquals(0, herd.run());
        }
        assertEquals("r=-1 errno=38\n", out.text());
        assertTrue(diag.toString().contains("unimplemented syscall syscall_100000"), diag.toString());
    }

    @Test
    void enterRewritesAPathArgument(@TempDir Path dir) throws Exception {
        Path a = Files.writeString(dir.resolve("a.txt"), "alpha");
        Path b = Files.writeString(dir.resolve("b.txt"), "bravo");
        Capture out = new Capture();
        AtomicInteger redirected = new AtomicInteger();
        try (Herd herd = probe(out, "cat", a.toString()).build()) {
            herd.setSyscall("openat", Intercept.ENTER, ev -> {
                if (ev.argString(1).equals(a.toString())) {
                    ev.setArgString(1, b.toString());
                    redirected.incrementAndGet();
                }
            });
            assertEquals(0, herd.run());
        }
        assertEquals("content=bravo\n", out.text());
        assertEquals(1, redirected.get());
    }

    /** Names resolve in the guest's own numbering: getpid is 172 on aarch64, 39 on x86_64. */
    @Test
    void syscallHooksAndRegistersOfAnAarch64Guest() throws Exception {
        String arm = TestGuests.aarch64("api_probe");
        Capture out = new Capture();
        java.util.concurrent.atomic.AtomicLong number = new java.util.concurrent.atomic.AtomicLong(-1), pc = new java.util.concurrent.atomic.AtomicLong();
        try (Herd herd = Herd.builder().program(arm, "pid").stdout(out).build()) {
            herd.setSyscall("getpid", Intercept.ENTER, ev -> {
                number.set(ev.registers().read("x8"));
                pc.set(ev.registers().pc());
                assertThrows(IllegalStateException.class, () -> ev.registers().rax());
            });
            herd.setSyscall("getpid", Intercept.EXIT, ev -> ev.setReturn(4242));
            assertEquals(0, herd.run());
        }
        assertEquals("pid=4242\n", out.text());
        assertEquals(172, number.get(), "x8 holds arm64's getpid");
        assertTrue(pc.get() > 0);
    }

    @Test
    void exitChangesTheResult() throws Exception {
        Capture out = new Capture();
        try (Herd herd = probe(out, "pid").build()) {
            herd.setSyscall("getpid", Intercept.EXIT, ev -> ev.setReturn(4242));
            assertEquals(0, herd.run());
        }
        assertEquals("pid=4242\n", out.text());
    }

    @Test
    void enterCanFailACallWithErrno(@TempDir Path dir) throws Exception {
        Path a = Files.writeString(dir.resolve("a.txt"), "alpha");
        Capture out = new Capture();
        try (Herd herd = probe(out, "cat", a.toString()).build()) {
            herd.setSyscall("openat", Intercept.CALL, ev -> {
                if (ev.argString(1).endsWith("a.txt")) ev.setReturn(-13); // EACCES
            });
            assertEquals(1, herd.run());
        }
        assertEquals("open failed errno=13\n", out.text());
    }

    @Test
    void hookAddedAndRemovedDuringTheRun() throws Exception {
        Capture out = new Capture();
        PipedOutputStream toGuest = new PipedOutputStream();
        PipedInputStream guestIn = new PipedInputStream(toGuest);
        AtomicInteger seen = new AtomicInteger();
        try (Herd herd = probe(out, "echo").stdin(guestIn).build()) {
            HerdRun run = herd.start();
            toGuest.write("a\n".getBytes());
            toGuest.flush();
            out.await("got a\n", WAIT);
            HookRegistration reg = herd.setSyscall("getppid", Intercept.EXIT, ev -> seen.incrementAndGet());
            toGuest.write("b\n".getBytes());
            toGuest.flush();
            out.await("got b\n", WAIT);
            toGuest.write("c\n".getBytes());
            toGuest.flush();
            out.await("got c\n", WAIT);
            reg.remove();
            reg.remove(); // idempotent
            toGuest.write("d\n".getBytes());
            toGuest.close();
            assertEquals(0, run.await(WAIT));
        }
        assertEquals("got a\ngot b\ngot c\ngot d\n", out.text());
        assertEquals(2, seen.get());
    }

    @Test
    void aThrowingHookEndsOnlyItsRun() throws Exception {
        Capture out1 = new Capture(), out2 = new Capture();
        ByteArrayOutputStream diag = new ByteArrayOutputStream();
        AtomicLong calls = new AtomicLong();
        try (Herd failing = probe(out1, "threads", "4", "200").diagnostics(diagnostics(diag)).build();
             Herd fine = probe(out2, "threads", "4", "200").build()) {
            failing.setSyscall("getpid", Intercept.ENTER, ev -> {
                if (calls.incrementAndGet() == 50) throw new IllegalStateException("boom from hook");
            });
            LongAdder fineCalls = new LongAdder();
            fine.setSyscall("getpid", Intercept.ENTER, ev -> fineCalls.increment());
            HerdRun r1 = failing.start();
            HerdRun r2 = fine.start();
            HookFailedException e = assertThrows(HookFailedException.class, r1::await);
            assertEquals("boom from hook", e.getCause().getMessage());
            assertTrue(e.tid() > 0);
            assertEquals(70, r1.exitStatus());
            assertNotNull(r1.failure());
            assertTrue(diag.toString().contains("boom from hook"), diag.toString());
            assertEquals(0, r2.await(WAIT));
            assertEquals(800, fineCalls.sum());
            assertEquals("threads done\n", out2.text());
        }
    }

    @Test
    void twoRunsAtOnceDoNotInterfere(@TempDir Path dir) throws Exception {
        Path a = Files.writeString(dir.resolve("a.txt"), "alpha");
        Capture out1 = new Capture(), out2 = new Capture();
        try (Herd h1 = probe(out1, "cat", a.toString()).build();
             Herd h2 = probe(out2, "pid").build()) {
            h2.setSyscall("getpid", Intercept.EXIT, ev -> ev.setReturn(99));
            HerdRun r1 = h1.start(), r2 = h2.start();
            assertEquals(0, r1.await(WAIT));
            assertEquals(0, r2.await(WAIT));
        }
        assertEquals("content=alpha\n", out1.text());
        assertEquals("pid=99\n", out2.text());
    }

    @Test
    void stopEndsARunningGuest() throws Exception {
        Capture out = new Capture();
        try (Herd herd = probe(out, "spin").build()) {
            HerdRun run = herd.start();
            out.await("spinning\n", WAIT);
            run.stop();
            assertTrue(run.isDone());
            assertEquals(137, run.exitStatus());
            assertEquals(137, run.await());
            assertThrows(GuestMemoryException.class, () -> run.memory().read(0x400000, 4));
        }
    }

    @Test
    void threadListenersSeeEveryThread() throws Exception {
        Capture out = new Capture();
        Map<Integer, Integer> starts = new ConcurrentHashMap<>(), exits = new ConcurrentHashMap<>();
        try (Herd herd = probe(out, "threads", "6", "10").build()) {
            herd.addThreadListener(new ThreadListener() {
                @Override
                public void threadStarted(int tid) { starts.merge(tid, 1, Integer::sum); }

                @Override
                public void threadExited(int tid) { exits.merge(tid, 1, Integer::sum); }
            });
            assertEquals(0, herd.run());
        }
        assertEquals(7, starts.size());
        assertEquals(starts, exits);
    }

    /** Address of a symbol of the (static, non-PIE) probe, from nm. */
    private static long symbol(String name) throws Exception {
        Process p = new ProcessBuilder("nm", probe).redirectErrorStream(true).start();
        String all = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor();
        for (String line : all.split("\n")) {
            String[] f = line.trim().split("\\s+");
            if (f.length == 3 && f[2].equals(name)) return Long.parseUnsignedLong(f[0], 16);
        }
        throw new AssertionError("no symbol " + name);
    }

    @Test
    void codeHookOnEveryThreadWithRegisters() throws Exception {
        long worker = symbol("worker");
        Capture out = new Capture();
        Map<Integer, Integer> hits = new ConcurrentHashMap<>();
        AtomicInteger bad = new AtomicInteger();
        try (Herd herd = probe(out, "threads", "5", "3").build()) {
            herd.hookCode(worker, worker + 1, (ctx, address, size) -> {
                hits.merge(ctx.tid(), 1, Integer::sum);
                GuestRegisters regs = ctx.registers();
                if (regs.rip() != worker || regs.read("RIP") != worker || regs.rdi() != 0) bad.incrementAndGet();
                // the return address is on the stack, readable through guest memory
                if (ctx.memory().readLong(regs.rsp()) == 0) bad.incrementAndGet();
            });
            assertEquals(0, herd.run());
        }
        assertEquals("threads done\n", out.text());
        assertEquals(5, hits.size(), hits.toString());
        hits.values().forEach(n -> assertEquals(1, n));
        assertEquals(0, bad.get());
    }

    @Test
    void registersAreUsableOnlyDuringTheCallback() throws Exception {
        Capture out = new Capture();
        java.util.concurrent.atomic.AtomicReference<GuestRegisters> kept = new java.util.concurrent.atomic.AtomicReference<>();
        AtomicLong rax = new AtomicLong();
        try (Herd herd = probe(out, "pid").build()) {
            herd.setSyscall("getpid", Intercept.ENTER, ev -> {
                rax.set(ev.registers().rax());
                kept.set(ev.registers());
            });
            assertEquals(0, herd.run());
        }
        assertEquals(39, rax.get());
        assertThrows(IllegalStateException.class, () -> kept.get().rip());
    }

    @Test
    void memoryHookAndCodeHookAddedWhileRunning() throws Exception {
        Capture out = new Capture();
        LongAdder writes = new LongAdder(), code = new LongAdder();
        try (Herd herd = probe(out, "spin").build()) {
            HerdRun run = herd.start();
            out.await("spinning\n", WAIT);
            assertFalse(run.memory().mappings().isEmpty());
            HookRegistration c = herd.hookCode(0x1000, 0x7fff_ffff_ffffL, (ctx, a, s) -> code.increment());
            long deadline = System.nanoTime() + WAIT.toNanos();
            while (code.sum() < 1000 && System.nanoTime() < deadline) Thread.sleep(5);
            assertTrue(code.sum() >= 1000, "code hook never ran on the live thread");
            c.remove();
            HookRegistration m = herd.hookMemory(MemoryAccess.READ_WRITE, 0x1000, 0x7fff_ffff_ffffL,
                    (ctx, write, a, s, v) -> writes.increment());
            while (writes.sum() < 100 && System.nanoTime() < deadline) Thread.sleep(5);
            assertTrue(writes.sum() >= 100, "memory hook never ran");
            m.remove();
            run.stop();
            assertEquals(137, run.exitStatus());
        }
    }

    /**
     * The store fast path (DESIGN fact 11) must not hide stores from a memory-write hook, also on a
     * page that the guest's engine already filled fast before the hook was added.
     */
    @Test
    void aWriteHookAddedLaterSeesEveryStoreToAnAlreadyWrittenPage() throws Exception {
        Capture out = new Capture();
        PipedOutputStream toGuest = new PipedOutputStream();
        PipedInputStream guestIn = new PipedInputStream(toGuest);
        int stores = 5000;
        java.util.concurrent.atomic.AtomicLong seen = new java.util.concurrent.atomic.AtomicLong();
        try (Herd herd = probe(out, "stores", "" + stores).stdin(guestIn).build()) {
            HerdRun run = herd.start();
            toGuest.write("1\n".getBytes());
            toGuest.flush();
            out.await("stored\n", WAIT);
            java.util.regex.Matcher at = java.util.regex.Pattern.compile("buf=0x([0-9a-f]+)").matcher(out.text());
            assertTrue(at.find(), out.text());
            long buf = Long.parseUnsignedLong(at.group(1), 16);
            HookRegistration reg = herd.hookMemory(MemoryAccess.WRITE, buf, buf + 4096, (ctx, write, a, size, v) -> {
                if (write && size == 8) seen.incrementAndGet();
            });
            toGuest.write("2\n".getBytes());
            toGuest.flush();
            out.await("stored\nstored\n", WAIT);
            assertEquals(stores, seen.get(), "stores seen by the hook");
            reg.remove();
            toGuest.write("3\n".getBytes());
            toGuest.close();
            assertEquals(0, run.await(WAIT));
        }
        assertEquals(stores, seen.get(), "no stores seen after the hook was removed");
    }

    @Test
    void aThrowingCodeHookIsAClearError() throws Exception {
        Capture out = new Capture();
        ByteArrayOutputStream diag = new ByteArrayOutputStream();
        try (Herd herd = probe(out, "pid").diagnostics(diagnostics(diag)).build()) {
            herd.hookCode(0x1000, 0x7fff_ffff_ffffL, (ctx, a, s) -> { throw new ArithmeticException("code boom"); });
            HookFailedException e = assertThrows(HookFailedException.class, herd::run);
            assertTrue(e.getCause() instanceof ArithmeticException);
        }
    }
}
