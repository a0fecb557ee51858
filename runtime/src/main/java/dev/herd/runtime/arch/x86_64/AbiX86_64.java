package dev.herd.runtime.arch.x86_64;

import dev.herd.runtime.arch.GuestAbi;

/** The x86_64 guest ABI: the host's, so every conversion is the identity. */
public final class AbiX86_64 implements GuestAbi {
    public static final AbiX86_64 INSTANCE = new AbiX86_64();

    private AbiX86_64() {}

    /** x86_64 order: flags, newsp, parent_tid, child_tid, tls. */
    @Override public CloneArgs cloneArgs(long a0, long a1, long a2, long a3, long a4) {
        return new CloneArgs(a0, a1, a2, a3, a4);
    }

    /** The uapi MINSIGSTKSZ (arch/x86/include/uapi/asm/signal.h). */
    @Override public long minSigStackSize() { return 2048; }

    @Override public boolean hostStat() { return true; }

    @Override public int statSize() { return HOST_STAT_SIZE; }

    @Override public byte[] statFromHost(byte[] host) { return host; }

    @Override public int openFlagsToHost(int guestFlags) { return guestFlags; }

    @Override public int openFlagsToGuest(int hostFlags) { return hostFlags; }

    @Override public int semidSize() { return HOST_SEMID_DS_SIZE; }

    @Override public byte[] semidFromHost(byte[] host) { return host; }

    /** struct epoll_event is packed on x86_64 (EPOLL_PACKED): 12 bytes. */
    @Override public int epollDataOffset() { return 4; }
}
