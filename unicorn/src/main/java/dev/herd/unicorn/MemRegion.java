package dev.herd.unicorn;

/**
 * One mapped region as reported by {@code uc_mem_regions}.
 *
 * @param begin first guest address of the region
 * @param end   last guest address of the region, <em>inclusive</em> (as Unicorn reports it)
 * @param perms {@link UcProt} bits
 */
public record MemRegion(long begin, long end, int perms) {
    /**
     * Size in bytes ({@code end - begin + 1}).
     *
     * @return the region's size
     */
    public long size() {
        return end - begin + 1;
    }
}
