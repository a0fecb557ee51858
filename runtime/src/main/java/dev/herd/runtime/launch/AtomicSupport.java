package dev.herd.runtime.launch;

import dev.herd.threads.atomics.AtomicSelfTest;

/**
 * How guest atomics are made atomic across engines, decided once per JVM (the library is loaded
 * once per JVM too, so the answer cannot change); self-test answers are kept per library build in
 * the user's cache directory ({@code dev.herd.threads.LibraryFacts}).
 * <ul>
 * <li>A libunicorn whose stock atomics are atomic needs nothing ({@link #engineAtomicsAreAtomic}).</li>
 * <li>Else translator atomics (the translator's parallel flag, DESIGN fact 13, with the library's
 *     non-atomic xchg helpers replaced and every atomic helper guarded: 2.0.1's helpers skip its
 *     page-permission check, so herd_native.c lets them write only inside the engine's fast-store
 *     ranges and sends any other access to Herd's own atomic path; unguarded, a locked
 *     read-modify-write on a read-only page killed the JVM, ELF fuzz seed 1 case 3763) when their
 *     self-test confirms them; {@code HERD_TRANSLATOR_ATOMICS=0} (or {@code HERD_FAST_STORES=0},
 *     whose ranges are the guard) opts out.</li>
 * <li>Else atomic sites are patched.</li>
 * </ul>
 * {@code HERD_ATOMIC_PATCHING=always} patches without asking; {@code never} trusts the library.
 */
final class AtomicSupport {
    private AtomicSupport() {}

    private static final class Answer {
        static final boolean ATOMIC = compute();

        private static boolean compute() {
            String setting = System.getenv("HERD_ATOMIC_PATCHING");
            if ("always".equals(setting)) return false;
            if ("never".equals(setting)) return true;
            return AtomicSelfTest.unicornAtomicsAreAtomicCached();
        }
    }

    private static final class Translator {
        static final boolean WORKS = !"0".equals(System.getenv("HERD_TRANSLATOR_ATOMICS"))
                && !"0".equals(System.getenv("HERD_FAST_STORES")) // the fast-store ranges guard the helpers
                && !"always".equals(System.getenv("HERD_ATOMIC_PATCHING"))
                && AtomicSelfTest.translatorAtomicsAreAtomic();
    }

    /** Whether the loaded libunicorn's own atomics are atomic across engines (no patching needed). */
    static boolean engineAtomicsAreAtomic() { return Answer.ATOMIC; }

    /** Whether parallel engines get translator atomics (not opted out, confirmed by the self-test). */
    static boolean translatorAtomics() { return Translator.WORKS; }

    /** {@code HERD_ATOMIC_PATCHING=always}: patch in serial mode too. */
    static boolean forced() { return "always".equals(System.getenv("HERD_ATOMIC_PATCHING")); }
}
