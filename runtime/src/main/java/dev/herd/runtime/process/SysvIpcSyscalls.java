package dev.herd.runtime.process;

import dev.herd.host.Errno;
import dev.herd.host.HostKernel;
import dev.herd.host.HostSyscall;
import dev.herd.memory.GuestMemory;
import dev.herd.memory.Prot;
import dev.herd.runtime.syscall.SyscallContext;
import dev.herd.runtime.syscall.SyscallTable;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * System V message queues and semaphores: kernel objects named by global ids, used through the
 * host's calls with the guest's buffers translated (x86_64 layouts: msqid64_ds 120 bytes, msginfo
 * 32, semid64_ds 104, seminfo 40, sembuf 6). Shared-memory segments are Herd's own, because an
 * attachment must be a mapping of the guest's address space: see
 * {@link dev.herd.runtime.mm.SysvSharedMemorySyscalls}.
 */
public final class SysvIpcSyscalls {
    private SysvIpcSyscalls() {}

    private static final int IPC_RMID = 0, IPC_SET = 1, IPC_STAT = 2, IPC_INFO = 3;
    private static final int MSG_STAT = 11, MSG_INFO = 12, MSG_STAT_ANY = 13;
    private static final int GETPID = 11, GETVAL = 12, GETALL = 13, GETNCNT = 14, GETZCNT = 15, SETVAL = 16,
            SETALL = 17, SEM_STAT = 18, SEM_INFO = 19, SEM_STAT_ANY = 20;
    private static final int MSQID_DS = 120, MSGINFO = 32, SEMID_DS = 104, SEMINFO = 40, SEMBUF = 6;
    /** 64-bit ABIs need no IPC_64 flag; the kernel strips it if given. */
    private static final int IPC_64 = 0x100;
    /** SEM_NSEMS offset in semid64_ds (after ipc64_perm 48, otime 8 + pad, ctime 8 + pad). */
    private static final int SEM_NSEMS = 80;
    private static final long MSGMAX_BOUND = 1L << 24;

    public static void register(SyscallTable t) {
        t.passThrough("msgget", "int hex", (ctx, key, flags, c, d, e, f) -> HostKernel.call(HostSyscall.MSGGET, key, flags));
        t.passThrough("msgsnd", "int ptr size hex", (ctx, id, msgp, size, flags, e, f) -> {
            ctx.memory().readLong(msgp); // Linux reads mtype first (EFAULT)
            if (size < 0 || size > MSGMAX_BOUND) return -Errno.EINVAL;
            return HostKernel.call(HostSyscall.MSGSND, id, ctx.memory().hostPointer(msgp, 8 + size), size, flags);
        });
        t.passThrough("msgrcv", "int ptr size int hex", (ctx, id, msgp, size, type, flags, f) -> {
            if (size < 0 || size > MSGMAX_BOUND) return -Errno.EINVAL;
            return HostKernel.call(HostSyscall.MSGRCV, id, ctx.memory().hostPointer(msgp, 8 + size), size, type, flags);
        });
        t.passThrough("msgctl", "int int ptr", (ctx, id, cmd, buf, d, e, f) -> {
            int c = (int) cmd & ~IPC_64;
            GuestMemory m = ctx.memory();
            return switch (c) {
                case IPC_RMID -> HostKernel.call(HostSyscall.MSGCTL, id, c, 0);
                case IPC_SET -> HostKernel.call(HostSyscall.MSGCTL, id, c, m.hostPointer(buf, MSQID_DS));
                case IPC_STAT, MSG_STAT, MSG_STAT_ANY -> HostKernel.call(HostSyscall.MSGCTL, id, c, m.hostPointer(buf, MSQID_DS));
                case IPC_INFO, MSG_INFO -> HostKernel.call(HostSyscall.MSGCTL, id, c, m.hostPointer(buf, MSGINFO));
                default -> -Errno.EINVAL;
            };
        });
        t.passThrough("semget", "int int hex", (ctx, key, n, flags, d, e, f) -> HostKernel.call(HostSyscall.SEMGET, key, n, flags));
        t.passThrough("semop", "int ptr size", (ctx, id, sops, n, d, e, f) -> semtimedop(ctx, id, sops, n, 0));
        t.passThrough("semtimedop", "int ptr size ptr", (ctx, id, sops, n, timeout, e, f) -> semtimedop(ctx, id, sops, n, timeout));
        t.passThrough("semctl", "int int int hex", SysvIpcSyscalls::semctl);
    }

    private static long semtimedop(SyscallContext ctx, long id, long sops, long n, long timeout) {
        if (timeout != 0) ctx.memory().read(timeout, 16); // Linux copies the timeout in first
        if (n <= 0 || n > 4096) return n == 0 ? -Errno.EINVAL : -Errno.E2BIG; // SEMOPM bound
        GuestMemory m = ctx.memory();
        return HostKernel.call(HostSyscall.SEMTIMEDOP, id, m.hostPointer(sops, n * SEMBUF), n,
                timeout == 0 ? 0 : m.hostPointer(timeout, 16));
    }

    private static long semctl(SyscallContext ctx, long id, long num, long cmd, long arg, long e, long f) {
        int c = (int) cmd & ~IPC_64;
        GuestMemory m = ctx.memory();
        return switch (c) {
            case IPC_RMID, GETPID, GETVAL, GETNCNT, GETZCNT, SETVAL -> HostKernel.call(HostSyscall.SEMCTL, id, num, c, arg);
            // IPC_SET reads only sem_perm, which every architecture places first.
            case IPC_SET -> HostKernel.call(HostSyscall.SEMCTL, id, num, c,
                    m.hostPointer(arg, ctx.process().arch().abi().semidSize()));
            case IPC_STAT, SEM_STAT, SEM_STAT_ANY -> semStat(ctx, id, num, c, arg);
            case IPC_INFO, SEM_INFO -> HostKernel.call(HostSyscall.SEMCTL, id, num, c, m.hostPointer(arg, SEMINFO));
            case GETALL, SETALL -> {
                long nsems = semCount(id);
                if (nsems < 0) yield nsems;
                yield HostKernel.call(HostSyscall.SEMCTL, id, num, c,
                        m.hostPointer(arg, Math.max(1, nsems) * 2));
            }
            default -> -Errno.EINVAL;
        };
    }

    /** semid64_ds into the guest's layout: directly when it is the host's, else converted. */
    private static long semStat(SyscallContext ctx, long id, long num, int c, long arg) {
        dev.herd.runtime.arch.GuestAbi abi = ctx.process().arch().abi();
        GuestMemory m = ctx.memory();
        if (abi.semidSize() == SEMID_DS) return HostKernel.call(HostSyscall.SEMCTL, id, num, c, m.hostPointer(arg, SEMID_DS));
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment ds = arena.allocate(SEMID_DS, 8);
            long r = HostKernel.call(HostSyscall.SEMCTL, id, num, c, ds.address());
            if (r < 0) return r;
            m.write(arg, abi.semidFromHost(ds.toArray(ValueLayout.JAVA_BYTE)));
            return r;
        }
    }

    /** The number of semaphores in a set (for GETALL/SETALL's array), or -errno. */
    private static long semCount(long id) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment ds = arena.allocate(SEMID_DS, 8);
            long r = HostKernel.call(HostSyscall.SEMCTL, id, 0, IPC_STAT, ds.address());
            return r < 0 ? r : ds.get(ValueLayout.JAVA_LONG, SEM_NSEMS);
        }
    }
}
