package dev.herd.memory;

import dev.herd.host.Errno;
import dev.herd.host.ErrnoException;

import java.io.ByteArrayOutputStream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Checked Java access to guest memory. Every access is checked against the mapping table's
 * permissions; a bad guest pointer throws {@code ErrnoException(EFAULT)}. Thread-safe and
 * lock-free for ordinary (memfd-backed) memory.
 *
 * <p>Permission rules: a read needs any of PROT_READ, PROT_WRITE or PROT_EXEC (x86 semantics: W and
 * X imply R); a write needs PROT_WRITE; {@code Prot.EXEC} in {@link #hostAddress} needs EXEC. A
 * zero-length access never faults.
 *
 * <p>Safety: accesses to memfd-backed mappings go through a read-write alias of the memfd, so they
 * cannot crash the JVM even if the guest unmaps the range concurrently (the access then sees or
 * changes the released pages, as a racing Linux kernel copy may). Accesses that touch a
 * MAP_SHARED file mapping go through the guest view under a read lock that excludes host-side
 * overlay changes and protection reductions.
 */
public final class GuestMemory {
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    /** Linux UIO_MAXIOV. */
    public static final int IOV_MAX = 1024;
    /** Linux MAX_RW_COUNT (INT_MAX rounded down to a page): the total an iovec array is clamped to. */
    public static final long MAX_RW_COUNT = 0x7ffff000L;

    /** One guest iovec. */
    public record Iovec(long base, long len) {}

    private final GuestAddressSpace as;

    GuestMemory(GuestAddressSpace as) { this.as = as; }

    private static boolean allows(int prot, int need) {
        if ((need & Prot.WRITE) != 0 && (prot & Prot.WRITE) == 0) return false;
        if ((need & Prot.EXEC) != 0 && (prot & Prot.EXEC) == 0) return false;
        if ((need & Prot.READ) != 0 && (prot & 7) == 0) return false;
        return true;
    }

    /**
     * Checks [g, g+len) is mapped with access {@code need} in table t. Returns true if any part is
     * a shared-file mapping (which needs the guest view under the host lock), false otherwise.
     */
    private boolean check(MappingTable t, long g, long len, int need) {
        if (g < 0 || len < 0 || g > as.arena.size - len) throw new ErrnoException(Errno.EFAULT);
        long end = g + len;
        int i = t.firstEndingAfter(g);
        long pos = g;
        boolean shared = false;
        while (pos < end) {
            if (i >= t.size()) throw new ErrnoException(Errno.EFAULT);
            Vma v = t.get(i);
            if (v.start() > pos || !allows(v.prot(), need)) throw new ErrnoException(Errno.EFAULT);
            shared |= v.kind() == Vma.SHARED_FILE;
            pos = v.end();
            i++;
        }
        return shared;
    }

    /** Runs op on a checked segment for [g, g+len); returns what op returns. */
    private <T> T access(long g, long len, int need, java.util.function.Function<MemorySegment, T> op) {
        if (len == 0) return op.apply(MemorySegment.NULL);
        try {
            return checkedAccess(g, len, need, op);
        } catch (IllegalStateException closed) {
            // The address space was closed (its views' scope is gone): nothing is mapped any more.
            throw new ErrnoException(Errno.EFAULT);
        }
    }

    private <T> T checkedAccess(long g, long len, int need, java.util.function.Function<MemorySegment, T> op) {
        if (!check(as.snapshot().table(), g, len, need)) return op.apply(as.arena.alias.asSlice(g, len));
        var rl = as.hostLock.readLock();
        rl.lock();
        try {
            if (as.isClosed()) throw new ErrnoException(Errno.EFAULT);
            MappingTable t = as.snapshot().table();
            if (!check(t, g, len, need)) return op.apply(as.arena.alias.asSlice(g, len));
            return op.apply(as.arena.guestView.asSlice(g, len));
        } finally {
            rl.unlock();
        }
    }

    public byte[] read(long g, int len) {
        byte[] b = new byte[len];
        read(g, b, 0, len);
        return b;
    }

    public void read(long g, byte[] dst, int off, int len) {
        java.util.Objects.checkFromIndexSize(off, len, dst.length);
        access(g, len, Prot.READ, s -> {
            if (len > 0) MemorySegment.copy(s, ValueLayout.JAVA_BYTE, 0, dst, off, len);
            return null;
        });
    }

    public void write(long g, byte[] src, int off, int len) {
        java.util.Objects.checkFromIndexSize(off, len, src.length);
        access(g, len, Prot.WRITE, s -> {
            if (len > 0) MemorySegment.copy(src, off, s, ValueLayout.JAVA_BYTE, 0, len);
            return null;
        });
    }

    public void write(long g, byte[] src) { write(g, src, 0, src.length); }

    public byte readByte(long g) { return access(g, 1, Prot.READ, s -> s.get(ValueLayout.JAVA_BYTE, 0)); }

    public void writeByte(long g, byte v) {
        access(g, 1, Prot.WRITE, s -> {
            s.set(ValueLayout.JAVA_BYTE, 0, v);
            return null;
        });
    }

    public int readInt(long g) { return access(g, 4, Prot.READ, s -> s.get(INT, 0)); }

    public long readLong(long g) { return access(g, 8, Prot.READ, s -> s.get(LONG, 0)); }

    public void writeInt(long g, int v) {
        access(g, 4, Prot.WRITE, s -> {
            s.set(INT, 0, v);
            return null;
        });
    }

    public void writeLong(long g, long v) {
        access(g, 8, Prot.WRITE, s -> {
            s.set(LONG, 0, v);
            return null;
        });
    }

    /**
     * NUL-terminated string of at most maxLen bytes (ENAMETOOLONG past it), decoded as UTF-8
     * (malformed bytes become U+FFFD; use {@link #readCStringBytes} when exact bytes matter).
     */
    public String readCString(long g, int maxLen) {
        return new String(readCStringBytes(g, maxLen), StandardCharsets.UTF_8);
    }

    /**
     * NUL-terminated raw bytes (without the NUL). Throws ENAMETOOLONG when the first maxLen bytes
     * hold no NUL, EFAULT when an unreadable byte comes before the NUL.
     */
    public byte[] readCStringBytes(long g, int maxLen) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        long pos = g;
        long limit = g + maxLen;
        while (pos < limit) {
            if (pos < 0 || pos >= as.arena.size) throw new ErrnoException(Errno.EFAULT);
            Vma v = as.snapshot().table().find(pos);
            if (v == null || !allows(v.prot(), Prot.READ)) throw new ErrnoException(Errno.EFAULT);
            long chunkEnd = Math.min(limit, Math.min(v.end(), (pos | 4095) + 1));
            long p0 = pos;
            int n = (int) (chunkEnd - pos);
            byte[] chunk = read(p0, n);
            for (int k = 0; k < n; k++) {
                if (chunk[k] == 0) {
                    out.write(chunk, 0, k);
                    return out.toByteArray();
                }
            }
            out.write(chunk, 0, n);
            pos = chunkEnd;
        }
        throw new ErrnoException(Errno.ENAMETOOLONG);
    }

    /** Checks [g, g+len) is mapped with the given PROT_* access and returns the host address (hostBase+g). */
    public long hostAddress(long g, long len, int prot) {
        if (len == 0) return g >= 0 && g <= as.arena.size ? as.arena.hostBase + g : 0;
        check(as.snapshot().table(), g, len, prot);
        return as.arena.hostBase + g;
    }

    /** Linux x86_64 TASK_SIZE_MAX: the kernel refuses (EFAULT) any user pointer range past it. */
    public static final long TASK_SIZE_MAX = 0x7ffffffff000L;

    /**
     * The host address of a guest buffer that only the <em>host kernel</em> will access (never Java):
     * no up-front check. Host protection mirrors guest protection, so the host kernel faults exactly
     * where Linux would, at the moment Linux would: after its other argument checks, and with a
     * short read or write up to the first bad page where Linux does one. Pointers Linux refuses
     * outright (at or past {@link #TASK_SIZE_MAX}, kernel halves, non-canonical) are turned into
     * kernel-half addresses, which every host refuses the same way (an LA57 host would otherwise
     * accept some of them as its own user addresses). A range may run past the end of the guest
     * space by up to {@link HostArena#GUARD} bytes, which the host reserves inaccessible behind
     * it. A guest address above the space, or a longer overrun, is what Linux's {@code access_ok}
     * refuses for a range past the top of user space (the guest space is Herd's TASK_SIZE): it
     * also becomes a kernel-half address, so the host makes its other checks first (EBADF,
     * ESPIPE, EINVAL, ...) and then says EFAULT, as Linux does, and never reaches JVM memory. A
     * zero length never fails.
     */
    public long hostPointer(long g, long len) {
        long size = as.arena.size;
        if (g < 0 || g >= TASK_SIZE_MAX) return g | Long.MIN_VALUE;
        if (len == 0) return as.arena.hostBase + Math.min(g, size);
        if (g < size && len > 0 && len - (size - g) <= HostArena.GUARD) return as.arena.hostBase + g;
        return g | Long.MIN_VALUE;
    }

    /**
     * A checked view of [g, g+len) for struct access, read-only unless prot includes WRITE. For
     * memfd-backed memory the view is on the memfd alias and stays safe forever; for a range that
     * touches a MAP_SHARED file mapping it is on the guest view and is valid only until the next
     * {@link GuestAddressSpace#releaseDeferred()}.
     */
    public MemorySegment segment(long g, long len, int prot) {
        MemorySegment s = access(g, len, prot, x -> x);
        return (prot & Prot.WRITE) != 0 ? s : s.asReadOnly();
    }

    /**
     * Reads a guest iovec array with Linux's checks: count outside [0, 1024] is EINVAL, a negative
     * length is EINVAL, an unreadable array is EFAULT; lengths are clamped so the total does not
     * exceed {@link #MAX_RW_COUNT}, as Linux does. Buffers themselves are not checked here.
     */
    public List<Iovec> readIovecs(long iovPtr, int count) {
        if (count < 0 || count > IOV_MAX) throw new ErrnoException(Errno.EINVAL);
        if (count == 0) return List.of();
        byte[] raw = read(iovPtr, count * 16);
        MemorySegment s = MemorySegment.ofArray(raw);
        List<Iovec> out = new ArrayList<>(count);
        long total = 0;
        for (int k = 0; k < count; k++) {
            long base = s.get(LONG, k * 16L), len = s.get(LONG, k * 16L + 8);
            if (len < 0) throw new ErrnoException(Errno.EINVAL);
            if (len > MAX_RW_COUNT - total) len = MAX_RW_COUNT - total;
            total += len;
            out.add(new Iovec(base, len));
        }
        return out;
    }
}
