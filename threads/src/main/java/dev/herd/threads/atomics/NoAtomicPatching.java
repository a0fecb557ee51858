package dev.herd.threads.atomics;

import dev.herd.unicorn.Unicorn;

/**
 * No patching: for serial mode (one engine runs at a time, so Unicorn's plain read-modify-writes
 * are atomic enough) and for a libunicorn whose atomics are atomic already
 * ({@link AtomicSelfTest#unicornAtomicsAreAtomic()}).
 */
public final class NoAtomicPatching implements AtomicSites {
    public static final NoAtomicPatching INSTANCE = new NoAtomicPatching();

    public NoAtomicPatching() {}

    @Override
    public void scan(long start, long end) {}

    @Override
    public void forget(long start, long end) {}

    @Override
    public boolean execute(Unicorn engine, long pc) { return false; }

    @Override
    public boolean patchInstruction(long pc) { return false; }

    @Override
    public int siteCount() { return 0; }
}
