package dev.herd.threads;

import java.util.function.LongSupplier;

/**
 * The coherence handshake between one guest thread and the threads that change the address space,
 * on its own so that it can be tested without an engine (stress-tests' jcstress tests).
 *
 * <p><b>Protocol.</b> Two volatile variables per guest thread: whether its engine may be executing
 * guest code ({@link #inGuest()}) and which address-space version its engine's regions reflect
 * ({@link #syncedVersion()}); plus the address space's published version (read through the
 * supplier given to the constructor). It is Dekker's pattern:
 * <ul>
 * <li>the guest thread <em>first</em> announces that it enters guest code, <em>then</em> reads the
 *     published version ({@link #enterGuest()} does both, in that order, so callers cannot get the
 *     order wrong), and syncs and records ({@link #synced}) until its view is current;</li>
 * <li>a thread that changed the address space <em>first</em> publishes the new version (the
 *     address space's volatile snapshot write), <em>then</em> asks {@link #mustKick} for every
 *     other thread, and kicks the ones for which it answers true, until it answers false.</li>
 * </ul>
 * All four accesses are volatile (sequentially consistent), so at least one side sees the other:
 * either the guest thread reads the new version and syncs before running guest code, or the
 * changer sees it in guest code with an older view and kicks it. The forbidden outcome (the guest
 * runs guest code with the old view and the changer does not kick) is what
 * {@code SafePointHandshakeTest} in stress-tests checks for. A spurious kick (the changer reads the
 * state after the announcement but before {@link #synced}) is allowed and harmless.
 *
 * <p>Intended use in the guest thread's run loop and syscall return path:
 * <pre>{@code
 * while (!handshake.enterGuest()) {          // IN_GUEST, then read the version
 *     memoryView.sync();
 *     handshake.synced(memoryView.syncedVersion());
 * }
 * ... uc_emu_start ...
 * handshake.leaveGuest();
 *
 * // syscall hook, before returning to the guest without leaving the engine:
 * if (!handshake.enterGuest()) stopEngine();  // the engine leaves and syncs in the loop
 * }</pre>
 * and in the changer ({@code GuestThreads.awaitCoherent}), after the mutation was published:
 * {@code while (t.handshake().mustKick(version)) { t.kick(); parkNanos(...); }}.
 *
 * <p>Thread-safety: {@link #enterGuest}, {@link #synced} and {@link #leaveGuest} are called only by
 * the guest thread itself; {@link #mustKick} and the queries by any thread.
 */
public final class SafePointHandshake {
    private final LongSupplier publishedVersion;
    private volatile boolean inGuest;
    private volatile long syncedVersion = -1;

    /**
     * @param publishedVersion the address space's current version (a volatile read), e.g.
     *                         {@code addressSpace::version}; versions only grow
     */
    public SafePointHandshake(LongSupplier publishedVersion) {
        this.publishedVersion = publishedVersion;
    }

    /**
     * Announces that this thread's engine is about to run guest code, then reads the published
     * version. Returns true when the engine's view is current (it may run guest code); false when it
     * must first sync and call {@link #synced}, then call this again (repeating the announcement is
     * harmless). Called only by the guest thread.
     */
    public boolean enterGuest() {
        inGuest = true;                                     // 1. announce (volatile write) ...
        return publishedVersion.getAsLong() == syncedVersion; // 2. ... then read the version
    }

    /** Records that the engine's regions now reflect {@code version}. Called only by the guest thread. */
    public void synced(long version) {
        syncedVersion = version;
    }

    /** The engine has stopped running guest code (syscall, stop, exit). Called only by the guest thread. */
    public void leaveGuest() {
        inGuest = false;
    }

    /**
     * Called by a thread that has already published {@code version}: true while this thread's
     * engine may run guest code with a view older than {@code version}, i.e. it must be kicked (and
     * asked again, since a kick can be lost). False once it has synced to {@code version} or is
     * outside guest code (it then syncs before it re-enters).
     */
    public boolean mustKick(long version) {
        return inGuest && syncedVersion < version;
    }

    /** True while the engine may be running guest code. */
    public boolean inGuest() { return inGuest; }

    /** The version the engine's regions reflect; -1 before the first sync. */
    public long syncedVersion() { return syncedVersion; }
}
