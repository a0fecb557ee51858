package dev.herd.threads.atomics;

import dev.herd.unicorn.Unicorn;

/**
 * Makes a guest's atomic instructions atomic across engines (DESIGN facts 2 and 3): atomic sites in
 * executable code are patched to a trap ({@code syscall} on x86-64) and performed here with host
 * atomics on the shared guest memory. One instance per guest process; thread-safe.
 *
 * <p>Protocol for the threads layer:
 * <ul>
 * <li>Call {@link #scan} whenever a range becomes executable (ELF load, mmap with PROT_EXEC,
 *     mprotect adding PROT_EXEC), <em>before</em> any engine runs it (or drop the range's
 *     translations afterwards: the patch is a privileged write that logs a code invalidation).</li>
 * <li>Call {@link #forget} when a range is unmapped or replaced (munmap, MAP_FIXED over it,
 *     mremap away).</li>
 * <li>In the syscall hook, first call {@link #execute}; if it returns true the "syscall" was a
 *     patched site and is complete (no PC write: execution continues after the trap, into the
 *     NOP padding); otherwise it is a real syscall. {@link AtomicSiteFault} from execute means the
 *     original instruction would have faulted; nothing was changed.</li>
 * </ul>
 */
public interface AtomicSites {
    /**
     * Decodes [start,end) (guest addresses, page-aligned, currently mapped executable), patches
     * every atomic site through {@code GuestAddressSpace.writeIgnoringProtection} and remembers the
     * sites. Idempotent for already-patched sites.
     */
    void scan(long start, long end);

    /** Forgets sites in a range that was unmapped or replaced. */
    void forget(long start, long end);

    /**
     * If {@code pc} is a patched site: performs it on {@code engine}'s registers with host atomics
     * and returns true; else returns false. Called on the guest thread inside its syscall hook.
     *
     * @throws AtomicSiteFault if the instruction's memory operand is not mapped writable (or it is
     *                         a misaligned cmpxchg16b); no memory or register was changed
     */
    boolean execute(Unicorn engine, long pc);

    /**
     * Engines with translator atomics (DESIGN fact 13) stop before an instruction the translator
     * cannot make a host atomic (EXCP_ATOMIC, e.g. a misaligned operand): patch it to the trap.
     * Returns whether {@code pc} is a patched site now (false: not an atomic site this patcher
     * knows, or no patching at all).
     */
    boolean patchInstruction(long pc);

    /**
     * The patched sites, pc → the original instruction's bytes: a fork's child gets memory with the
     * patches in it and re-creates them from these ({@link #patchInstruction} after the originals
     * are written back).
     */
    default java.util.Map<Long, byte[]> patchedSites() { return java.util.Map.of(); }

    /** Number of patched sites currently known. */
    int siteCount();
}
