package dev.herd.runtime.mm;

import dev.herd.host.Errno;
import dev.herd.host.HostKernel;
import dev.herd.host.HostSyscall;
import dev.herd.memory.GuestAddressSpace;
import dev.herd.memory.Mapping;
import dev.herd.runtime.syscall.SyscallContext;
import dev.herd.runtime.syscall.SyscallTable;

import java.util.List;

/**
 * Memory locking. Guest memory is host memory (one shared mapping at {@code hostBase + g}), so
 * locking a guest range is the host's mlock of its translation, after the kernel's own checks
 * against the guest's mappings (ENOMEM for a hole). mlockall locks what the guest has mapped
 * (MCL_CURRENT) — not the JVM — and munlockall unlocks it; MCL_FUTURE is accepted but not applied
 * to later mappings (documented in docs/SYSCALLS.md).
 */
public final class MemoryLockSyscalls {
    private MemoryLockSyscalls() {}

    private static final long MCL_CURRENT = 1, MCL_FUTURE = 2, MCL_ONFAULT = 4, MLOCK_ONFAULT = 1;

    public static void register(SyscallTable t) {
        t.passThrough("mlock", "ptr size", (ctx, addr, len, c, d, e, f) -> lock(ctx, addr, len, 0, true));
        t.passThrough("mlock2", "ptr size hex", (ctx, addr, len, flags, d, e, f) -> {
            if ((flags & ~MLOCK_ONFAULT) != 0) return -Errno.EINVAL;
            return lock(ctx, addr, len, flags, true);
        });
        t.passThrough("munlock", "ptr size", (ctx, addr, len, c, d, e, f) -> lock(ctx, addr, len, 0, false));
        t.define("mlockall", "hex", (ctx, flags, b, c, d, e, f) -> {
            if (flags == 0 || (flags & ~(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT)) != 0 || flags == MCL_ONFAULT) {
                return -Errno.EINVAL;
            }
            if ((flags & MCL_CURRENT) == 0) return 0;
            return eachMapping(ctx, true, (flags & MCL_ONFAULT) != 0 ? MLOCK_ONFAULT : 0);
        });
        t.define("munlockall", "", (ctx, a, b, c, d, e, f) -> eachMapping(ctx, false, 0));
    }

    private static long lock(SyscallContext ctx, long addr, long len, long flags, boolean lock) {
        long start = addr & -GuestAddressSpace.PAGE;
        long end = addr + len + GuestAddressSpace.PAGE - 1 & -GuestAddressSpace.PAGE;
        if (len == 0) return 0;
        GuestAddressSpace as = ctx.process().addressSpace();
        if (end < start || Long.compareUnsigned(end, as.size()) > 0) return -Errno.ENOMEM;
        // every page must belong to a mapping, as mlock's VMA walk requires
        long at = start;
        for (Mapping m : as.mappings()) {
            if (m.end() <= at) continue;
            if (m.start() > at) break;
            at = m.end();
            if (at >= end) break;
        }
        if (at < end) return -Errno.ENOMEM;
        long host = as.hostBase() + start;
        if (!lock) return HostKernel.call(HostSyscall.MUNLOCK, host, end - start);
        return HostKernel.call(HostSyscall.MLOCK2, host, end - start, flags);
    }

    private static long eachMapping(SyscallContext ctx, boolean lock, long flags) {
        GuestAddressSpace as = ctx.process().addressSpace();
        List<Mapping> all = as.mappings();
        for (Mapping m : all) {
            long r = lock ? HostKernel.call(HostSyscall.MLOCK2, as.hostBase() + m.start(), m.end() - m.start(), flags)
                    : HostKernel.call(HostSyscall.MUNLOCK, as.hostBase() + m.start(), m.end() - m.start());
            if (r < 0 && r != -Errno.ENOMEM) return r;
            if (r < 0) return -Errno.ENOMEM;
        }
        return 0;
    }
}
