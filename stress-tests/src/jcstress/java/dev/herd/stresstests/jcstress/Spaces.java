package dev.herd.stresstests.jcstress;

import dev.herd.memory.GuestAddressSpace;
import dev.herd.memory.MapFlags;
import dev.herd.memory.Mapping;

/** Small guest address spaces for the jcstress states (one per state, closed by the arbiter). */
final class Spaces {
    private Spaces() {}

    static final long PAGE = GuestAddressSpace.PAGE;
    /** A mappable guest address (above mmap_min_addr). */
    static final long A = 0x20000;
    static final int ANON_FIXED = MapFlags.PRIVATE | MapFlags.ANONYMOUS | MapFlags.FIXED;

    /** A 1 MiB address space with [A, A + pages * PAGE) mapped anonymous with {@code prot}. */
    static GuestAddressSpace withMapping(int pages, int prot) {
        GuestAddressSpace as = GuestAddressSpace.create(1 << 20);
        as.mmap(A, pages * PAGE, prot, ANON_FIXED, -1, 0);
        return as;
    }

    static boolean is(Mapping m, long start, long end, int prot) {
        return m != null && m.start() == start && m.end() == end && m.prot() == prot;
    }
}
