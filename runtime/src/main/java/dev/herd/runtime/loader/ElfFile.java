package dev.herd.runtime.loader;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * The validated headers of an ELF64 little-endian executable: the ELF header, the program header
 * table and the facts the loader needs from it (PT_LOAD segments, PT_INTERP, PT_GNU_STACK,
 * PT_TLS, PT_PHDR). Only the ELF header, the program header table and the PT_INTERP string are
 * read here; segment contents are read by {@link ElfLoader} when it copies them into guest memory,
 * so a huge file costs nothing to parse.
 *
 * <p>Validation is stricter than Linux's {@code load_elf_binary} in a few places (overlapping or
 * unsorted PT_LOADs, PT_LOAD file ranges past the end of the file), because Herd prefers one clear
 * message at startup to a guest that crashes later in a way nobody can diagnose. Every rejection
 * is an {@link ExecFormatException} with one message; no other exception type escapes for any
 * content of the file (I/O errors are {@link IOException}).
 *
 * <p>Immutable and thread-safe.
 */
public final class ElfFile {
    /** Guest page size used for alignment checks (both supported architectures use 4 KiB). */
    public static final long PAGE_SIZE = 4096;

    public static final int ET_EXEC = 2, ET_DYN = 3;
    public static final int EM_X86_64 = 62, EM_AARCH64 = 183;
    public static final int PT_NULL = 0, PT_LOAD = 1, PT_DYNAMIC = 2, PT_INTERP = 3, PT_NOTE = 4, PT_PHDR = 6,
            PT_TLS = 7, PT_GNU_STACK = 0x6474e551;
    /** Segment permission bits (p_flags). */
    public static final int PF_X = 1, PF_W = 2, PF_R = 4;

    /** Size of an ELF64 header and of one ELF64 program header. */
    public static final int EHDR_SIZE = 64, PHDR_SIZE = 56;
    /** Linux's cap on the program header table: 64 KiB worth of entries ({@code load_elf_phdrs}). */
    public static final int MAX_PHNUM = 65536 / PHDR_SIZE;
    /** Linux's PATH_MAX, the longest PT_INTERP string we accept. */
    private static final int PATH_MAX = 4096;
    /**
     * Highest user address + 1 of x86_64 Linux with 4-level paging (TASK_SIZE_MAX). A PT_LOAD
     * beyond it could never load on Linux either; the guest space size is checked at load time.
     */
    public static final long USER_ADDRESS_LIMIT = 0x7ffffffff000L;

    /** Guest CPU architecture of the file. */
    public enum Machine {
        X86_64(EM_X86_64, "x86_64"), AARCH64(EM_AARCH64, "aarch64");

        private final int code;
        private final String linuxName;

        Machine(int code, String linuxName) {
            this.code = code;
            this.linuxName = linuxName;
        }

        /** The ELF e_machine value. */
        public int code() { return code; }
        /** The name {@code uname -m} reports for this architecture. */
        public String linuxName() { return linuxName; }

        /** The machine with ELF e_machine {@code code}; IllegalArgumentException for others. */
        public static Machine of(int code) {
            for (Machine m : values()) if (m.code == code) return m;
            throw new IllegalArgumentException("no such guest machine: " + code);
        }
    }

    /** One program header, fields as in {@code Elf64_Phdr}; {@code index} is its position in the table. */
    public record ProgramHeader(int index, int type, int flags, long offset, long vaddr, long paddr,
                                long filesz, long memsz, long align) {
        public boolean readable() { return (flags & PF_R) != 0; }
        public boolean writable() { return (flags & PF_W) != 0; }
        public boolean executable() { return (flags & PF_X) != 0; }
        /** First byte after the segment in memory (unbiased). */
        public long vend() { return vaddr + memsz; }
    }

    private final String name;
    private final long fileSize;
    private final int type;
    private final Machine machine;
    private final long entry;
    private final long phoff;
    private final int phnum;
    private final byte[] phdrTable;
    private final List<ProgramHeader> programHeaders;
    private final List<ProgramHeader> loads;
    private final String interpreter;
    private final ProgramHeader tls;
    private final ProgramHeader phdrSegment;
    private final boolean stackExecutable;

    private ElfFile(String name, long fileSize, int type, Machine machine, long entry, long phoff, int phnum,
                    byte[] phdrTable, List<ProgramHeader> programHeaders, List<ProgramHeader> loads,
                    String interpreter, ProgramHeader tls, ProgramHeader phdrSegment, boolean stackExecutable) {
        this.name = name;
        this.fileSize = fileSize;
        this.type = type;
        this.machine = machine;
        this.entry = entry;
        this.phoff = phoff;
        this.phnum = phnum;
        this.phdrTable = phdrTable;
        this.programHeaders = programHeaders;
        this.loads = loads;
        this.interpreter = interpreter;
        this.tls = tls;
        this.phdrSegment = phdrSegment;
        this.stackExecutable = stackExecutable;
    }

