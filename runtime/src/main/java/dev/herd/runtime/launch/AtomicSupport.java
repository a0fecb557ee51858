package dev.herd.runtime.launch;

import dev.herd.threads.atomics.AtomicSelfTest;

/**
 * How guest atomics are made atomic across engines, decided once per JVM (the library is loaded
 * once per JVM too, so the answer cannot change). By default: site patching. Translator atomics
 * (the translator's parallel flag, DESIGN fact 13) are opt-in with {@code HERD_TRANSLATOR_ATOMICS=1}
 * and then used if the self-test confirms them: measured on 2026-12-03, they make {@code lock}
 * read-modify-writes exact but {@code xchg} still loses updates between engines (thr_atomic's
 * exchange chain, glibc mutexes), for a reason not yet found, so they are not the default.
 * {@code HERD_ATOMIC_PATCHING=always} patches without asking; {@code never} trusts the library
 * (no patching, translator atomics where available).
 */
final class AtomicSupport {
    private AtomicSupport() {}

    private static final class Answer {
        static final boolean TRANSLATOR = compute();

        private static boolean compute() {
            String setting = System.getenv("HERD_ATOMIC_PATCHING");
            if ("always".equals(setting)) return false;
            if ("never".equals(setting)) return true;
            if (!"1".equals(System.getenv("HERD_TRANSLATOR_ATOMICS"))) return false;
            return AtomicSelfTest.translatorAtomicsAreAtomic();
        }
    }

    /** Whether parallel engines get translator atomics instead of site patching. */
    static boolean translatorAtomics() { return Answer.TRANSLATOR; }

    /** {@code HERD_ATOMIC_PATCHING=always}: patch in serial mode too. */
    static boolean forced() { return "always".equals(System.getenv("HERD_ATOMIC_PATCHING")); }
}
