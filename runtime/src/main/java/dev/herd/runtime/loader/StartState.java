package dev.herd.runtime.loader;

import java.util.List;

/**
 * Where the first guest thread starts, and what {@link InitialStack} wrote for it.
 *
 * <p>The thread must start at {@code pc} with {@code rsp = stackPointer} and, as Linux's x86_64
 * {@code ELF_PLAT_INIT}/{@code start_thread} leave them, every other general-purpose register
 * zero (notably {@code rdx}: glibc's {@code _start} registers a non-zero {@code rdx} with
 * {@code atexit}), {@code rflags = 0x200}, FS/GS base zero, a default x87/SSE state
 * (FCW 0x37f, MXCSR 0x1f80).
 *
 * @param stackPointer    initial rsp: 16-byte aligned, argc is the 8-byte word there
 * @param pc              initial rip (the interpreter's entry, or the program's)
 * @param stackStart      lowest address of the mapped stack
 * @param stackEnd        first address above the stack mapping
 * @param argvAddress     guest address of argv[0]'s pointer slot (stackPointer + 8)
 * @param envpAddress     guest address of envp[0]'s pointer slot
 * @param auxvAddress     guest address of the first auxv pair
 * @param execFnAddress   the AT_EXECFN string
 * @param platformAddress the AT_PLATFORM string
 * @param randomAddress   the 16 AT_RANDOM bytes
 * @param auxv            the auxiliary vector as written, ending with AT_NULL
 */
public record StartState(long stackPointer, long pc, long stackStart, long stackEnd, long argvAddress,
                         long envpAddress, long auxvAddress, long execFnAddress, long platformAddress,
                         long randomAddress, List<Auxv.Entry> auxv) {
    public StartState {
        auxv = List.copyOf(auxv);
    }

    /** Value of the first auxv entry of the given type, or -1 if absent. */
    public long auxv(int type) {
        for (Auxv.Entry e : auxv) if (e.type() == type) return e.value();
        return -1;
    }

    /** The contents of /proc/self/auxv for this process. */
    public byte[] auxvBytes() { return Auxv.toBytes(auxv); }
}
