package dev.herd.signals.aarch64;

import dev.herd.memory.GuestAddressSpace;
import dev.herd.memory.MapFlags;
import dev.herd.memory.Prot;

/**
 * The return path of a handler installed without SA_RESTORER. The arm64 kernel then points LR at
 * the vDSO's {@code __kernel_rt_sigreturn} ({@code mov x8, #__NR_rt_sigreturn; svc #0});
 * glibc relies on it (it does not set SA_RESTORER on aarch64). Herd has no aarch64 vDSO yet, so the
 * launcher maps these two instructions on a page of their own, read+execute like the vDSO's text,
 * and gives the address to {@link SignalFrameAarch64#SignalFrameAarch64(long)}. The page is never
 * on a stack, so a non-executable stack is no obstacle.
 */
public final class SigreturnTrampoline {
    private SigreturnTrampoline() {}

    /** rt_sigreturn in the generic syscall table (asm-generic/unistd.h) that arm64 uses. */
    public static final int NR_RT_SIGRETURN = 139;

    /**
     * {@code mov x8, #139} ({@code movz x8, #0x8b} = 0xd2801168) and {@code svc #0} (0xd4000001),
     * little-endian, as GNU as encodes them.
     */
    private static final byte[] CODE = {
            0x68, 0x11, (byte) 0x80, (byte) 0xd2,
            0x01, 0x00, 0x00, (byte) 0xd4};

    /** Length of {@link #code()} in bytes. */
    public static final int SIZE = 8;

    /** A fresh copy of the trampoline's machine code. */
    public static byte[] code() {
        return CODE.clone();
    }

    /**
     * Maps one read+execute page in {@code as} -- at {@code page} (page aligned, MAP_FIXED), or
     * where the address space's allocator puts it when {@code page} is 0, as the kernel places the
     * vDSO -- writes the trampoline at its start and returns its address. Engines see the page
     * once the launcher syncs their views.
     */
    public static long install(GuestAddressSpace as, long page) {
        long at = as.mmap(page, 4096, Prot.READ | Prot.EXEC,
                MapFlags.PRIVATE | MapFlags.ANONYMOUS | (page != 0 ? MapFlags.FIXED : 0), -1, 0, "[sigreturn]");
        as.writeIgnoringProtection(at, CODE, 0, SIZE);
        return at;
    }
}
