package dev.herd.memory;

import java.util.Objects;

/**
 * Internal mapping-table entry: a {@link Mapping} plus how it is backed. {@code kind} is
 * {@link #ANON} (memfd, zero-filled), {@link #PRIVATE_FILE} (memfd, filled from a file at map
 * time) or {@link #SHARED_FILE} (host file overlaid on the guest view; {@code file} non-null).
 */
record Vma(long start, long end, int prot, int flags, String name, long fileOffset, int kind, SharedFile file) {
    static final int ANON = 0, PRIVATE_FILE = 1, SHARED_FILE = 2;

    long length() { return end - start; }
    boolean isFile() { return kind != ANON; }

    /** This entry clipped to [s, e) (which must intersect it); file offsets follow. */
    Vma clip(long s, long e) {
        long ns = Math.max(s, start), ne = Math.min(e, end);
        if (ns == start && ne == end) return this;
        return new Vma(ns, ne, prot, flags, name, isFile() ? fileOffset + (ns - start) : fileOffset, kind, file);
    }

    Vma withProt(int p) { return new Vma(start, end, p, flags, name, fileOffset, kind, file); }
    Vma withRange(long s, long e) { return new Vma(s, e, prot, flags, name, isFile() ? fileOffset + (s - start) : fileOffset, kind, file); }

    /** Linux-VMA-style merge test: b directly follows this with identical attributes. */
    boolean canMerge(Vma b) {
        return end == b.start && prot == b.prot && flags == b.flags && kind == b.kind && file == b.file
                && Objects.equals(name, b.name) && (!isFile() || b.fileOffset == fileOffset + length());
    }

    Mapping toMapping() { return new Mapping(start, end, prot, flags, name, fileOffset); }
}
