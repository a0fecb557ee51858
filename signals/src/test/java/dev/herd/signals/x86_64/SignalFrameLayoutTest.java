package dev.herd.signals.x86_64;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static dev.herd.signals.x86_64.SignalFrameX86_64.*;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Pins every offset {@link SignalFrameX86_64} uses against the kernel uapi headers: a C probe
 * (compiled with the machine's gcc against asm/ucontext.h, asm/sigcontext.h, asm/siginfo.h)
 * prints offsetof/sizeof of a {@code struct rt_sigframe} declared exactly as
 * arch/x86/include/asm/sigframe.h does.
 */
class SignalFrameLayoutTest {
    private static final String PROBE = """
            #include <stdio.h>
            #include <stddef.h>
            #include <asm/signal.h>
            #include <asm/sigcontext.h>
            #include <asm/ucontext.h>
            #include <asm/siginfo.h>
            /* arch/x86/include/asm/sigframe.h (not uapi): */
            struct rt_sigframe { char *pretcode; struct ucontext uc; struct siginfo info; };
            #define P(name, v) printf("%s %ld\\n", name, (long)(v))
            #define O(T, f) P(#T "." #f, offsetof(struct T, f))
            int main(void) {
              P("sizeof.rt_sigframe", sizeof(struct rt_sigframe));
              O(rt_sigframe, pretcode); O(rt_sigframe, uc); O(rt_sigframe, info);
              P("sizeof.ucontext", sizeof(struct ucontext));
              O(ucontext, uc_flags); O(ucontext, uc_link); O(ucontext, uc_stack); O(ucontext, uc_mcontext);
              O(ucontext, uc_sigmask);
              P("sizeof.uc_sigmask", sizeof(((struct ucontext *)0)->uc_sigmask));
              P("stack.ss_sp", offsetof(stack_t, ss_sp)); P("stack.ss_flags", offsetof(stack_t, ss_flags));
              P("stack.ss_size", offsetof(stack_t, ss_size)); P("sizeof.stack", sizeof(stack_t));
              P("sizeof.sigcontext", sizeof(struct sigcontext));
              O(sigcontext, r8); O(sigcontext, r9); O(sigcontext, r10); O(sigcontext, r11);
              O(sigcontext, r12); O(sigcontext, r13); O(sigcontext, r14); O(sigcontext, r15);
              O(sigcontext, rdi); O(sigcontext, rsi); O(sigcontext, rbp); O(sigcontext, rbx);
              O(sigcontext, rdx); O(sigcontext, rax); O(sigcontext, rcx); O(sigcontext, rsp);
              O(sigcontext, rip); O(sigcontext, eflags); O(sigcontext, cs); O(sigcontext, gs);
              O(sigcontext, fs); O(sigcontext, ss); O(sigcontext, err); O(sigcontext, trapno);
              O(sigcontext, oldmask); O(sigcontext, cr2); O(sigcontext, fpstate); O(sigcontext, reserved1);
              P("sizeof.fpstate", sizeof(struct _fpstate_64));
              O(_fpstate_64, cwd); O(_fpstate_64, swd); O(_fpstate_64, twd); O(_fpstate_64, fop);
              O(_fpstate_64, rip); O(_fpstate_64, rdp); O(_fpstate_64, mxcsr); O(_fpstate_64, mxcsr_mask);
              O(_fpstate_64, st_space); O(_fpstate_64, xmm_space); O(_fpstate_64, reserved2);
              O(_fpstate_64, sw_reserved);
              P("sizeof.siginfo", sizeof(siginfo_t));
              P("si.signo", offsetof(siginfo_t, si_signo)); P("si.errno", offsetof(siginfo_t, si_errno));
              P("si.code", offsetof(siginfo_t, si_code)); P("si.pid", offsetof(siginfo_t, si_pid));
              P("si.uid", offsetof(siginfo_t, si_uid)); P("si.value", offsetof(siginfo_t, si_value));
              P("si.tid", offsetof(siginfo_t, si_tid)); P("si.overrun", offsetof(siginfo_t, si_overrun));
              P("si.addr", offsetof(siginfo_t, si_addr));
              P("UC_FP_XSTATE", UC_FP_XSTATE); P("UC_SIGCONTEXT_SS", UC_SIGCONTEXT_SS);
              P("UC_STRICT_RESTORE_SS", UC_STRICT_RESTORE_SS);
              return 0;
            }
            """;

    private static Map<String, Long> probe;

    @BeforeAll
    static void runProbe() throws IOException, InterruptedException {
        Path dir = Files.createTempDirectory("herd-sigframe-probe");
        try {
            Path src = dir.resolve("probe.c");
            Path exe = dir.resolve("probe");
            Files.writeString(src, PROBE);
            Process cc;
            try {
                cc = new ProcessBuilder("gcc", "-o", exe.toString(), src.toString()).redirectErrorStream(true).start();
            } catch (IOException e) {
                Assumptions.abort("no gcc: " + e.getMessage());
                return;
            }
            String ccOut = new String(cc.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            cc.waitFor(60, TimeUnit.SECONDS);
            assertEquals(0, cc.exitValue(), "probe compile failed:\n" + ccOut);
            Process run = new ProcessBuilder(exe.toString()).redirectErrorStream(true).start();
            String out = new String(run.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            run.waitFor(10, TimeUnit.SECONDS);
            assertEquals(0, run.exitValue(), out);
            probe = new HashMap<>();
            for (String line : out.split("\n")) {
                if (line.isBlank()) continue;
                String[] kv = line.trim().split(" ");
                probe.put(kv[0], Long.parseLong(kv[1]));
            }
        } finally {
            try (var s = Files.list(dir)) {
                for (Path p : s.toList()) Files.deleteIfExists(p);
            }
            Files.deleteIfExists(dir);
        }
    }

    private static void pin(String name, long expected) {
        Long actual = probe.get(name);
        assertEquals(Long.valueOf(expected), actual, name);
    }

    @Test
    void rtSigframe() {
        pin("sizeof.rt_sigframe", FRAME_SIZE);
        pin("rt_sigframe.pretcode", OFF_PRETCODE);
        pin("rt_sigframe.uc", OFF_UC);
        pin("rt_sigframe.info", OFF_INFO);
    }

    @Test
    void ucontextAndStack() {
        pin("sizeof.ucontext", UC_SIZE);
        pin("ucontext.uc_flags", UC_FLAGS);
        pin("ucontext.uc_link", UC_LINK);
        pin("ucontext.uc_stack", UC_STACK);
        pin("ucontext.uc_mcontext", UC_MCONTEXT);
        pin("ucontext.uc_sigmask", UC_SIGMASK);
        pin("sizeof.uc_sigmask", 8);
        pin("stack.ss_sp", SS_SP);
        pin("stack.ss_flags", SS_FLAGS);
        pin("stack.ss_size", SS_SIZE);
        pin("sizeof.stack", 24);
        pin("UC_FP_XSTATE", UC_FP_XSTATE);
        pin("UC_SIGCONTEXT_SS", UC_SIGCONTEXT_SS);
        pin("UC_STRICT_RESTORE_SS", UC_STRICT_RESTORE_SS);
    }

    @Test
    void sigcontext() {
        pin("sizeof.sigcontext", SC_SIZE);
        String[] gregs = {"r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", "rdi", "rsi", "rbp", "rbx", "rdx",
                "rax", "rcx", "rsp", "rip"};
        int[] offs = {SC_R8, SC_R9, SC_R10, SC_R11, SC_R12, SC_R13, SC_R14, SC_R15, SC_RDI, SC_RSI, SC_RBP, SC_RBX,
                SC_RDX, SC_RAX, SC_RCX, SC_RSP, SC_RIP};
        for (int i = 0; i < gregs.length; i++) {
            pin("sigcontext." + gregs[i], offs[i]);
            assertEquals(SC_R8 + 8 * i, offs[i], "the frame code relies on consecutive gregs: " + gregs[i]);
        }
        pin("sigcontext.eflags", SC_EFLAGS);
        pin("sigcontext.cs", SC_CS);
        pin("sigcontext.gs", SC_GS);
        pin("sigcontext.fs", SC_FS);
        pin("sigcontext.ss", SC_SS);
        pin("sigcontext.err", SC_ERR);
        pin("sigcontext.trapno", SC_TRAPNO);
        pin("sigcontext.oldmask", SC_OLDMASK);
        pin("sigcontext.cr2", SC_CR2);
        pin("sigcontext.fpstate", SC_FPSTATE);
        pin("sigcontext.reserved1", SC_RESERVED1);
    }

    @Test
    void fxsaveImage() {
        pin("sizeof.fpstate", FX_SIZE);
        pin("_fpstate_64.cwd", FX_CWD);
        pin("_fpstate_64.swd", FX_SWD);
        pin("_fpstate_64.twd", FX_TWD);
        pin("_fpstate_64.fop", FX_FOP);
        pin("_fpstate_64.rip", FX_RIP);
        pin("_fpstate_64.rdp", FX_RDP);
        pin("_fpstate_64.mxcsr", FX_MXCSR);
        pin("_fpstate_64.mxcsr_mask", FX_MXCSR_MASK);
        pin("_fpstate_64.st_space", FX_ST);
        pin("_fpstate_64.xmm_space", FX_XMM);
        pin("_fpstate_64.reserved2", FX_RESERVED2);
        pin("_fpstate_64.sw_reserved", FX_SW_RESERVED);
    }

    @Test
    void siginfo() {
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
    }
}
