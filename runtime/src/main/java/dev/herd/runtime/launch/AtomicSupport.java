package dev.herd.runtime.launch;

import dev.herd.threads.atomics.AtomicSelfTest;

/**
 * Whether the loaded libunicorn already executes guest atomics atomically across engines, asked
 * once per JVM (the library is loaded once per JVM too, so the answer cannot change) and kept per
 * library build in the user's cache directory ({@code dev.herd.threads.LibraryFacts}). Set
 * {@code HERD_ATOMIC_PATCHING=always} to patch without asking (skipping the ~50 ms self-test),
 * or {@code never} to trust the library.
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

    static boolean engineAtomicsAreAtomic() { return Answer.ATOMIC; }

    /** {@code HERD_ATOMIC_PATCHING=always}: patch in serial mode too. */
    static boolean forced() { return "always".equals(System.getenv("HERD_ATOMIC_PATCHING")); }
}
