package dev.herd.runtime.launch;

import dev.herd.threads.atomics.AtomicSelfTest;

/**
 * How guest atomics are made atomic across engines, decided once per JVM (the library is loaded
 * once per JVM too, so the answer cannot change): by the translator's parallel flag when the
 * loaded libunicorn is the build Herd knows and the self-test confirms it (DESIGN fact 13), else
 * by patching atomic sites. {@code HERD_ATOMIC_PATCHING=always} patches without asking (and
 * without translator atomics); {@code never} trusts the library (translator atomics where
 * available, no self-test).
 */
final class AtomicSupport {
    private AtomicSupport() {}

    private static final class Answer {
        static final boolean TRANSLATOR = compute();

        private static boolean compute() {
            String setting = System.getenv("HERD_ATOMIC_PATCHING");
            if ("always".equals(setting)) return false;
            if ("never".equals(setting)) return true;
            return AtomicSelfTest.translatorAtomicsAreAtomic();
        }
    }

    /** Whether parallel engines get translator atomics instead of site patching. */
    static boolean translatorAtomics() { return Answer.TRANSLATOR; }

    /** {@code HERD_ATOMIC_PATCHING=always}: patch in serial mode too. */
    static boolean forced() { return "always".equals(System.getenv("HERD_ATOMIC_PATCHING")); }
}
