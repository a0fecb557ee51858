package dev.herd.runtime.fs;

import dev.herd.host.ErrnoException;
import dev.herd.memory.GuestMemory;

/**
 * A process's argument or environment strings as the kernel shows them (/proc/PID/cmdline and
 * environ read {@code arg_start..arg_end}): the guest memory from the first string a
 * NULL-terminated pointer array (argv, envp) names to the end of the last. The strings lie
 * contiguously on the initial stack, so changes the program made to them show.
 */
public final class ArgumentArea {
    private ArgumentArea() {}

    /** The bytes of the area; empty when the array is empty, or when the memory is no longer readable. */
    public static byte[] bytes(GuestMemory memory, long array) {
        long[] span = span(memory, array);
        if (span[1] <= span[0]) return new byte[0];
        try {
            return memory.read(span[0], (int) (span[1] - span[0]));
        } catch (ErrnoException e) {
            return new byte[0];
        }
    }

    /** [first, end) of the strings a NULL-terminated pointer array names; {0, 0} when none or unreadable. */
    static long[] span(GuestMemory memory, long array) {
        if (array == 0) return new long[]{0, 0};
        try {
            long first = memory.readLong(array);
            if (first == 0) return new long[]{0, 0};
            long last = first;
            for (long at = array; ; at += 8) {
                long p = memory.readLong(at);
                if (p == 0) break;
                last = p;
            }
            long end = last + memory.readCStringBytes(last, 1 << 20).length + 1;
            if (end <= first || end - first > (64 << 20)) return new long[]{0, 0};
            return new long[]{first, end};
        } catch (ErrnoException e) {
            return new long[]{0, 0};
        }
    }
}
