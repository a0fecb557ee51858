package dev.herd.runtime.loader;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;

/**
 * Auxiliary vector ({@code AT_*}) constants and entries, as in Linux's
 * {@code include/uapi/linux/auxvec.h} and {@code arch/x86/include/uapi/asm/auxvec.h}.
 */
public final class Auxv {
    private Auxv() {}

    public static final int AT_NULL = 0, AT_IGNORE = 1, AT_EXECFD = 2, AT_PHDR = 3, AT_PHENT = 4, AT_PHNUM = 5,
            AT_PAGESZ = 6, AT_BASE = 7, AT_FLAGS = 8, AT_ENTRY = 9, AT_NOTELF = 10, AT_UID = 11, AT_EUID = 12,
            AT_GID = 13, AT_EGID = 14, AT_PLATFORM = 15, AT_HWCAP = 16, AT_CLKTCK = 17, AT_SECURE = 23,
            AT_BASE_PLATFORM = 24, AT_RANDOM = 25, AT_HWCAP2 = 26, AT_RSEQ_FEATURE_SIZE = 27, AT_RSEQ_ALIGN = 28,
            AT_EXECFN = 31, AT_SYSINFO_EHDR = 33, AT_MINSIGSTKSZ = 51;

    /** One (type, value) pair of the auxiliary vector. */
    public record Entry(long type, long value) {
        @Override
        public String toString() { return name(type) + "=0x" + Long.toHexString(value); }
    }

    /** The vector as the guest sees it in memory and in /proc/self/auxv: little-endian pairs, AT_NULL included. */
    public static byte[] toBytes(List<Entry> entries) {
        boolean terminated = !entries.isEmpty() && entries.getLast().type() == AT_NULL;
        int n = entries.size() + (terminated ? 0 : 1);
        ByteBuffer b = ByteBuffer.allocate(n * 16).order(ByteOrder.LITTLE_ENDIAN);
        for (Entry e : entries) b.putLong(e.type()).putLong(e.value());
        if (!terminated) b.putLong(AT_NULL).putLong(0);
        return b.array();
    }

    /** The AT_ name of a type, for diagnostics. */
    public static String name(long type) {
        return switch ((int) type) {
            case AT_NULL -> "AT_NULL";
            case AT_PHDR -> "AT_PHDR";
            case AT_PHENT -> "AT_PHENT";
            case AT_PHNUM -> "AT_PHNUM";
            case AT_PAGESZ -> "AT_PAGESZ";
            case AT_BASE -> "AT_BASE";
            case AT_FLAGS -> "AT_FLAGS";
            case AT_ENTRY -> "AT_ENTRY";
            case AT_UID -> "AT_UID";
            case AT_EUID -> "AT_EUID";
            case AT_GID -> "AT_GID";
            case AT_EGID -> "AT_EGID";
            case AT_PLATFORM -> "AT_PLATFORM";
            case AT_HWCAP -> "AT_HWCAP";
            case AT_CLKTCK -> "AT_CLKTCK";
            case AT_SECURE -> "AT_SECURE";
            case AT_RANDOM -> "AT_RANDOM";
            case AT_HWCAP2 -> "AT_HWCAP2";
            case AT_EXECFN -> "AT_EXECFN";
            case AT_SYSINFO_EHDR -> "AT_SYSINFO_EHDR";
            case AT_MINSIGSTKSZ -> "AT_MINSIGSTKSZ";
            default -> "AT_" + type;
        };
    }
}
