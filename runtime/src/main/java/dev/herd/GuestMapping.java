package dev.herd;

/**
 * One mapping of the guest's address space, as {@code /proc/self/maps} would show it.
 *
 * @param start first address
 * @param end   one past the last address
 * @param prot  {@code PROT_*} bits (1 read, 2 write, 4 exec)
 * @param name  file path or a label such as {@code [stack]}, or null
 */
public record GuestMapping(long start, long end, int prot, String name) {
    /** Length in bytes. @return end - start */
    public long length() { return end - start; }

    /** Whether {@code address} lies inside. @param address a guest address @return true if inside */
    public boolean contains(long address) { return address >= start && address < end; }

    @Override
    public String toString() {
        return String.format("%012x-%012x %c%c%c %s", start, end, (prot & 1) != 0 ? 'r' : '-',
                (prot & 2) != 0 ? 'w' : '-', (prot & 4) != 0 ? 'x' : '-', name == null ? "" : name);
    }
}
