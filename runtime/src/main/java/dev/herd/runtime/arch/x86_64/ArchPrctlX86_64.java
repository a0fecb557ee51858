package dev.herd.runtime.arch.x86_64;

import dev.herd.host.Errno;
import dev.herd.runtime.syscall.SyscallContext;
import dev.herd.runtime.syscall.SyscallTable;
import dev.herd.unicorn.x86_64.X86Reg;

/** arch_prctl(2), which only x86_64 has: the FS and GS bases, CPUID faulting, xstate permissions. */
public final class ArchPrctlX86_64 {
    private ArchPrctlX86_64() {}

    private static final int ARCH_SET_GS = 0x1001, ARCH_SET_FS = 0x1002, ARCH_GET_FS = 0x1003, ARCH_GET_GS = 0x1004;
    private static final int ARCH_GET_CPUID = 0x1011, ARCH_SET_CPUID = 0x1012;
    private static final int ARCH_GET_XCOMP_SUPP = 0x1021, ARCH_GET_XCOMP_PERM = 0x1022, ARCH_REQ_XCOMP_PERM = 0x1023,
            ARCH_GET_XCOMP_GUEST_PERM = 0x1024, ARCH_REQ_XCOMP_GUEST_PERM = 0x1025;
    /** x87 and SSE: the xstate components of the emulated CPU, which has no XSAVE (Linux's legacy set). */
    private static final long XFEATURES_FP_SSE = 0x3;
    /** Linux 6.18's XFEATURE_MAX: larger component numbers are EINVAL, the rest EOPNOTSUPP (no AMX). */
    private static final int XFEATURE_MAX = 20;

    /** Adds x86_64's own calls to {@code t}. */
    public static void register(SyscallTable t) {
        t.define("arch_prctl", "hex ptr", ArchPrctlX86_64::archPrctl);
    }

    private static long archPrctl(SyscallContext ctx, long code, long addr, long c, long d, long e, long f) {
        var thread = ctx.thread();
        var regs = thread.engine();
        switch ((int) code) {
            case ARCH_SET_FS -> {
                if (addr < 0) return -Errno.EPERM; // non-canonical
                thread.arch().setThreadPointer(regs, addr);
                return 0;
            }
            case ARCH_GET_FS -> {
                ctx.memory().writeLong(addr, regs.regRead(X86Reg.FS_BASE));
                return 0;
            }
            case ARCH_SET_GS -> {
                if (addr < 0) return -Errno.EPERM;
                regs.regWrite(X86Reg.GS_BASE, addr);
                return 0;
            }
            case ARCH_GET_GS -> {
                ctx.memory().writeLong(addr, regs.regRead(X86Reg.GS_BASE));
                return 0;
            }
            // CPUID is never made to fault: the answer of a kernel on a CPU without CPUID faulting.
            case ARCH_GET_CPUID -> {
                return 1;
            }
            case ARCH_SET_CPUID -> {
                return -Errno.ENODEV;
            }
            // The xstate permission calls (AMX) as Linux answers them for a CPU without XSAVE: the
            // supported and permitted sets are x87|SSE, and no component can be requested.
            case ARCH_GET_XCOMP_SUPP, ARCH_GET_XCOMP_PERM, ARCH_GET_XCOMP_GUEST_PERM -> {
                ctx.memory().writeLong(addr, XFEATURES_FP_SSE);
                return 0;
            }
            case ARCH_REQ_XCOMP_PERM, ARCH_REQ_XCOMP_GUEST_PERM -> {
                return Long.compareUnsigned(addr, XFEATURE_MAX) >= 0 ? -Errno.EINVAL : -Errno.EOPNOTSUPP;
            }
            default -> {
                return -Errno.EINVAL;
            }
        }
    }
}
