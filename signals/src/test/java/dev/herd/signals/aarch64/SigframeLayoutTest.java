package dev.herd.signals.aarch64;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static dev.herd.signals.aarch64.SigframeLayout.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Pins every offset {@link SignalFrameAarch64} uses to the arm64 uapi headers. {@link #PROBE_OUTPUT}
 * is what {@code src/test/c/aarch64_sigframe_probe.c} printed (aarch64-linux-gnu-gcc -static,
 * libc6-dev-arm64-cross headers, run under qemu-aarch64-static); {@link #probeStillPrintsThis}
 * re-runs it when the cross toolchain is installed.
 */
class SigframeLayoutTest {
    static final String PROBE_OUTPUT = """
            sizeof.rt_sigframe 4688
            rt_sigframe.info 0
            rt_sigframe.uc 128
            sizeof.frame_record 16
            rt_sigframe.uc.uc_mcontext.__reserved 592
            sizeof.ucontext 4560
            ucontext.uc_flags 0
            ucontext.uc_link 8
            ucontext.uc_stack 16
            ucontext.uc_sigmask 40
            ucontext.__unused 48
            ucontext.uc_mcontext 176
            sizeof.uc_sigmask 8
            stack.ss_sp 0
            stack.ss_flags 8
            stack.ss_size 16
            sizeof.stack 24
            sizeof.sigcontext 4384
            alignof.sigcontext 16
            sigcontext.fault_address 0
            sigcontext.regs 8
            sigcontext.sp 256
            sigcontext.pc 264
            sigcontext.pstate 272
            sigcontext.__reserved 288
            sizeof.__reserved 4096
            sizeof._aarch64_ctx 8
            _aarch64_ctx.magic 0
            _aarch64_ctx.size 4
            sizeof.fpsimd_context 528
            fpsimd_context.head 0
            fpsimd_context.fpsr 8
            fpsimd_context.fpcr 12
            fpsimd_context.vregs 16
            sizeof.esr_context 16
            esr_context.head 0
            esr_context.esr 8
            sizeof.extra_context 32
            extra_context.datap 8
            extra_context.size 16
            FPSIMD_MAGIC 1179680769
            ESR_MAGIC 1163088385
            EXTRA_MAGIC 1163416577
            SVE_MAGIC 1398162689
            ZA_MAGIC 1412850501
            sizeof.siginfo 128
            si.signo 0
            si.errno 4
            si.code 8
            si.pid 16
            si.uid 20
            si.value 24
            si.tid 16
            si.overrun 20
            si.addr 16
            SA_SIGINFO 4
            SA_ONSTACK 134217728
            SA_RESTORER 67108864
            MINSIGSTKSZ 5120
            SIGSTKSZ 16384
            """;

    static final Map<String, Long> PROBE = parse(PROBE_OUTPUT);

    static Map<String, Long> parse(String out) {
        Map<String, Long> m = new LinkedHashMap<>();
        for (String line : out.split("\n")) {
            if (line.isBlank()) continue;
            String[] kv = line.trim().split(" ");
            m.put(kv[0], Long.parseLong(kv[1]));
        }
        return m;
    }

    private static void pin(String name, long expected) {
        assertEquals(PROBE.get(name), Long.valueOf(expected), name);
    }

    @Test
    void rtSigframeAndFrameRecord() {
        pin("sizeof.rt_sigframe", FRAME_SIZE);
        pin("rt_sigframe.info", OFF_INFO);
        pin("rt_sigframe.uc", OFF_UC);
        pin("sizeof.frame_record", FRAME_RECORD_SIZE);
        pin("rt_sigframe.uc.uc_mcontext.__reserved", OFF_UC + UC_FIXED_SIZE);
        assertEquals(0, FRAME_SIZE % 16, "get_sigframe keeps the frame 16-aligned only because of this");
    }

    @Test
    void ucontextAndStack() {
        pin("sizeof.ucontext", UC_SIZE);
        pin("ucontext.uc_flags", UC_FLAGS);
        pin("ucontext.uc_link", UC_LINK);
        pin("ucontext.uc_stack", UC_STACK);
        pin("ucontext.uc_sigmask", UC_SIGMASK);
        pin("ucontext.__unused", UC_UNUSED);
        pin("ucontext.uc_mcontext", UC_MCONTEXT);
        pin("sizeof.uc_sigmask", 8);
        pin("stack.ss_sp", SS_SP);
        pin("stack.ss_flags", SS_FLAGS);
        pin("stack.ss_size", SS_SIZE);
        pin("sizeof.stack", STACK_T_SIZE);
    }

    @Test
    void sigcontext() {
        pin("sizeof.sigcontext", SC_SIZE);
        pin("alignof.sigcontext", 16);
        pin("sigcontext.fault_address", SC_FAULT_ADDRESS);
        pin("sigcontext.regs", SC_REGS);
        pin("sigcontext.sp", SC_SP);
        pin("sigcontext.pc", SC_PC);
        pin("sigcontext.pstate", SC_PSTATE);
        pin("sigcontext.__reserved", SC_RESERVED);
        pin("sizeof.__reserved", RESERVED_SIZE);
        assertEquals(SC_REGS + 31 * 8, SC_SP, "regs[31] then sp, pc, pstate");
    }

    @Test
    void records() {
        pin("sizeof._aarch64_ctx", CTX_HEADER_SIZE);
        pin("_aarch64_ctx.magic", CTX_MAGIC);
        pin("_aarch64_ctx.size", CTX_SIZE);
        pin("sizeof.fpsimd_context", FPSIMD_SIZE);
        pin("fpsimd_context.fpsr", FPSIMD_FPSR);
        pin("fpsimd_context.fpcr", FPSIMD_FPCR);
        pin("fpsimd_context.vregs", FPSIMD_VREGS);
        pin("sizeof.esr_context", ESR_CONTEXT_SIZE);
        pin("esr_context.esr", ESR_ESR);
        pin("sizeof.extra_context", SignalFrameAarch64.EXTRA_CONTEXT_SIZE);
        pin("extra_context.datap", SignalFrameAarch64.EXTRA_DATAP);
        pin("extra_context.size", SignalFrameAarch64.EXTRA_SIZE);
        pin("FPSIMD_MAGIC", FPSIMD_MAGIC);
        pin("ESR_MAGIC", ESR_MAGIC);
        pin("EXTRA_MAGIC", EXTRA_MAGIC);
        pin("SVE_MAGIC", SVE_MAGIC);
        pin("ZA_MAGIC", ZA_MAGIC);
        assertEquals(0, FPSIMD_SIZE % 16, "records stay 16-aligned");
        assertEquals(0, ESR_CONTEXT_SIZE % 16);
    }

    @Test
    void siginfoAndAbi() {
        pin("sizeof.siginfo", SI_SIZE);
        pin("si.signo", SI_SIGNO);
        pin("si.errno", SI_ERRNO);
        pin("si.code", SI_CODE);
        pin("si.pid", SI_PID);
        pin("si.uid", SI_UID);
        pin("si.value", SI_VALUE);
        pin("si.tid", SI_TIMERID);
        pin("si.overrun", SI_OVERRUN);
        pin("si.addr", SI_ADDR);
        pin("SA_SIGINFO", SignalFrameAarch64.SA_SIGINFO);
        pin("SA_ONSTACK", SignalFrameAarch64.SA_ONSTACK);
        pin("SA_RESTORER", SignalFrameAarch64.SA_RESTORER);
        pin("MINSIGSTKSZ", SigAltStack.MINSIGSTKSZ);
        assertTrue(FRAME_SIZE + FRAME_RECORD_SIZE + 15 <= SigAltStack.MINSIGSTKSZ,
                "a fresh minimum-size alternate stack holds a frame");
    }

    /** Compiles and runs the probe again (skipped without aarch64-linux-gnu-gcc / qemu-aarch64-static). */
    @Test
    void probeStillPrintsThis() throws IOException, InterruptedException {
        Path src = Path.of("src/test/c/aarch64_sigframe_probe.c");
        Assumptions.assumeTrue(Files.exists(src), "probe source not found from " + Path.of("").toAbsolutePath());
        Path dir = Files.createTempDirectory("herd-a64-probe");
        Path exe = dir.resolve("probe");
        try {
            String cc = run(60, "aarch64-linux-gnu-gcc", "-static", "-O1", "-o", exe.toString(), src.toString());
            Assumptions.assumeTrue(cc != null, "no aarch64-linux-gnu-gcc");
            String out = run(30, "qemu-aarch64-static", exe.toString());
            Assumptions.assumeTrue(out != null, "no qemu-aarch64-static");
            assertEquals(PROBE, parse(out));
        } finally {
            Files.deleteIfExists(exe);
            Files.deleteIfExists(dir);
        }
    }

    /** Output of the command, null when it cannot be started; fails on a nonzero exit. */
    private static String run(int seconds, String... cmd) throws IOException, InterruptedException {
        Process p;
        try {
            p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        } catch (IOException e) {
            return null;
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(seconds, TimeUnit.SECONDS), String.join(" ", cmd) + " timed out");
        assertEquals(0, p.exitValue(), String.join(" ", cmd) + ":\n" + out);
        return out;
    }
}
