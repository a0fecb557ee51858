package dev.herd.stresstests.fuzz;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Deterministic ELF64 mutator for the fuzzer: {@code mutate(seedBytes, caseSeed)} always returns
 * the same mutant for the same inputs (only {@link SplittableRandom} seeded with {@code caseSeed}
 * decides), so a failing case is reproduced by its campaign seed and index alone.
 *
 * <p>Mutations: ELF header fields (ident, type, machine, entry, phoff, phentsize, phnum, ...),
 * program header fields (type, flags, offset, vaddr, filesz, memsz, align) with absurd and
 * boundary values, truncation, overlapping and unsorted PT_LOADs, duplicated headers, random byte
 * flips in the headers, a moved program header table, and PT_INTERP strings (missing, empty,
 * unterminated, longer than PATH_MAX, a directory, a device, {@code /../../../tmp/x}, relative,
 * a program with its own PT_INTERP, a static program). A mutant may also ask for a companion
 * file in its directory (a relative PT_INTERP that exists relative to the working directory).
 */
public final class ElfMutator {
    static final int EHDR = 64, PHENT = 56;
    static final int PT_NULL = 0, PT_LOAD = 1, PT_DYNAMIC = 2, PT_INTERP = 3, PT_NOTE = 4, PT_PHDR = 6, PT_TLS = 7;
    static final int PT_GNU_STACK = 0x6474e551, PT_GNU_RELRO = 0x6474e552, PT_GNU_PROPERTY = 0x6474e553;
    static final long PAGE = 4096;

    /** Host files the interpreter mutations may point at (absolute paths, readable by anyone). */
    public record Paths(String dynamicLoader, String libc, String dynamicProgram, String staticProgram) {
        public static Paths host(String staticProgram) {
            return new Paths("/lib64/ld-linux-x86-64.so.2", "/lib/x86_64-linux-gnu/libc.so.6", "/usr/bin/true",
                    staticProgram);
        }
    }

    /**
     * One mutant: its bytes, a readable list of what was done, and optionally a companion file
     * ({@code companionName} in the mutant's directory, a copy of host file {@code companionSource}).
     */
    public record Mutant(byte[] bytes, String description, String companionName, String companionSource) {}

    private final Paths paths;

    public ElfMutator(Paths paths) {
        this.paths = paths;
    }

