package dev.herd.memory;

/**
 * One entry of the guest mapping table: [start, end) page-aligned, Linux PROT_* bits, MAP_* flags,
 * a name for /proc/self/maps-style listings (file path, "[heap]", "[stack]", or null) and the file
 * offset of start for file mappings.
 */
public record Mapping(long start, long end, int prot, int flags, String name, long fileOffset) {
    public long length() { return end - start; }
    public boolean contains(long addr) { return addr >= start && addr < end; }
}
