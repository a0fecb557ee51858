package dev.herd.proxy;

import org.agrona.concurrent.AtomicBuffer;

/**
 * One request cell of the proxy channel: the words a Herd thread (the requester) and its shadow
 * thread in the proxy share, and the steps of their protocol. The requester's steps run here; the
 * shadow's are {@code herd_proxy.c}'s {@code shadow()}, in C with sequentially consistent atomics,
 * and exist here too as the model the concurrency tests run against.
 *
 * <p>Layout (offsets in {@link ProxyChannel}): state (futex word: IDLE, REQUEST, DONE, EXIT,
 * GONE), requester-sleeping, shadow-sleeping, cancel, shadow tid, number, six arguments, result.
 *
 * <p><b>Contract.</b> No wake-up is lost: a side that is about to sleep first announces it
 * (volatile store), then looks at the state again (volatile load); the other side first publishes
 * the state (volatile store), then looks at the announcement (volatile load). Of two such
 * store-load pairs at least one side sees the other's store, and a futex wait that does sleep
 * compares the state word atomically in the kernel. Only the requester writes the request words
 * and moves the state to REQUEST or IDLE; only the shadow (or, once the proxy is dead, Herd's
 * watcher, {@link #completeIfRequested}) writes the result and moves it to DONE.
 */
public final class ProxyCell {
    private final AtomicBuffer buf;
    private final int at;

    public ProxyCell(AtomicBuffer buffer, int offset) {
        this.buf = buffer;
        this.at = offset;
    }

    /** Offset of the state word in the buffer (the futex word). */
    public int stateOffset() { return at + ProxyChannel.C_STATE; }

    public int state() { return buf.getIntVolatile(at + ProxyChannel.C_STATE); }

    // ------------------------------------------------------------------ requester

    /** Writes a request's words (plain stores, published by {@link #publishRequest}). */
    public void writeRequest(long nr, long a0, long a1, long a2, long a3, long a4, long a5) {
        buf.putLong(at + ProxyChannel.C_NR, nr);
        buf.putLong(at + ProxyChannel.C_ARGS, a0);
        buf.putLong(at + ProxyChannel.C_ARGS + 8, a1);
        buf.putLong(at + ProxyChannel.C_ARGS + 16, a2);
        buf.putLong(at + ProxyChannel.C_ARGS + 24, a3);
        buf.putLong(at + ProxyChannel.C_ARGS + 32, a4);
        buf.putLong(at + ProxyChannel.C_ARGS + 40, a5);
        buf.putInt(at + ProxyChannel.C_CANCEL, 0);
    }

    /** Publishes the request; true when the shadow announced that it sleeps (wake it). */
    public boolean publishRequest() {
        buf.putIntVolatile(at + ProxyChannel.C_STATE, ProxyChannel.CELL_REQUEST);
        return buf.getIntVolatile(at + ProxyChannel.C_S_SLEEPING) != 0;
    }

    public boolean isDone() { return state() == ProxyChannel.CELL_DONE; }

    /** Announces that the requester sleeps; true when the reply is there already (do not sleep). */
    public boolean announceRequesterSleep() {
        buf.putIntVolatile(at + ProxyChannel.C_R_SLEEPING, 1);
        return isDone();
    }

    public void requesterAwake() {
        buf.putIntVolatile(at + ProxyChannel.C_R_SLEEPING, 0);
    }

    /** Marks the request cancelled: the shadow ends an EINTR'd call instead of retrying it. */
    public void cancel() {
        buf.putIntVolatile(at + ProxyChannel.C_CANCEL, 1);
    }

    /** The reply's result; the cell is IDLE again. */
    public long takeResult() {
        long r = buf.getLong(at + ProxyChannel.C_RESULT);
        buf.putIntOrdered(at + ProxyChannel.C_STATE, ProxyChannel.CELL_IDLE);
        return r;
    }

    /** Withdraws a published request nobody will serve (the proxy is dead). */
    public void withdraw() {
        buf.putIntVolatile(at + ProxyChannel.C_STATE, ProxyChannel.CELL_IDLE);
    }

    public int shadowTid() { return buf.getIntVolatile(at + ProxyChannel.C_TID); }

    // ------------------------------------------------------------------ the proxy is gone

    /** Herd's watcher after the proxy died: completes a request in flight with {@code result}. */
    public boolean completeIfRequested(long result) {
        if (state() != ProxyChannel.CELL_REQUEST) return false;
        buf.putLong(at + ProxyChannel.C_RESULT, result);
        buf.putIntVolatile(at + ProxyChannel.C_STATE, ProxyChannel.CELL_DONE);
        return true;
    }

    // ------------------------------------------------------------------ shadow (model of herd_proxy.c)

    /** The shadow announces that it sleeps; true when a request (or exit) is there (do not sleep). */
    public boolean announceShadowSleep() {
        buf.putIntVolatile(at + ProxyChannel.C_S_SLEEPING, 1);
        int s = state();
        return s == ProxyChannel.CELL_REQUEST || s == ProxyChannel.CELL_EXIT;
    }

    public void shadowAwake() {
        buf.putIntVolatile(at + ProxyChannel.C_S_SLEEPING, 0);
    }

    public long requestNumber() { return buf.getLong(at + ProxyChannel.C_NR); }

    public long argument(int i) { return buf.getLong(at + ProxyChannel.C_ARGS + 8 * i); }

    /** The shadow publishes a result; true when the requester announced that it sleeps (wake it). */
    public boolean publishDone(long result) {
        buf.putLong(at + ProxyChannel.C_RESULT, result);
        buf.putIntVolatile(at + ProxyChannel.C_STATE, ProxyChannel.CELL_DONE);
        return buf.getIntVolatile(at + ProxyChannel.C_R_SLEEPING) != 0;
    }

    /** Bytes per cell. */
    public static int size() { return ProxyChannel.CELL_SIZE; }

    /** The state values, for tests: IDLE, REQUEST, DONE. */
    public static final int IDLE = ProxyChannel.CELL_IDLE, REQUEST = ProxyChannel.CELL_REQUEST, DONE = ProxyChannel.CELL_DONE;
}
