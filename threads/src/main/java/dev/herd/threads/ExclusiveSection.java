package dev.herd.threads;

/**
 * Lets one guest thread at a time run while no other guest thread executes guest code: QEMU's
 * {@code start_exclusive}/{@code end_exclusive}. Herd uses it for the instructions the translator
 * cannot make host atomics and no site patch handles (libunicorn's EXCP_ATOMIC: a misaligned
 * operand, or one the atomic guard refuses on a page the engine may not write; measured: none of
 * the aarch64 {@code atomics} guest's instructions, pairs and CASP included): the instruction then
 * runs alone, which makes it atomic with respect to every other guest thread.
 *
 * <p>Contract, a Dekker pair with {@link SafePointHandshake}'s in-guest flag: a thread announces
 * guest code (a volatile write) and only then asks {@link #heldByOther} (a volatile read); the
 * owner publishes itself (a volatile write) and only then reads each thread's in-guest flag. So
 * either the entering thread sees the owner and backs out to {@link #awaitFree} (outside guest
 * code), or the owner sees it in guest code and kicks it until it has left. Owners are serialised.
 * Owners and waiters are identified by any object (the guest thread); jcstress checks the pair
 * ({@code ExclusiveSectionTest}).
 */
public final class ExclusiveSection {
    private final Object lock = new Object();
    private volatile Object owner;

    /** Whether a thread other than {@code t} holds the section (read after announcing guest code). */
    public boolean heldByOther(Object t) {
        Object o = owner;
        return o != null && o != t;
    }

    /** Blocks, outside guest code, until no other thread holds the section. */
    public void awaitFree(Object t) {
        boolean interrupted = false;
        synchronized (lock) {
            while (heldByOther(t)) {
                try {
                    lock.wait();
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
        }
        if (interrupted) Thread.currentThread().interrupt();
    }

    /** Makes {@code t} the owner once no other thread is; {@code t} must be outside guest code. */
    public void acquire(Object t) {
        boolean interrupted = false;
        synchronized (lock) {
            while (owner != null) {
                try {
                    lock.wait();
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            owner = t;
        }
        if (interrupted) Thread.currentThread().interrupt();
    }

    /** Ends {@code t}'s ownership and lets the waiting threads back into guest code. */
    public void release(Object t) {
        synchronized (lock) {
            if (owner != t) throw new IllegalStateException("not the owner");
            owner = null;
            lock.notifyAll();
        }
    }
}
