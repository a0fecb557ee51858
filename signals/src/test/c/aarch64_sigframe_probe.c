/*
 * Layout probe for SignalFrameLayoutAarch64Test: prints offsetof/sizeof of the arm64 kernel uapi
 * signal structures (asm/sigcontext.h, asm/ucontext.h, asm/siginfo.h, asm/signal.h), one
 * "name value" line each. The test pins SignalFrameAarch64's constants to these numbers, and
 * re-runs this program when the cross toolchain is installed:
 *
 *   aarch64-linux-gnu-gcc -static -O1 -o /tmp/probe signals/src/test/c/aarch64_sigframe_probe.c
 *   qemu-aarch64-static /tmp/probe
 *
 * Only uapi headers are used (no glibc <signal.h>, whose sigset_t is 128 bytes): the kernel's
 * frame is built from these. struct rt_sigframe and struct frame_record are private to
 * arch/arm64/kernel/signal.c; they are declared here exactly as the kernel declares them.
 */
#include <stdio.h>
#include <stddef.h>
#include <asm/signal.h>
#include <asm/sigcontext.h>
#include <asm/ucontext.h>
#include <asm/siginfo.h>

struct rt_sigframe { struct siginfo info; struct ucontext uc; };
struct frame_record { unsigned long long fp, lr; };

#define P(name, v) printf("%s %ld\n", name, (long)(v))
#define O(T, f) P(#T "." #f, offsetof(struct T, f))

int main(void) {
  P("sizeof.rt_sigframe", sizeof(struct rt_sigframe));
  O(rt_sigframe, info); O(rt_sigframe, uc);
  P("sizeof.frame_record", sizeof(struct frame_record));
  P("rt_sigframe.uc.uc_mcontext.__reserved", offsetof(struct rt_sigframe, uc.uc_mcontext.__reserved));

  P("sizeof.ucontext", sizeof(struct ucontext));
  O(ucontext, uc_flags); O(ucontext, uc_link); O(ucontext, uc_stack); O(ucontext, uc_sigmask);
  O(ucontext, __unused); O(ucontext, uc_mcontext);
  P("sizeof.uc_sigmask", sizeof(((struct ucontext *)0)->uc_sigmask));
  P("stack.ss_sp", offsetof(stack_t, ss_sp)); P("stack.ss_flags", offsetof(stack_t, ss_flags));
  P("stack.ss_size", offsetof(stack_t, ss_size)); P("sizeof.stack", sizeof(stack_t));

  P("sizeof.sigcontext", sizeof(struct sigcontext));
  P("alignof.sigcontext", __alignof__(struct sigcontext));
  O(sigcontext, fault_address); O(sigcontext, regs); O(sigcontext, sp); O(sigcontext, pc);
  O(sigcontext, pstate); O(sigcontext, __reserved);
  P("sizeof.__reserved", sizeof(((struct sigcontext *)0)->__reserved));

  P("sizeof._aarch64_ctx", sizeof(struct _aarch64_ctx));
  O(_aarch64_ctx, magic); O(_aarch64_ctx, size);
  P("sizeof.fpsimd_context", sizeof(struct fpsimd_context));
  O(fpsimd_context, head); O(fpsimd_context, fpsr); O(fpsimd_context, fpcr); O(fpsimd_context, vregs);
  P("sizeof.esr_context", sizeof(struct esr_context));
  O(esr_context, head); O(esr_context, esr);
  P("sizeof.extra_context", sizeof(struct extra_context));
  O(extra_context, datap); O(extra_context, size);
  P("FPSIMD_MAGIC", FPSIMD_MAGIC); P("ESR_MAGIC", ESR_MAGIC); P("EXTRA_MAGIC", EXTRA_MAGIC);
  P("SVE_MAGIC", SVE_MAGIC); P("ZA_MAGIC", ZA_MAGIC);

  P("sizeof.siginfo", sizeof(siginfo_t));
  P("si.signo", offsetof(siginfo_t, si_signo)); P("si.errno", offsetof(siginfo_t, si_errno));
  P("si.code", offsetof(siginfo_t, si_code)); P("si.pid", offsetof(siginfo_t, si_pid));
  P("si.uid", offsetof(siginfo_t, si_uid)); P("si.value", offsetof(siginfo_t, si_value));
  P("si.tid", offsetof(siginfo_t, si_tid)); P("si.overrun", offsetof(siginfo_t, si_overrun));
  P("si.addr", offsetof(siginfo_t, si_addr));

  P("SA_SIGINFO", SA_SIGINFO); P("SA_ONSTACK", SA_ONSTACK); P("SA_RESTORER", SA_RESTORER);
  P("MINSIGSTKSZ", MINSIGSTKSZ); P("SIGSTKSZ", SIGSTKSZ);
  return 0;
}