    /** Per-case seed from a campaign seed and a case index (SplitMix64 finaliser of both). */
    public static long caseSeed(long campaignSeed, long index) {
        long z = campaignSeed + 0x9E3779B97F4A7C15L * (index + 1);
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    public Mutant mutate(byte[] seed, long caseSeed) {
        SplittableRandom rnd = new SplittableRandom(caseSeed);
        Work w = new Work(seed.clone(), rnd);
        int r = rnd.nextInt(100);
        int count = r < 60 ? 1 : r < 85 ? 2 : 3 + rnd.nextInt(2);
        for (int i = 0; i < count; i++) w.mutateOnce();
        return new Mutant(w.b, String.join("; ", w.log), w.companionName, w.companionSource);
    }

    /** The mutation state of one case. Field accessors ignore writes outside the current bytes. */
    private final class Work {
        byte[] b;
        final SplittableRandom rnd;
        final List<String> log = new ArrayList<>();
        /** The seed's own program header table (mutations of the header do not move where we edit). */
        final long phoff;
        final int phnum;
        String companionName, companionSource;

        Work(byte[] b, SplittableRandom rnd) {
            this.b = b;
            this.rnd = rnd;
            this.phoff = u64(32);
            this.phnum = u16(56);
        }

        void mutateOnce() {
            int k = rnd.nextInt(100);
            if (k < 12) ehdrField();
            else if (k < 36) phdrField();
            else if (k < 44) truncate();
            else if (k < 50) overlapLoads();
            else if (k < 53) reorderLoads();
            else if (k < 68) interp();
            else if (k < 76) phnumPhentsize();
            else if (k < 80) duplicatePhdr();
            else if (k < 86) flipHeaderBytes();
            else if (k < 94) absurdSegment();
            else moveTable();
        }

        // ---- ELF header ----

        void ehdrField() {
            switch (rnd.nextInt(11)) {
                case 0 -> { int v = pick(0, 1, 2, 3, 0xff); put8(4, v); log.add("EI_CLASS=" + v); }
                case 1 -> { int v = pick(0, 1, 2, 3); put8(5, v); log.add("EI_DATA=" + v); }
                case 2 -> { int v = pick(0, 1, 2, 0xff); put8(6, v); log.add("EI_VERSION=" + v); }
                case 3 -> { int v = pick(0, 3, 97, 255); put8(7, v); log.add("EI_OSABI=" + v); }
                case 4 -> { int v = pick(0, 1, 2, 3, 4, 0xfe00, 0xffff); put16(16, v); log.add("e_type=" + v); }
                case 5 -> { int v = pick(0, 3, 40, 62, 183, 0x3e00, 0xffff); put16(18, v); log.add("e_machine=" + v); }
                case 6 -> { long v = pick(0L, 2L, 0xffffffffL); put32(20, v); log.add("e_version=" + v); }
                case 7 -> { long v = interesting(u64(24)); put64(24, v); log.add("e_entry=" + hex(v)); }
                case 8 -> { long v = interesting(u64(32)); put64(32, v); log.add("e_phoff=" + hex(v)); }
                case 9 -> { int v = pick(0, 1, 63, 64, 65, 0xffff); put16(52, v); log.add("e_ehsize=" + v); }
                default -> { long v = interesting(u64(40)); put64(40, v); log.add("e_shoff=" + hex(v)); }
            }
        }

        void phnumPhentsize() {
            if (rnd.nextBoolean()) {
                int v = pick(0, 1, 2, phnum - 1, phnum + 1, phnum * 2, 73, 74, 1170, 1171, 0xfffe, 0xffff);
                put16(56, v & 0xffff);
                log.add("e_phnum=" + (v & 0xffff));
            } else {
                int v = pick(0, 1, 32, 55, 57, 64, 112, 0xffff);
                put16(54, v);
                log.add("e_phentsize=" + v);
            }
        }

        // ---- program headers ----

        int randomPhdr() {
            if (phnum == 0) return -1;
            // Prefer PT_LOAD and PT_INTERP: that is where the loader's interesting work is.
            if (rnd.nextInt(3) > 0) {
                List<Integer> l = indexes(rnd.nextInt(4) == 0 ? PT_INTERP : PT_LOAD);
                if (!l.isEmpty()) return l.get(rnd.nextInt(l.size()));
            }
            return rnd.nextInt(phnum);
        }

        void phdrField() {
            int i = randomPhdr();
            if (i < 0) return;
            long at = ph(i);
            String what = "phdr[" + i + "](" + typeName(u32(at)) + ").";
            switch (rnd.nextInt(7)) {
                case 0 -> {
                    int v = pick(PT_NULL, PT_LOAD, PT_DYNAMIC, PT_INTERP, PT_NOTE, PT_PHDR, PT_TLS, PT_GNU_STACK,
                            PT_GNU_RELRO, 0x60000000, 0x7fffffff, 0xffffffff);
                    put32(at, v & 0xffffffffL);
                    log.add(what + "p_type=" + typeName(v));
                }
                case 1 -> {
                    long v = pick(0L, 1L, 2L, 3L, 4L, 5L, 6L, 7L, 0xf0000007L, (long) rnd.nextInt(8));
                    put32(at + 4, v);
                    log.add(what + "p_flags=" + flagsName(v));
                }
                case 2 -> { long v = interesting(u64(at + 8)); put64(at + 8, v); log.add(what + "p_offset=" + hex(v)); }
                case 3 -> { long v = interesting(u64(at + 16)); put64(at + 16, v); log.add(what + "p_vaddr=" + hex(v)); }
                case 4 -> { long v = interesting(u64(at + 32)); put64(at + 32, v); log.add(what + "p_filesz=" + hex(v)); }
                case 5 -> { long v = interesting(u64(at + 40)); put64(at + 40, v); log.add(what + "p_memsz=" + hex(v)); }
                default -> {
                    long v = pick(0L, 1L, 3L, 0x10L, 0x1000L, 0x1800L, 0x200000L, 1L << 30, 1L << 40, 1L << 62,
                            1L << 63, -1L);
                    put64(at + 48, v);
                    log.add(what + "p_align=" + hex(v));
                }
            }
        }

        void absurdSegment() {
            int i = randomPhdr();
            if (i < 0) return;
            long at = ph(i);
            long[] absurd = {-1L, 1L << 63, Long.MAX_VALUE, 1L << 47, 0x7ffffffff000L, 0x800000000000L, 1L << 40,
                    (1L << 40) - PAGE, b.length, b.length + 1L, -PAGE, 0xffffffff80000000L};
            int field = pick(8, 16, 32, 40);
            long v = absurd[rnd.nextInt(absurd.length)];
            put64(at + field, v);
            log.add("phdr[" + i + "](" + typeName(u32(at)) + ")." + fieldName(field) + "=" + hex(v) + " (absurd)");
        }

        void duplicatePhdr() {
            if (phnum < 2) return;
            int from = randomPhdr(), to = rnd.nextInt(phnum);
            if (from < 0 || from == to) return;
            if (!copy(ph(from), ph(to), PHENT)) return;
            log.add("phdr[" + to + "]=copy of phdr[" + from + "](" + typeName(u32(ph(from))) + ")");
        }

        void overlapLoads() {
            List<Integer> loads = indexes(PT_LOAD);
            if (loads.size() < 2) return;
            int j = 1 + rnd.nextInt(loads.size() - 1);
            long a = ph(loads.get(j - 1)), c = ph(loads.get(j));
            switch (rnd.nextInt(3)) {
                case 0 -> { // the later segment starts inside the earlier one's page range (same page offset)
                    long v = (u64(a + 16) & -PAGE) + (u64(c + 8) & (PAGE - 1));
                    put64(c + 16, v);
                    log.add("overlap: load phdr[" + loads.get(j) + "].p_vaddr=" + hex(v) + " (inside phdr[" + loads.get(j - 1) + "])");
                }
                case 1 -> { // the earlier segment's memory runs over the later one
                    long v = u64(c + 16) - u64(a + 16) + PAGE;
                    put64(a + 40, v);
                    log.add("overlap: load phdr[" + loads.get(j - 1) + "].p_memsz=" + hex(v) + " (covers phdr[" + loads.get(j) + "])");
                }
                default -> { // identical copies
                    if (!copy(a, c, PHENT)) return;
                    log.add("overlap: load phdr[" + loads.get(j) + "]=copy of phdr[" + loads.get(j - 1) + "]");
                }
            }
        }

        void reorderLoads() {
            List<Integer> loads = indexes(PT_LOAD);
            if (loads.size() < 2) return;
            int x = loads.get(rnd.nextInt(loads.size())), y = loads.get(rnd.nextInt(loads.size()));
            if (x == y || !in(ph(x), PHENT) || !in(ph(y), PHENT)) return;
            byte[] t = Arrays.copyOfRange(b, (int) ph(x), (int) ph(x) + PHENT);
            System.arraycopy(b, (int) ph(y), b, (int) ph(x), PHENT);
            System.arraycopy(t, 0, b, (int) ph(y), PHENT);
            log.add("swap load phdr[" + x + "] and phdr[" + y + "] (unsorted PT_LOADs)");
        }

        void moveTable() {
            // Copy the table to the end of the file (not covered by any PT_LOAD) and point e_phoff at it.
            long tableEnd = phoff + (long) phnum * PHENT;
            if (tableEnd > b.length) return;
            byte[] table = Arrays.copyOfRange(b, (int) phoff, (int) tableEnd);
            int newOff = align8(b.length);
            grow(newOff + table.length);
            System.arraycopy(table, 0, b, newOff, table.length);
            put64(32, newOff);
            log.add("program header table moved to file offset " + hex(newOff) + " (outside every PT_LOAD)");
        }

        void truncate() {
            long tableEnd = phoff + (long) phnum * PHENT;
            long len = switch (rnd.nextInt(5)) {
                case 0 -> rnd.nextInt(EHDR);
                case 1 -> EHDR + rnd.nextLong(Math.max(1, tableEnd - EHDR));
                case 2 -> tableEnd + rnd.nextLong(Math.max(1, b.length - tableEnd));
                case 3 -> b.length - 1L;
                default -> {
                    List<Integer> loads = indexes(PT_LOAD);
                    if (loads.isEmpty()) yield (long) b.length / 2;
                    long at = ph(loads.get(rnd.nextInt(loads.size())));
                    yield Math.min(b.length, u64(at + 8) + u64(at + 32) - (rnd.nextBoolean() ? 1 : 0));
                }
            };
            len = Math.max(0, Math.min(len, b.length));
            b = Arrays.copyOf(b, (int) len);
            log.add("truncate to " + len + " bytes");
        }

        void flipHeaderBytes() {
            long end = Math.min(b.length, phoff + (long) phnum * PHENT);
            if (end <= 0) return;
            int n = 1 + rnd.nextInt(8);
            StringBuilder s = new StringBuilder("flip bytes");
            for (int k = 0; k < n; k++) {
                int at = rnd.nextInt((int) end);
                if (at < 4) continue; // keep the magic: random magic damage is one boring case
                int v = rnd.nextInt(256);
                b[at] = (byte) v;
                s.append(' ').append(at).append('=').append(v);
            }
            log.add(s.toString());
        }

        // ---- PT_INTERP ----

        void interp() {
            List<Integer> interps = indexes(PT_INTERP);
            int i;
            if (!interps.isEmpty()) {
                i = interps.getFirst();
                if (rnd.nextInt(6) == 0) { // remove it: a dynamic program without its loader
                    put32(ph(i), PT_NULL);
                    log.add("PT_INTERP phdr[" + i + "] removed (p_type=PT_NULL)");
                    return;
                }
            } else {
                // Static seed: turn a harmless header (NOTE, GNU_PROPERTY, GNU_STACK, ...) into PT_INTERP.
                List<Integer> spare = new ArrayList<>();
                for (int k = 0; k < phnum; k++) {
                    int t = u32(ph(k));
                    if (t == PT_NOTE || t == PT_GNU_PROPERTY || t == PT_GNU_STACK || t == PT_GNU_RELRO || t == PT_NULL) spare.add(k);
                }
                if (spare.isEmpty()) return;
                i = spare.get(rnd.nextInt(spare.size()));
                put32(ph(i), PT_INTERP);
            }
            long at = ph(i);
            String pad = "a".repeat(5000);
            String[] names = {
                "", "/tmp", "/", "/../../../tmp/x", "/../../../tmp", "/dev/null", "/nonexistent/ld.so",
                "lib64/ld-linux-x86-64.so.2", "ld.so", paths.dynamicLoader(), paths.libc(), paths.dynamicProgram(),
                paths.staticProgram(), "/" + pad.substring(0, 4094), "/" + pad, paths.dynamicLoader() + "\0junk",
                "/proc/self/fd/0",
            };
            int choice = rnd.nextInt(names.length + 3);
            if (choice < names.length) {
                String name = names[choice];
                boolean terminated = rnd.nextInt(8) != 0;
                byte[] s = (terminated ? name + "\0" : name).getBytes(StandardCharsets.UTF_8);
                int off = align8(b.length);
                grow(off + s.length);
                System.arraycopy(s, 0, b, off, s.length);
                put64(at + 8, off);
                put64(at + 32, s.length);
                put64(at + 40, s.length);
                String shown = name.length() > 40 ? name.substring(0, 20) + "...(" + name.length() + " chars)" : name.replace("\0", "\\0");
                log.add("PT_INTERP phdr[" + i + "]=\"" + shown + "\"" + (terminated ? "" : " unterminated"));
                if (name.equals("ld.so")) { // exists relative to the working directory, not in the rootfs
                    companionName = "ld.so";
                    companionSource = paths.dynamicLoader();
                }
            } else if (choice == names.length) {
                long v = interesting(u64(at + 32));
                put64(at + 32, v);
                log.add("PT_INTERP phdr[" + i + "].p_filesz=" + hex(v));
            } else if (choice == names.length + 1) {
                long v = interesting(u64(at + 8));
                put64(at + 8, v);
                log.add("PT_INTERP phdr[" + i + "].p_offset=" + hex(v));
            } else {
                put64(at + 32, 0);
                log.add("PT_INTERP phdr[" + i + "].p_filesz=0");
            }
        }

        // ---- values ----

        long interesting(long orig) {
            long[] fixed = {0, 1, orig + 1, orig - 1, orig + PAGE, orig - PAGE, orig ^ (1L << rnd.nextInt(64)),
                    orig * 2, b.length, b.length - 1L, b.length + PAGE, Long.MAX_VALUE, -1L, 1L << 63, 1L << 47,
                    0x7ffffffff000L, 0x800000000000L, 1L << 40, (1L << 40) - PAGE, 0x10000, 0xffff, 0xfff,
                    rnd.nextLong(), rnd.nextLong(1L << 32) & -PAGE};
            return fixed[rnd.nextInt(fixed.length)];
        }

        int pick(int... v) { return v[rnd.nextInt(v.length)]; }
        long pick(long... v) { return v[rnd.nextInt(v.length)]; }

        List<Integer> indexes(int type) {
            List<Integer> l = new ArrayList<>();
            for (int k = 0; k < phnum; k++) if (ph(k) + PHENT <= b.length && u32(ph(k)) == type) l.add(k);
            return l;
        }

        long ph(int i) { return phoff + (long) i * PHENT; }

        /** Copies len bytes within the file if both ranges exist (a truncation may have cut them). */
        boolean copy(long from, long to, int len) {
            if (!in(from, len) || !in(to, len)) return false;
            System.arraycopy(b, (int) from, b, (int) to, len);
            return true;
        }

        void grow(int len) { if (len > b.length) b = Arrays.copyOf(b, len); }

        ByteBuffer buf() { return ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN); }
        boolean in(long at, int n) { return at >= 0 && at + n <= b.length; }
        int u16(long at) { return in(at, 2) ? Short.toUnsignedInt(buf().getShort((int) at)) : 0; }
        int u32(long at) { return in(at, 4) ? buf().getInt((int) at) : -1; }
        long u64(long at) { return in(at, 8) ? buf().getLong((int) at) : 0; }
        void put8(long at, int v) { if (in(at, 1)) b[(int) at] = (byte) v; }
        void put16(long at, int v) { if (in(at, 2)) buf().putShort((int) at, (short) v); }
        void put32(long at, long v) { if (in(at, 4)) buf().putInt((int) at, (int) v); }
        void put64(long at, long v) { if (in(at, 8)) buf().putLong((int) at, v); }
    }