    /**
     * Reads and validates the headers of the file at {@code path}.
     *
     * @throws ExecFormatException the file is not a loadable x86_64 ELF executable (message says why)
     * @throws IOException the file cannot be opened or read (not found, permission, is a directory)
     */
    public static ElfFile read(Path path) throws IOException, ExecFormatException {
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            return read(ch, path.toString());
        }
    }

    /**
     * Reads and validates ELF headers from any seekable channel (position is changed).
     * {@code name} is only used in {@link #toString()}.
     */
    public static ElfFile read(SeekableByteChannel ch, String name) throws IOException, ExecFormatException {
        long size = ch.size();
        if (size == 0) throw new ExecFormatException("not an ELF file (the file is empty)");
        ByteBuffer eh = readAt(ch, 0, (int) Math.min(size, EHDR_SIZE));
        if (eh.limit() < 4 || eh.get(0) != 0x7f || eh.get(1) != 'E' || eh.get(2) != 'L' || eh.get(3) != 'F') {
            throw new ExecFormatException("not an ELF file");
        }
        if (eh.limit() < 16) throw new ExecFormatException("truncated ELF header");
        // Linux's load_elf_binary checks the magic, e_type and e_machine (elf_check_arch) and never
        // looks at EI_CLASS, EI_DATA, EI_VERSION or e_version: an x86_64 file with odd ident bytes
        // runs. So does it under Herd. For any other machine the ident bytes give the clearest
        // message (a real 32-bit or big-endian file); for x86_64 they only do if the file then
        // fails to parse as ELF64 with EI_CLASS 32-bit (a real x32 file, say).
        String identProblem = identProblem(eh.get(4), eh.get(5), eh.get(6));
        boolean x86_64 = eh.limit() >= 20 && Short.toUnsignedInt(eh.getShort(18)) == EM_X86_64;
        if (identProblem != null && !x86_64) throw new ExecFormatException(identProblem);
        if (eh.limit() < EHDR_SIZE) throw new ExecFormatException(identProblem != null ? identProblem : "truncated ELF header");
        try {
            return readElf64(ch, name, size, eh);
        } catch (ExecFormatException e) {
            // Only a 32-bit class makes the ELF64 reading meaningless (a real x32 file); for any
            // other odd ident byte the ELF64 problem is the real reason (Linux would say ENOEXEC
            // for it too).
            // The ELF64 reading's own problem is kept too: Linux ignores EI_CLASS, so for a
            // damaged 64-bit file with a stray class byte that problem is the real one (fuzz seed
            // 1 case 3948: overlapping PT_LOADs).
            if (eh.get(4) == 1) throw new ExecFormatException(identProblem + " (read as ELF64: " + e.getMessage() + ")");
            throw e;
        }
    }

    private static String identProblem(int cls, int data, int identVersion) {
        if (cls == 1) return "32-bit ELF (ELFCLASS32) is not supported, expected 64-bit";
        if (cls != 2) return "invalid ELF class " + cls;
        if (data == 2) return "big-endian ELF is not supported, expected little-endian";
        if (data != 1) return "invalid ELF data encoding " + data;
        if (identVersion != 1) return "invalid ELF version " + identVersion;
        return null;
    }

    private static ElfFile readElf64(SeekableByteChannel ch, String name, long size, ByteBuffer eh)
            throws IOException, ExecFormatException {

        int type = Short.toUnsignedInt(eh.getShort(16));
        int machineCode = Short.toUnsignedInt(eh.getShort(18));
        long entry = eh.getLong(24);
        long phoff = eh.getLong(32);
        int phentsize = Short.toUnsignedInt(eh.getShort(54));
        int phnum = Short.toUnsignedInt(eh.getShort(56));

        switch (type) {
            case ET_EXEC, ET_DYN -> { }
            case 0 -> throw new ExecFormatException("ELF file has no type (ET_NONE)");
            case 1 -> throw new ExecFormatException("relocatable object file (ET_REL), not an executable");
            case 4 -> throw new ExecFormatException("core dump (ET_CORE), not an executable");
            default -> throw new ExecFormatException("unsupported ELF type " + type);
        }
        Machine machine = switch (machineCode) {
            case EM_X86_64 -> Machine.X86_64;
            case EM_AARCH64 -> Machine.AARCH64;
            default -> throw new ExecFormatException("ELF for " + machineName(machineCode) + ", expected x86_64 or aarch64");
        };

        if (phentsize != PHDR_SIZE) {
            throw new ExecFormatException("invalid program header entry size " + phentsize + " (expected " + PHDR_SIZE + ")");
        }
        if (phnum == 0) throw new ExecFormatException("no program headers");
        if (phnum > MAX_PHNUM) throw new ExecFormatException("too many program headers (" + phnum + ")");
        long tableSize = (long) phnum * PHDR_SIZE;
        if (!within(phoff, tableSize, size)) throw new ExecFormatException("truncated program header table");

        ByteBuffer ph = readAt(ch, phoff, (int) tableSize);
        byte[] phdrTable = new byte[(int) tableSize];
        ph.get(0, phdrTable);

        List<ProgramHeader> all = new ArrayList<>(phnum);
        List<ProgramHeader> loads = new ArrayList<>();
        ProgramHeader interp = null, tls = null, phdrSeg = null, gnuStack = null;
        for (int i = 0; i < phnum; i++) {
            int b = i * PHDR_SIZE;
            ProgramHeader p = new ProgramHeader(i, ph.getInt(b), ph.getInt(b + 4), ph.getLong(b + 8),
                    ph.getLong(b + 16), ph.getLong(b + 24), ph.getLong(b + 32), ph.getLong(b + 40), ph.getLong(b + 48));
            all.add(p);
            switch (p.type()) {
                case PT_LOAD -> {
                    checkLoad(p, size, loads.isEmpty() ? null : loads.getLast());
                    loads.add(p);
                }
                // Linux reads the first PT_INTERP and ignores any later one; it never looks at
                // PT_TLS (the C library does, through AT_PHDR) and does not refuse a second
                // PT_PHDR. So the first of each counts and duplicates are not refused.
                case PT_INTERP -> { if (interp == null) interp = p; }
                case PT_TLS -> { if (tls == null) tls = p; }
                case PT_PHDR -> { if (phdrSeg == null) phdrSeg = p; }
                // Linux uses the last PT_GNU_STACK it sees; so do we.
                case PT_GNU_STACK -> gnuStack = p;
                default -> { }
            }
        }
        if (loads.isEmpty()) throw new ExecFormatException("no PT_LOAD segments");

        String interpreter = null;
        if (interp != null) interpreter = readInterpreter(ch, interp, size);
        // x86_64 and aarch64 Linux default to a non-executable stack when PT_GNU_STACK is absent
        // (elf_read_implies_exec only applies to 32-bit x86 processes).
        boolean execStack = gnuStack != null && gnuStack.executable();

        return new ElfFile(name, size, type, machine, entry, phoff, phnum, phdrTable,
                Collections.unmodifiableList(all), Collections.unmodifiableList(loads), interpreter, tls, phdrSeg, execStack);
    }

    private static void checkLoad(ProgramHeader p, long fileSize, ProgramHeader previous) throws ExecFormatException {
        String what = "PT_LOAD segment " + p.index();
        if (!within(p.offset(), p.filesz(), fileSize)) throw new ExecFormatException(what + " extends past end of file");
        if (Long.compareUnsigned(p.filesz(), p.memsz()) > 0) {
            throw new ExecFormatException(what + " has a file size larger than its memory size");
        }
        if (!within(p.vaddr(), p.memsz(), USER_ADDRESS_LIMIT)) {
            throw new ExecFormatException(what + " lies outside the user address space");
        }
        // mmap maps whole pages, so the file offset and the address must share their page offset.
        if (Math.floorMod(p.vaddr(), PAGE_SIZE) != Math.floorMod(p.offset(), PAGE_SIZE)) {
            throw new ExecFormatException(String.format(
                    "%s: address 0x%x and file offset 0x%x are not congruent modulo the page size", what, p.vaddr(), p.offset()));
        }
        // p_align is not checked: Linux ignores an alignment that is not a power of two
        // (maximum_alignment in binfmt_elf.c), see maxAlign().
        if (previous != null) {
            if (p.vaddr() < previous.vaddr()) throw new ExecFormatException("PT_LOAD segments are not sorted by address");
            // Segments may share a page (the later one wins that page, as on Linux), but not bytes.
            if (p.vaddr() < previous.vend()) {
                throw new ExecFormatException(what + " overlaps PT_LOAD segment " + previous.index());
            }
        }
    }

    private static String readInterpreter(SeekableByteChannel ch, ProgramHeader p, long fileSize)
            throws IOException, ExecFormatException {
        if (!within(p.offset(), p.filesz(), fileSize)) {
            throw new ExecFormatException("PT_INTERP segment " + p.index() + " extends past end of file");
        }
        if (p.filesz() < 2 || p.filesz() > PATH_MAX) throw new ExecFormatException("invalid PT_INTERP size " + p.filesz());
        ByteBuffer b = readAt(ch, p.offset(), (int) p.filesz());
        byte[] bytes = new byte[b.limit()];
        b.get(0, bytes);
        if (bytes[bytes.length - 1] != 0) throw new ExecFormatException("PT_INTERP path is not NUL-terminated");
        int len = 0;
        while (bytes[len] != 0) len++;
        if (len == 0) throw new ExecFormatException("PT_INTERP path is empty");
        return new String(bytes, 0, len, StandardCharsets.UTF_8);
    }

    /** True if [off, off+len) lies within [0, limit), treating all three as unsigned and catching overflow. */
    static boolean within(long off, long len, long limit) {
        return off >= 0 && len >= 0 && off <= limit && len <= limit - off;
    }

    private static ByteBuffer readAt(SeekableByteChannel ch, long pos, int len) throws IOException, ExecFormatException {
        ByteBuffer b = ByteBuffer.allocate(len).order(ByteOrder.LITTLE_ENDIAN);
        ch.position(pos);
        while (b.hasRemaining()) {
            // The size was checked, so EOF here means the file shrank under us.
            if (ch.read(b) < 0) throw new ExecFormatException("file is truncated (it changed while being read)");
        }
        return b.flip();
    }

    private static String machineName(int code) {
        return switch (code) {
            case 0 -> "no machine (EM_NONE)";
            case 3 -> "i386";
            case 8 -> "mips";
            case 20 -> "ppc";
            case 21 -> "ppc64";
            case 22 -> "s390";
            case 40 -> "arm";
            case 50 -> "ia64";
            case 243 -> "riscv";
            case 258 -> "loongarch";
            default -> "machine " + code;
        };
    }

    /** The path or name the headers were read from. */
    public String name() { return name; }
    public long fileSize() { return fileSize; }
    /** {@link #ET_EXEC} (fixed addresses) or {@link #ET_DYN} (position independent). */
    public int type() { return type; }
    public boolean isPositionIndependent() { return type == ET_DYN; }
    public Machine machine() { return machine; }
    /** e_entry, unbiased. */
    public long entry() { return entry; }
    /** e_phoff: file offset of the program header table. */
    public long phoff() { return phoff; }
    public int phnum() { return phnum; }
    public int phentsize() { return PHDR_SIZE; }
    /** The raw program header table as in the file (a copy). */
    public byte[] programHeaderTable() { return phdrTable.clone(); }
    /** All program headers in file order. */
    public List<ProgramHeader> programHeaders() { return programHeaders; }
    /** PT_LOAD headers, sorted by address, non-overlapping. */
    public List<ProgramHeader> loads() { return loads; }
    /** The PT_INTERP path (dynamic linker), or null for a static executable. */
    public String interpreter() { return interpreter; }
    public boolean isDynamic() { return interpreter != null; }
    /** The PT_TLS header, or null. */
    public ProgramHeader tls() { return tls; }
    /** The PT_PHDR header, or null. */
    public ProgramHeader phdrSegment() { return phdrSegment; }
    /** PT_GNU_STACK asks for an executable stack. */
    public boolean stackExecutable() { return stackExecutable; }

    /** Lowest page touched by any PT_LOAD (unbiased). */
    public long imageStart() { return pageDown(loads.getFirst().vaddr()); }
    /** End of the highest PT_LOAD rounded up to a page (unbiased). */
    public long imageEnd() {
        long end = 0;
        for (ProgramHeader p : loads) end = Math.max(end, p.vend());
        return pageUp(end);
    }
    /**
     * Largest PT_LOAD p_align that is a power of two, at least the page size; alignments that are
     * not powers of two are ignored, as Linux's {@code maximum_alignment} does. May be
     * {@code Long.MIN_VALUE} (2^63, as unsigned) for an absurd p_align: callers check it against
     * the address space.
     */
    public long maxAlign() {
        long a = PAGE_SIZE;
        for (ProgramHeader p : loads) {
            long al = p.align();
            if (Long.bitCount(al) == 1 && Long.compareUnsigned(al, a) > 0) a = al;
        }
        return a;
    }

    /**
     * Unbiased AT_PHDR, Linux's rule (fs/binfmt_elf.c since 5.18): the address at which the PT_LOAD
     * whose file bytes contain offset e_phoff puts it (the last such segment), whatever PT_PHDR
     * says; 0 when no segment maps it (AT_PHDR is then the load bias, as on Linux).
     */
    public long phdrVaddr() {
        long at = 0;
        for (ProgramHeader p : loads) {
            if (p.offset() <= phoff && phoff - p.offset() < p.filesz()) at = phoff - p.offset() + p.vaddr();
        }
        return at;
    }

    static long pageDown(long a) { return a & -PAGE_SIZE; }
    static long pageUp(long a) { return (a + PAGE_SIZE - 1) & -PAGE_SIZE; }

    @Override
    public String toString() {
        return "ElfFile[" + name + ", " + machine.linuxName() + (type == ET_EXEC ? " ET_EXEC" : " ET_DYN")
                + ", entry=0x" + Long.toHexString(entry) + ", " + loads.size() + " PT_LOAD"
                + (interpreter != null ? ", interp=" + interpreter : "") + "]";
    }
}
