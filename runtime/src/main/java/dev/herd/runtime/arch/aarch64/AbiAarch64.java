package dev.herd.runtime.arch.aarch64;

import dev.herd.runtime.arch.GuestAbi;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The arm64 guest ABI where it differs from the x86_64 host's: clone's argument order, a bigger
 * MINSIGSTKSZ, the generic struct stat, four O_* values, and an aligned struct epoll_event.
 * Layouts from Debian's arm64 uapi headers ({@code asm-generic/stat.h}, {@code asm/fcntl.h},
 * {@code linux/eventpoll.h}); {@code AbiAarch64Test} checks them against a cross-compiled probe.
 */
public final class AbiAarch64 implements GuestAbi {
    public static final AbiAarch64 INSTANCE = new AbiAarch64();

    private AbiAarch64() {}

    /** arm64 passes tls before child_tid (the kernel's CONFIG_CLONE_BACKWARDS order). */
    @Override public CloneArgs cloneArgs(long a0, long a1, long a2, long a3, long a4) {
        return new CloneArgs(a0, a1, a2, a4, a3);
    }

    /** arch/arm64/include/uapi/asm/signal.h: room for the frame with its fpsimd record. */
    @Override public long minSigStackSize() { return 5120; }

    @Override public boolean hostStat() { return false; }

    /** asm-generic/stat.h: 128 bytes. */
    @Override public int statSize() { return 128; }

    /**
     * x86_64: dev@0 ino@8 nlink(u64)@16 mode@24 uid@28 gid@32 rdev@40 size@48 blksize(i64)@56
     * blocks@64 times@72..120. arm64: dev@0 ino@8 mode@16 nlink(u32)@20 uid@24 gid@28 rdev@32
     * pad@40 size@48 blksize(i32)@56 pad@60 blocks@64 times@72..120, unused to 128.
     */
    @Override public byte[] statFromHost(byte[] host) {
        ByteBuffer h = ByteBuffer.wrap(host).order(ByteOrder.LITTLE_ENDIAN);
        ByteBuffer g = ByteBuffer.allocate(128).order(ByteOrder.LITTLE_ENDIAN);
        g.putLong(0, h.getLong(0));
        g.putLong(8, h.getLong(8));
        g.putInt(16, h.getInt(24));
        g.putInt(20, (int) h.getLong(16));
        g.putInt(24, h.getInt(28));
        g.putInt(28, h.getInt(32));
        g.putLong(32, h.getLong(40));
        g.putLong(48, h.getLong(48));
        g.putInt(56, (int) h.getLong(56));
        g.putLong(64, h.getLong(64));
        for (int off = 72; off < 120; off += 8) g.putLong(off, h.getLong(off));
        return g.array();
    }

    /** The O_* values arm64 numbers differently (asm/fcntl.h); all others are the generic ones both use. */
    static final int GUEST_O_DIRECTORY = 040000, GUEST_O_NOFOLLOW = 0100000, GUEST_O_DIRECT = 0200000,
            GUEST_O_LARGEFILE = 0400000;
    static final int HOST_O_DIRECT = 040000, HOST_O_LARGEFILE = 0100000, HOST_O_DIRECTORY = 0200000,
            HOST_O_NOFOLLOW = 0400000;
    private static final int GUEST_BITS = GUEST_O_DIRECTORY | GUEST_O_NOFOLLOW | GUEST_O_DIRECT | GUEST_O_LARGEFILE;
    private static final int HOST_BITS = HOST_O_DIRECT | HOST_O_LARGEFILE | HOST_O_DIRECTORY | HOST_O_NOFOLLOW;

    @Override public int openFlagsToHost(int g) {
        int h = g & ~GUEST_BITS;
        if ((g & GUEST_O_DIRECTORY) != 0) h |= HOST_O_DIRECTORY;
        if ((g & GUEST_O_NOFOLLOW) != 0) h |= HOST_O_NOFOLLOW;
        if ((g & GUEST_O_DIRECT) != 0) h |= HOST_O_DIRECT;
        if ((g & GUEST_O_LARGEFILE) != 0) h |= HOST_O_LARGEFILE;
        return h;
    }

    @Override public int openFlagsToGuest(int h) {
        int g = h & ~HOST_BITS;
        if ((h & HOST_O_DIRECTORY) != 0) g |= GUEST_O_DIRECTORY;
        if ((h & HOST_O_NOFOLLOW) != 0) g |= GUEST_O_NOFOLLOW;
        if ((h & HOST_O_DIRECT) != 0) g |= GUEST_O_DIRECT;
        if ((h & HOST_O_LARGEFILE) != 0) g |= GUEST_O_LARGEFILE;
        return g;
    }

    /** asm-generic/sembuf.h on 64-bit: no padding words after the times, 88 bytes. */
    @Override public int semidSize() { return 88; }

    /** x86_64: perm 0-47, otime@48, ctime@64, nsems@80; arm64: perm, otime@48, ctime@56, nsems@64. */
    @Override public byte[] semidFromHost(byte[] host) {
        ByteBuffer h = ByteBuffer.wrap(host).order(ByteOrder.LITTLE_ENDIAN);
        ByteBuffer g = ByteBuffer.allocate(88).order(ByteOrder.LITTLE_ENDIAN);
        g.put(0, host, 0, 48);
        g.putLong(48, h.getLong(48));
        g.putLong(56, h.getLong(64));
        g.putLong(64, h.getLong(80));
        return g.array();
    }

    /** linux/eventpoll.h packs the struct only on x86_64: here data is 8-aligned, 16 bytes in all. */
    @Override public int epollDataOffset() { return 8; }
}
