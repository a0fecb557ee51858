package dev.herd.memory;

/** Linux MAP_* flags (x86_64 values; aarch64 uses the same for all of these). */
public final class MapFlags {
    private MapFlags() {}
    public static final int SHARED = 0x01, PRIVATE = 0x02, SHARED_VALIDATE = 0x03, TYPE = 0x0f, FIXED = 0x10,
            ANONYMOUS = 0x20, GROWSDOWN = 0x0100, DENYWRITE = 0x0800, EXECUTABLE = 0x1000, LOCKED = 0x2000,
            NORESERVE = 0x4000, POPULATE = 0x8000, NONBLOCK = 0x10000, STACK = 0x20000, HUGETLB = 0x40000,
            SYNC = 0x80000, FIXED_NOREPLACE = 0x100000;
    /** mremap flags. */
    public static final int MREMAP_MAYMOVE = 1, MREMAP_FIXED = 2, MREMAP_DONTUNMAP = 4;
}
