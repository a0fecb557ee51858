package dev.herd.runtime.mm;

import dev.herd.host.Errno;
import dev.herd.host.HostMm;
import dev.herd.memory.GuestAddressSpace;
import dev.herd.memory.MapFlags;
import dev.herd.memory.Mapping;
import dev.herd.memory.Prot;
import dev.herd.threads.atomics.AtomicSites;
import dev.herd.runtime.syscall.SyscallContext;
import dev.herd.runtime.syscall.SyscallTable;

/**
 * Memory syscalls: all semantics live in {@link GuestAddressSpace}; this layer translates guest fds
 * and arguments. The calling engine picks the change up before its next guest instruction
 * (the thread compares versions after every syscall).
 */
public final class MemorySyscalls {
    private MemorySyscalls() {}

    private static final int MADV_DONTNEED = 4, MADV_FREE = 8, MADV_REMOVE = 9;
    private static final long PAGE = 4096;

    public static void register(SyscallTable t) {
        t.define("mmap", "ptr size prot mapflags fd hex", MemorySyscalls::mmap);
        t.define("munmap", "ptr size", (ctx, addr, len, c, d, e, f) -> {
            unmap(ctx, addr, len);
            return 0;
        });
        t.define("mprotect", "ptr size prot", (ctx, addr, len, prot, d, e, f) -> {
            try {
                space(ctx).mprotect(addr, len, (int) prot);
            } finally {
                // Code that just became executable is scanned before any engine can run it (also
                // after a failure: Linux, and Herd, change the mapped prefix before a hole).
                if ((prot & Prot.EXEC) != 0 && len != 0) scanExecutable(ctx, addr, addr + pageUp(len));
                publish(ctx);
            }
            return 0;
        });
        t.define("brk", "ptr", (ctx, addr, b, c, d, e, f) -> {
            long before = space(ctx).brk(0); // brk(0) only reads
            // growth commits memory: refused as Linux's overcommit check refuses it (brk stays)
            if (addr > before && CommitLimit.refuses(addr - before)) return before;
            long r = space(ctx).brk(addr);
            if (r < before) publish(ctx); // growth only adds addresses: see publish
            return r;
        });
        t.define("mremap", "ptr size size hex ptr", (ctx, old, oldLen, newLen, flags, newAddr, f) -> {
            long r;
            try {
                r = space(ctx).mremap(old, oldLen, newLen, (int) flags, newAddr);
                if (r != old) atomics(ctx).forget(old, old + pageUp(oldLen));
                scanExecutable(ctx, r, r + pageUp(newLen));
            } finally {
                publish(ctx);
            }
            return r;
        });
        t.define("madvise", "ptr size int", MemorySyscalls::madvise);
        t.define("mincore", "ptr size ptr", MemorySyscalls::mincore);
        t.define("msync", "ptr size hex", (ctx, addr, len, flags, d, e, f) -> {
            // Shared file mappings are host MAP_SHARED mappings of the file itself, so the page cache
            // already holds the guest's writes; what remains is validating like Linux.
            if ((addr & (PAGE - 1)) != 0 || (flags & ~7) != 0 || (flags & 5) == 5) return -Errno.EINVAL;
            requireMapped(ctx, addr, len);
            return 0;
        });
    }

    private static GuestAddressSpace space(SyscallContext ctx) { return ctx.process().addressSpace(); }

    private static long mmap(SyscallContext ctx, long addr, long len, long prot, long flags, long fd, long off) {
        int hostFd = -1;
        if ((flags & MapFlags.ANONYMOUS) == 0) hostFd = ctx.process().fds().get((int) fd);
        String name = hostFd < 0 ? null : ctx.process().paths().guestPathOf(hostFd);
        return map(ctx, addr, len, prot, flags, hostFd, off, name);
    }

    /** munmap, also System V shmdt's. */
    public static void unmap(SyscallContext ctx, long addr, long len) {
        try {
            space(ctx).munmap(addr, len);
            // Only after a munmap that happened: a refused one (EINVAL) left the code, and its
            // patched atomic sites, in place.
            atomics(ctx).forget(addr, addr + pageUp(len));
        } finally {
            publish(ctx);
        }
    }

    /** mmap of a host fd (or anonymous memory: hostFd -1), shown as name; also System V shmat's path. */
    public static long map(SyscallContext ctx, long addr, long len, long prot, long flags, int hostFd, long off, String name) {
        // Linux accounts private writable mappings and shared anonymous memory (accountable_mapping,
        // shmem), not MAP_NORESERVE ones unless overcommit is strict.
        boolean privateMap = (flags & MapFlags.TYPE) == MapFlags.PRIVATE;
        boolean accounted = privateMap ? (prot & Prot.WRITE) != 0 : (flags & MapFlags.ANONYMOUS) != 0;
        if (accounted && ((flags & MapFlags.NORESERVE) == 0 || CommitLimit.overcommitMode() == 2)
                && len > 0 && CommitLimit.refuses(len)) {
            return -dev.herd.host.Errno.ENOMEM;
        }
        // Without MAP_FIXED (or with MAP_FIXED_NOREPLACE, or over nothing) a mapping only adds
        // addresses; MAP_FIXED over existing mappings replaces them, which is a reduction.
        boolean replaces = (flags & MapFlags.FIXED) != 0 && (flags & MapFlags.FIXED_NOREPLACE) == 0
                && len > 0 && addr + pageUp(len) > addr && !space(ctx).mappingsIn(addr, addr + pageUp(len)).isEmpty();
        long r = space(ctx).mmap(addr, len, (int) prot, (int) flags, hostFd, off, name);
        atomics(ctx).forget(r, r + pageUp(len));
        if ((prot & Prot.EXEC) != 0) atomics(ctx).scan(r, r + pageUp(len));
        if (replaces) publish(ctx);
        return r;
    }

