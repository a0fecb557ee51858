package dev.herd.runtime.mm;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Linux's overcommit check for memory a request commits (mm/util.c, __vm_enough_memory), with the
 * host's settings, which are what a native process gets: in the default heuristic mode (0) one
 * request for more pages than RAM and swap together is ENOMEM; mode 1 never refuses; mode 2 (strict
 * accounting) is approximated by the same per-request bound (Herd does not count commitments).
 * Guest memory is a sparse memfd, so without this a guest could map or brk far more than the
 * machine has where Linux says no (fuzz seed 1 case 3318: a 380 GiB brk). The ELF loader asks too:
 * the kernel maps a PT_LOAD's bss with vm_brk_flags, which charges it like brk (fuzz seed 1 case
 * 7962: a 716 GiB bss).
 */
public final class CommitLimit {
    private CommitLimit() {}

    /** Smaller requests are never refused: no machine that runs a JVM has less RAM and swap. */
    private static final long ALWAYS_FITS = 64L << 20;

    /** Whether committing {@code bytes} more is refused (ENOMEM) as Linux would refuse it. */
    public static boolean refuses(long bytes) {
        if (Long.compareUnsigned(bytes, ALWAYS_FITS) <= 0) return false;
        if (overcommitMode() == 1) return false;
        return Long.compareUnsigned(bytes, ramAndSwapBytes()) > 0;
    }

    /** vm.overcommit_memory; a map with MAP_NORESERVE is not accounted unless it is 2. */
    static int overcommitMode() {
        try (var in = Files.newBufferedReader(Path.of("/proc/sys/vm/overcommit_memory"))) {
            return Integer.parseInt(in.readLine().trim());
        } catch (IOException | RuntimeException e) {
            return 0;
        }
    }

    private static long ramAndSwapBytes() {
        long kib = 0;
        try (var in = Files.newBufferedReader(Path.of("/proc/meminfo"))) {
            for (String line; (line = in.readLine()) != null; ) {
                if (line.startsWith("MemTotal:") || line.startsWith("SwapTotal:")) kib += Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        } catch (IOException | NumberFormatException e) {
            return Long.MAX_VALUE;
        }
        return kib << 10;
    }
}
