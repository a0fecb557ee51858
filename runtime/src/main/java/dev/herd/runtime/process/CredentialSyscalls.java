package dev.herd.runtime.process;

import dev.herd.host.Errno;
import dev.herd.host.HostKernel;
import dev.herd.host.HostSyscall;
import dev.herd.memory.GuestMemory;
import dev.herd.memory.Prot;
import dev.herd.runtime.syscall.SyscallTable;

/**
 * Changing credentials: the set*id family, setgroups, capget/capset. Each guest thread is a host
 * thread of its own and the kernel keeps credentials per thread, so these are the host's calls on
 * the calling thread, as QEMU linux-user makes them; glibc's set*id wrappers broadcast the change
 * to every guest thread themselves (SIGSETXID), and each of them makes the call on its own host
 * thread. Files Herd opens for a guest thread are opened on that thread, with its credentials.
 */
public final class CredentialSyscalls {
    private CredentialSyscalls() {}

    private static final int LINUX_CAPABILITY_VERSION_1 = 0x19980330;
    private static final int CAP_DATA = 12, CAP_HEADER = 8;

    public static void register(SyscallTable t) {
        t.passThrough("setuid", "int", (ctx, id, b, c, d, e, f) -> HostKernel.call(HostSyscall.SETUID, id));
        t.passThrough("setgid", "int", (ctx, id, b, c, d, e, f) -> HostKernel.call(HostSyscall.SETGID, id));
        t.passThrough("setreuid", "int int", (ctx, r, e, c, d, x, f) -> HostKernel.call(HostSyscall.SETREUID, r, e));
        t.passThrough("setregid", "int int", (ctx, r, e, c, d, x, f) -> HostKernel.call(HostSyscall.SETREGID, r, e));
        t.passThrough("setresuid", "int int int", (ctx, r, e, s, d, x, f) -> HostKernel.call(HostSyscall.SETRESUID, r, e, s));
        t.passThrough("setresgid", "int int int", (ctx, r, e, s, d, x, f) -> HostKernel.call(HostSyscall.SETRESGID, r, e, s));
        t.passThrough("setfsuid", "int", (ctx, id, b, c, d, e, f) -> HostKernel.call(HostSyscall.SETFSUID, id));
        t.passThrough("setfsgid", "int", (ctx, id, b, c, d, e, f) -> HostKernel.call(HostSyscall.SETFSGID, id));
        t.passThrough("setgroups", "int ptr", (ctx, size, list, c, d, e, f) -> {
            if (size < 0 || size > 65536) return -Errno.EINVAL; // NGROUPS_MAX
            return HostKernel.call(HostSyscall.SETGROUPS, size,
                    size == 0 ? 0 : ctx.memory().hostPointer(list, size * 4L));
        });
        t.passThrough("capget", "ptr ptr", (ctx, hdr, data, c, d, e, f) -> {
            GuestMemory m = ctx.memory();
            long h = m.hostPointer(hdr, CAP_HEADER);
            return HostKernel.call(HostSyscall.CAPGET, h, data == 0 ? 0 : m.hostPointer(data, capDataSize(m, hdr)));
        });
        t.passThrough("capset", "ptr ptr", (ctx, hdr, data, c, d, e, f) -> {
            GuestMemory m = ctx.memory();
            long h = m.hostPointer(hdr, CAP_HEADER);
            return HostKernel.call(HostSyscall.CAPSET, h, m.hostPointer(data, capDataSize(m, hdr)));
        });
    }

    /** Version 1 has one 32-bit capability set triple, versions 2 and 3 two; unknown: the kernel says EINVAL. */
    private static long capDataSize(GuestMemory m, long hdr) {
        return m.readInt(hdr) == LINUX_CAPABILITY_VERSION_1 ? CAP_DATA : 2L * CAP_DATA;
    }
}