    /**
     * The change is in force for every thread before this syscall returns: other engines sync (or
     * are outside guest code and will before they re-enter), then host-side reductions apply.
     * Needed for every change that removes or lowers access, and for protection increases (another
     * engine's stale region would refuse an access the guest may now make). A change that only adds
     * addresses (a fresh mmap, brk growth) skips it: no engine has regions there, and the first
     * touch maps the newest plan's region (EngineMemoryView.mapOnDemand, which also replaces a stale
     * neighbour region the new plan merged it with); host protection was raised before publishing.
     */
    private static void publish(SyscallContext ctx) {
        ctx.process().threads().awaitCoherent(ctx.thread(), space(ctx).version());
    }

    private static AtomicSites atomics(SyscallContext ctx) { return ctx.thread().environment().atomics(); }

    /**
     * Scans the executable mappings within [start, end) for atomic sites. Mapping by mapping, never
     * page by page: the range may be a hostile length over a mostly empty address space. Also an
     * execve's new image (InProcessExec), over the whole space.
     */
    public static void scanExecutable(SyscallContext ctx, long start, long end) {
        if (end < start) end = Long.MAX_VALUE; // a length that wrapped: everything above start
        for (Mapping m : space(ctx).mappingsIn(start, end)) {
            if ((m.prot() & Prot.EXEC) != 0) atomics(ctx).scan(Math.max(start, m.start()), Math.min(end, m.end()));
        }
    }

    private static long pageUp(long len) { return (len + PAGE - 1) & -PAGE; }

    private static long madvise(SyscallContext ctx, long addr, long len, long advice, long d, long e, long f) {
        if ((addr & (PAGE - 1)) != 0 || len < 0) return -Errno.EINVAL;
        if (len == 0) return 0;
        requireMapped(ctx, addr, len);
        if (advice == MADV_DONTNEED || advice == MADV_FREE || advice == MADV_REMOVE) {
            discardPrivateAnonymous(ctx, addr, addr + ((len + PAGE - 1) & -PAGE));
        }
        return 0;
    }

    /**
     * MADV_DONTNEED on private anonymous memory: it reads back as zero afterwards, as on Linux.
     * Shared mappings keep their contents (as on Linux); private file mappings keep the guest's
     * modified bytes instead of reverting to the file's (a documented deviation).
     */
    private static void discardPrivateAnonymous(SyscallContext ctx, long start, long end) {
        long at = start;
        while (at < end) {
            Mapping m = space(ctx).find(at);
            long stop = Math.min(end, m.end());
            boolean privateAnon = (m.flags() & MapFlags.ANONYMOUS) != 0 && (m.flags() & MapFlags.TYPE) == MapFlags.PRIVATE;
            // Anonymous memory is the memfd at offset == guest address: punching a hole drops the
            // pages (they read back as zero) without touching them, as the kernel does.
            if (privateAnon) {
                HostMm.fallocate(space(ctx).memfd(), HostMm.FALLOC_FL_PUNCH_HOLE | HostMm.FALLOC_FL_KEEP_SIZE, at, stop - at);
            }
            at = stop;
        }
    }

    /**
     * mincore: the guest's pages are the host's pages at hostBase+addr (memfd or file mappings the
     * host mirrors), so the host kernel answers residency for them; Herd checks what Linux checks
     * first (alignment, mapped range, the vector).
     */
    private static long mincore(SyscallContext ctx, long addr, long len, long vec, long d, long e, long f) {
        // Linux: the range's access_ok (ENOMEM), the vector's access_ok for the page count
        // (EFAULT, even for a zero length), then the mappings (ENOMEM), then the copy (EFAULT)
        if ((addr & (PAGE - 1)) != 0) return -Errno.EINVAL;
        if (!accessOk(addr, len)) return -Errno.ENOMEM;
        long pages = (len >>> 12) + ((len & (PAGE - 1)) != 0 ? 1 : 0);
        if (!accessOk(vec, pages)) return -Errno.EFAULT;
        if (len == 0) return 0;
        requireMapped(ctx, addr, len);
        long out = ctx.memory().hostAddress(vec, pages, dev.herd.memory.Prot.WRITE);
        return dev.herd.host.HostKernel.call(dev.herd.host.HostSyscall.MINCORE, space(ctx).hostBase() + addr, len, out);
    }

    /** Linux's access_ok: [g, g+len) ends at or below the top of user space, without wrapping. */
    private static boolean accessOk(long g, long len) {
        long sum = g + len;
        return Long.compareUnsigned(sum, dev.herd.memory.GuestMemory.TASK_SIZE_MAX) <= 0 && Long.compareUnsigned(sum, g) >= 0;
    }

    /** ENOMEM when part of [addr, addr+len) is not mapped, as madvise and msync report it. */
    private static void requireMapped(SyscallContext ctx, long addr, long len) {
        long end = addr + ((len + PAGE - 1) & -PAGE);
        long at = addr;
        while (at < end) {
            Mapping m = space(ctx).find(at);
            if (m == null) throw new dev.herd.host.ErrnoException(Errno.ENOMEM);
            at = m.end();
        }
    }
}