    static int align8(int n) { return (n + 7) & ~7; }

    static String hex(long v) { return "0x" + Long.toHexString(v); }

    static String fieldName(int off) {
        return switch (off) {
            case 8 -> "p_offset";
            case 16 -> "p_vaddr";
            case 32 -> "p_filesz";
            case 40 -> "p_memsz";
            default -> "+" + off;
        };
    }

    static String flagsName(long f) {
        String s = ((f & 4) != 0 ? "R" : "") + ((f & 2) != 0 ? "W" : "") + ((f & 1) != 0 ? "X" : "");
        return (s.isEmpty() ? "none" : s) + ((f & ~7L) != 0 ? "+" + hex(f & ~7L) : "");
    }

    static String typeName(int t) {
        return switch (t) {
            case PT_NULL -> "NULL";
            case PT_LOAD -> "LOAD";
            case PT_DYNAMIC -> "DYNAMIC";
            case PT_INTERP -> "INTERP";
            case PT_NOTE -> "NOTE";
            case PT_PHDR -> "PHDR";
            case PT_TLS -> "TLS";
            case PT_GNU_STACK -> "GNU_STACK";
            case PT_GNU_RELRO -> "GNU_RELRO";
            case PT_GNU_PROPERTY -> "GNU_PROPERTY";
            default -> hex(t & 0xffffffffL);
        };
    }
}
