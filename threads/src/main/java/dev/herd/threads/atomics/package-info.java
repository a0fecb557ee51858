/**
 * Guest atomics in parallel mode (DESIGN facts 2 and 3).
 *
 * <p>Debian's libunicorn 2.0.1 translates without {@code CF_PARALLEL}, so every x86 atomic
 * read-modify-write is a plain load/modify/store across engines and {@code mfence} emits nothing.
 * {@link dev.herd.threads.atomics.AtomicSitesX86_64} patches each atomic site, when code becomes
 * executable, to {@code syscall} + NOPs; the guest thread's syscall hook calls
 * {@link dev.herd.threads.atomics.AtomicSites#execute} first, which performs the original
 * instruction with a host CAS on the shared memory and writes back registers and RFLAGS.
 * {@link dev.herd.threads.atomics.AtomicSelfTest} detects a libunicorn that is atomic already
 * (then use {@link dev.herd.threads.atomics.NoAtomicPatching}; also for serial mode). Point Herd at
 * another libunicorn with {@code HERD_LIBUNICORN} or {@code -Dherd.libunicorn}; at another Capstone
 * with {@code HERD_LIBCAPSTONE} or {@code -Dherd.libcapstone}.
 *
 * <h2>Wiring (threads layer)</h2>
 * <pre>{@code
 * AtomicSites sites = parallel && !AtomicSelfTest.unicornAtomicsAreAtomic()   // cache the answer per JVM
 *         ? new AtomicSitesX86_64(addressSpace) : new NoAtomicPatching();
 * // ELF load / mmap(PROT_EXEC) / mprotect adding EXEC:  sites.scan(start, end)  (before any engine runs it,
 * //                                                     or drop translations of the range after)
 * // munmap / MAP_FIXED over / mremap away:              sites.forget(start, end)
 * // syscall hook:  if (sites.execute(uc, rip)) return;   // AtomicSiteFault -> SIGSEGV at fault.address()
 * }</pre>
 *
 * <h2>Measured (2-core box, noisy; {@code AtomicConcurrencyTest.costPerTrappedOp} prints them)</h2>
 * <ul>
 * <li>{@code lock add} loop, per iteration: trapped ~90-100 ns on one thread (the bare syscall hook
 *     round trip is ~40 ns of that, a 2-register batch read ~20 ns, the flags write ~7 ns); the
 *     original untrapped instruction ~75-80 ns; two threads on one word: trapped ~170 ns wall per
 *     iteration per thread (exact), original ~120 ns (torn: ~50% of updates lost).</li>
 * <li>Scanning a static glibc binary's 476 KiB of text: ~50 ms warm (~150 ms cold JIT); 275 sites,
 *     exactly objdump's set of lock/xchg-with-memory/mfence instructions.</li>
 * <li>Self-test: ~100-200 ms (two engines x 400,000 lock adds).</li>
 * </ul>
 *
 * <h2>libunicorn 2.0.1 deviations found by the differential test</h2>
 * (the reference engine runs forms without LOCK; hardware behaviour checked on the host)
 * <ul>
 * <li>{@code lock neg} computes flags from the old value, not the result.</li>
 * <li>{@code cmpxchg r/m32} and {@code cmpxchg8b} zero-extend RAX/RDX even on success (hardware
 *     leaves them untouched).</li>
 * <li>{@code cmpxchg16b} raises neither #GP on a misaligned operand nor a fault on an unmapped one.</li>
 * </ul>
 */
package dev.herd.threads.atomics;
