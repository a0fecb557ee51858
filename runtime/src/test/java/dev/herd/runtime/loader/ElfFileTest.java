package dev.herd.runtime.loader;

import dev.herd.runtime.loader.ElfFile.ProgramHeader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

class ElfFileTest {

    // ---- valid files, checked against readelf ----

    @Test
    void staticExecutableMatchesReadelf() throws Exception {
        Path p = TestBinaries.staticExe();
        ElfFile elf = ElfFile.read(p);
        assertEquals(ElfFile.ET_EXEC, elf.type());
        assertNull(elf.interpreter());
        assertNotNull(elf.tls(), "hello.c has a __thread variable");
        assertFalse(elf.stackExecutable());
        checkAgainstReadelf(p, elf);
    }

    @Test
    void staticPieMatchesReadelf() throws Exception {
        Path p = TestBinaries.staticPie();
        ElfFile elf = ElfFile.read(p);
        assertEquals(ElfFile.ET_DYN, elf.type());
        assertTrue(elf.isPositionIndependent());
        assertFalse(elf.isDynamic());
        checkAgainstReadelf(p, elf);
    }

    @Test
    void dynamicPieHasInterpreter() throws Exception {
        Path p = TestBinaries.dynamicPie();
        ElfFile elf = ElfFile.read(p);
        assertEquals(ElfFile.ET_DYN, elf.type());
        checkAgainstReadelf(p, elf);
        assertNotNull(elf.phdrSegment(), "gcc's PIEs carry PT_PHDR");
        assertEquals(elf.phdrSegment().vaddr(), elf.phdrVaddr());
    }

    /** AT_PHDR follows the PT_LOAD that maps e_phoff (Linux 5.18+), not what PT_PHDR claims. */
    @Test
    void phdrAddressIgnoresALyingPtPhdr() throws Exception {
        byte[] b = validDynamic();
        ElfFile honest = ElfFile.read(new ByteArrayChannel(b), "honest");
        java.nio.ByteBuffer bb = java.nio.ByteBuffer.wrap(b).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        long phoff = bb.getLong(32);
        int phnum = bb.getShort(56);
        for (int i = 0; i < phnum; i++) {
            int at = (int) phoff + i * 56;
            if (bb.getInt(at) == 6 /* PT_PHDR */) bb.putLong(at + 16, 0x123000);
        }
        ElfFile lying = ElfFile.read(new ByteArrayChannel(b), "lying");
        assertEquals(0x123000, lying.phdrSegment().vaddr());
        assertEquals(honest.phdrVaddr(), lying.phdrVaddr());
        // No PT_LOAD maps the table: 0, so AT_PHDR is the load bias, as on Linux.
        byte[] moved = java.util.Arrays.copyOf(b, b.length + 56 * phnum);
        System.arraycopy(b, (int) phoff, moved, b.length, 56 * phnum);
        java.nio.ByteBuffer.wrap(moved).order(java.nio.ByteOrder.LITTLE_ENDIAN).putLong(32, b.length);
        assertEquals(0, ElfFile.read(new ByteArrayChannel(moved), "unmapped").phdrVaddr());
    }

    @Test
    void busyboxMatchesReadelf() throws Exception {
        Path p = TestBinaries.busybox();
        ElfFile elf = ElfFile.read(p);
        assertEquals(ElfFile.Machine.X86_64, elf.machine());
        checkAgainstReadelf(p, elf);
    }

    @Test
    void execStackFlag() throws Exception {
        assertTrue(ElfFile.read(TestBinaries.execStack()).stackExecutable());
    }

    @Test
    void phdrAddressCoversProgramHeaderBytes() throws Exception {
        for (Path p : List.of(TestBinaries.staticExe(), TestBinaries.staticPie())) {
            ElfFile elf = ElfFile.read(p);
            long a = elf.phdrVaddr();
            assertTrue(a >= 0, p.toString());
            // Find the file offset the address comes from and compare bytes with the table.
            ProgramHeader seg = elf.loads().stream().filter(l -> a >= l.vaddr() && a < l.vaddr() + l.filesz()).findFirst().orElseThrow();
            long off = seg.offset() + (a - seg.vaddr());
            byte[] file = Files.readAllBytes(p);
            assertArrayEquals(elf.programHeaderTable(), Arrays.copyOfRange(file, (int) off, (int) off + elf.phnum() * 56));
        }
    }

    private static final Pattern LOAD = Pattern.compile(
            "^\\s*LOAD\\s+(0x\\p{XDigit}+)\\s+(0x\\p{XDigit}+)\\s+(0x\\p{XDigit}+)\\s+(0x\\p{XDigit}+)\\s+(0x\\p{XDigit}+)\\s+([RWE ]+?)\\s+(0x\\p{XDigit}+)\\s*$",
            Pattern.MULTILINE);

    static void checkAgainstReadelf(Path p, ElfFile elf) throws Exception {
        String h = TestBinaries.run("readelf", "-hW", p.toString());
        String l = TestBinaries.run("readelf", "-lW", p.toString());
        assertEquals(hexField(h, "Entry point address:"), elf.entry());
        assertEquals(hexOrDec(h, "Number of program headers:"), elf.phnum());
        assertEquals(hexOrDec(h, "Start of program headers:"), elf.phoff());
        Matcher m = LOAD.matcher(l);
        List<ProgramHeader> loads = elf.loads();
        int i = 0;
        while (m.find()) {
            ProgramHeader ph = loads.get(i++);
            assertEquals(Long.decode(m.group(1)), ph.offset());
            assertEquals(Long.decode(m.group(2)), ph.vaddr());
            assertEquals(Long.decode(m.group(4)), ph.filesz());
            assertEquals(Long.decode(m.group(5)), ph.memsz());
            String f = m.group(6).replace(" ", "");
            assertEquals(f.contains("R"), ph.readable());
            assertEquals(f.contains("W"), ph.writable());
            assertEquals(f.contains("E"), ph.executable());
            assertEquals(Long.decode(m.group(7)), ph.align());
        }
        assertEquals(loads.size(), i, "number of PT_LOADs");
        Matcher im = Pattern.compile("\\[Requesting program interpreter: (.*)]").matcher(l);
        assertEquals(im.find() ? im.group(1) : null, elf.interpreter());
        assertEquals(l.contains("GNU_STACK") && Pattern.compile("GNU_STACK.*RWE").matcher(l).find(), elf.stackExecutable());
        assertEquals(Pattern.compile("^\\s*TLS\\s", Pattern.MULTILINE).matcher(l).find(), elf.tls() != null);
    }

    private static long hexField(String text, String label) {
        Matcher m = Pattern.compile(Pattern.quote(label) + "\\s+(0x\\p{XDigit}+)").matcher(text);
        assertTrue(m.find(), label);
        return Long.decode(m.group(1));
    }

    private static long hexOrDec(String text, String label) {
        Matcher m = Pattern.compile(Pattern.quote(label) + "\\s+(\\S+)").matcher(text);
        assertTrue(m.find(), label);
        return Long.decode(m.group(1));
    }

    // ---- corrupt inputs ----

    record Corruption(String name, Consumer<ByteBuffer> mutate, int truncateTo, String expected) {
        @Override public String toString() { return name; }
    }

    static byte[] validStatic() throws Exception { return Files.readAllBytes(TestBinaries.staticExe()); }
    static byte[] validDynamic() throws Exception { return Files.readAllBytes(TestBinaries.dynamicPie()); }

    /** Offset of program header i in a valid file's bytes. */
    static int ph(ByteBuffer b, int i) { return (int) b.getLong(32) + i * 56; }
    static int loadIndex(ByteBuffer b, int nth) {
        int n = b.getShort(56), seen = 0;
        for (int i = 0; i < n; i++) if (b.getInt(ph(b, i)) == ElfFile.PT_LOAD && seen++ == nth) return i;
        throw new AssertionError("no PT_LOAD " + nth);
    }

    static Stream<Corruption> corruptions() {
        List<Corruption> c = new ArrayList<>();
        c.add(new Corruption("bad magic", b -> b.put(1, (byte) 'X'), -1, "not an ELF file"));
        // Ident bytes only decide the message when the file is not a parseable x86_64 ELF64
        // (see identBytesAreIgnoredForX86_64LikeLinux).
        c.add(new Corruption("ELFCLASS32 i386", b -> b.put(4, (byte) 1).putShort(18, (short) 3), -1,
                "32-bit ELF (ELFCLASS32) is not supported, expected 64-bit"));
        c.add(new Corruption("ELFCLASS32 x32", b -> b.put(4, (byte) 1).putShort(54, (short) 32), -1,
                "32-bit ELF (ELFCLASS32) is not supported, expected 64-bit"));
        c.add(new Corruption("bad class", b -> b.put(4, (byte) 7).putShort(18, (short) 40), -1, "invalid ELF class 7"));
        c.add(new Corruption("big-endian", b -> b.put(5, (byte) 2).putShort(18, (short) 0x3e00), -1,
                "big-endian ELF is not supported, expected little-endian"));
        c.add(new Corruption("bad ident version", b -> b.put(6, (byte) 0).putShort(18, (short) 40), -1, "invalid ELF version 0"));
        c.add(new Corruption("ET_REL", b -> b.putShort(16, (short) 1), -1, "relocatable object file (ET_REL), not an executable"));
        c.add(new Corruption("ET_CORE", b -> b.putShort(16, (short) 4), -1, "core dump (ET_CORE), not an executable"));
        c.add(new Corruption("arm machine", b -> b.putShort(18, (short) 40), -1, "ELF for arm, expected x86_64 or aarch64"));
        c.add(new Corruption("i386 machine", b -> b.putShort(18, (short) 3), -1, "ELF for i386, expected x86_64 or aarch64"));
        c.add(new Corruption("phentsize", b -> b.putShort(54, (short) 32), -1, "invalid program header entry size 32 (expected 56)"));
        c.add(new Corruption("phnum zero", b -> b.putShort(56, (short) 0), -1, "no program headers"));
        c.add(new Corruption("phnum huge", b -> b.putShort(56, (short) 0xffff), -1, "too many program headers (65535)"));
        c.add(new Corruption("table runs past EOF", b -> b.putLong(32, b.capacity() - 100), -1, "truncated program header table"));
        c.add(new Corruption("phoff past EOF", b -> b.putLong(32, 1L << 40), -1, "truncated program header table"));
        c.add(new Corruption("phoff negative", b -> b.putLong(32, -8), -1, "truncated program header table"));
        c.add(new Corruption("file cut in phdrs", b -> { }, 64 + 56 * 2, "truncated program header table"));
        c.add(new Corruption("file cut in ehdr", b -> { }, 40, "truncated ELF header"));
        c.add(new Corruption("file cut in ident", b -> { }, 10, "truncated ELF header"));
        c.add(new Corruption("PT_LOAD past EOF", b -> b.putLong(ph(b, loadIndex(b, 1)) + 32, 1L << 32), -1,
                "PT_LOAD segment %d extends past end of file".formatted(1)));
        c.add(new Corruption("PT_LOAD offset overflow", b -> {
            int o = ph(b, loadIndex(b, 1));
            b.putLong(o + 8, -4096);  // also keeps page congruence with any vaddr
        }, -1, "PT_LOAD segment 1 extends past end of file"));
        c.add(new Corruption("filesz > memsz", b -> {
            int o = ph(b, loadIndex(b, 0));
            b.putLong(o + 40, b.getLong(o + 32) - 1);
        }, -1, "PT_LOAD segment 0 has a file size larger than its memory size"));
        c.add(new Corruption("misaligned vaddr", b -> {
            int o = ph(b, loadIndex(b, 1));
            b.putLong(o + 16, b.getLong(o + 16) + 8);
        }, -1, "not congruent modulo the page size"));
        c.add(new Corruption("unsorted loads", b -> {
            int o0 = ph(b, loadIndex(b, 0)), o1 = ph(b, loadIndex(b, 1));
            byte[] t0 = new byte[56], t1 = new byte[56];
            b.get(o0, t0).get(o1, t1);
            b.put(o0, t1).put(o1, t0);
        }, -1, "PT_LOAD segments are not sorted by address"));
        c.add(new Corruption("overlapping loads", b -> {
            int o0 = ph(b, loadIndex(b, 0)), o1 = ph(b, loadIndex(b, 1));
            b.putLong(o0 + 40, b.getLong(o1 + 16) - b.getLong(o0 + 16) + 0x10); // memsz of 0 reaches into 1
        }, -1, "PT_LOAD segment 1 overlaps PT_LOAD segment 0"));
        c.add(new Corruption("vaddr outside user space", b -> {
            int o = ph(b, loadIndex(b, 3));
            b.putLong(o + 16, 0x7ffffffff000L + (b.getLong(o + 16) & 0xfff));
        }, -1, "PT_LOAD segment 3 lies outside the user address space"));
        c.add(new Corruption("no PT_LOAD", b -> {
            for (int i = 0; i < b.getShort(56); i++) if (b.getInt(ph(b, i)) == ElfFile.PT_LOAD) b.putInt(ph(b, i), ElfFile.PT_NULL);
        }, -1, "no PT_LOAD segments"));
        return c.stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("corruptions")
    void corruptInputGivesOneClearMessage(Corruption c) throws Exception {
        byte[] bytes = validStatic();
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        // Index of the nth PT_LOAD in readelf's numbering is the phdr index; static glibc binaries
        // start with PT_LOAD entries, so "segment N" in the expected messages is the Nth load.
        assertEquals(0, loadIndex(b, 0), "test assumes loads come first in the static binary");
        c.mutate().accept(b);
        if (c.truncateTo() >= 0) bytes = Arrays.copyOf(bytes, c.truncateTo());
        String msg = expectFailure(bytes);
        assertTrue(msg.contains(c.expected()), "expected \"" + c.expected() + "\" but got \"" + msg + "\"");
    }

    /**
     * Linux's load_elf_binary never reads EI_CLASS, EI_DATA, EI_VERSION or e_version: an x86_64
     * ELF64 with any of them changed runs natively (found by the ELF fuzzer, scripts/fuzz.sh), so
     * Herd accepts it too.
     */
    @Test
    void identBytesAreIgnoredForX86_64LikeLinux() throws Exception {
        int[][] edits = {{4, 1}, {4, 7}, {5, 2}, {5, 0}, {6, 0}, {6, 0xff}, {20, 0}};
        for (int[] e : edits) {
            byte[] bytes = validStatic();
            bytes[e[0]] = (byte) e[1];
            ElfFile elf = ElfFile.read(new ByteArrayChannel(bytes), "ident");
            assertEquals(ElfFile.Machine.X86_64, elf.machine(), "byte " + e[0] + " = " + e[1]);
        }
    }

    /**
     * Linux ignores a PT_LOAD p_align that is not a power of two (maximum_alignment) and runs the
     * file (found by the ELF fuzzer); Herd accepts it and leaves it out of maxAlign().
     */
    @Test
    void nonPowerOfTwoAlignmentIsIgnoredLikeLinux() throws Exception {
        for (long align : new long[]{0x3000, 0xf41000, 3, -1}) {
            byte[] bytes = validStatic();
            ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
            b.putLong(ph(b, loadIndex(b, 0)) + 48, align);
            ElfFile elf = ElfFile.read(new ByteArrayChannel(bytes), "align");
            assertEquals(ElfFile.PAGE_SIZE, elf.maxAlign(), "p_align 0x" + Long.toHexString(align));
        }
    }

    /**
     * A second PT_TLS, PT_PHDR or PT_INTERP, or a PT_TLS whose file size exceeds its memory size:
     * Linux runs such a file (it reads the first PT_INTERP only and never validates PT_TLS), so
     * Herd accepts it and uses the first of each (found by the ELF fuzzer).
     */
    @Test
    void duplicateHeadersAreAcceptedFirstWinsLikeLinux() throws Exception {
        byte[] bytes = validDynamic();
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        int n = b.getShort(56), interp = -1, note = -1;
        for (int i = 0; i < n; i++) {
            int t = b.getInt(ph(b, i));
            if (t == ElfFile.PT_INTERP) interp = i;
            if (t == ElfFile.PT_NOTE && note < 0) note = i;
        }
        assertTrue(interp >= 0 && note > interp, "test binary has PT_INTERP before a PT_NOTE");
        String first = ElfFile.read(new ByteArrayChannel(bytes.clone()), "x").interpreter();
        // The PT_NOTE becomes a second PT_INTERP pointing at a different string (the note's bytes).
        b.putInt(ph(b, note), ElfFile.PT_INTERP);
        assertEquals(first, ElfFile.read(new ByteArrayChannel(bytes.clone()), "x").interpreter());

        byte[] st = validStatic();
        ByteBuffer sb = ByteBuffer.wrap(st).order(ByteOrder.LITTLE_ENDIAN);
        int tls = -1;
        for (int i = 0; i < sb.getShort(56); i++) if (sb.getInt(ph(sb, i)) == ElfFile.PT_TLS) tls = i;
        assertTrue(tls >= 0);
        long tlsVaddr = sb.getLong(ph(sb, tls) + 16);
        int other = loadIndex(sb, 0);
        for (int copy = 0; copy < 2; copy++) { // a second PT_TLS after the first, then one with filesz > memsz
            int target = sb.getShort(56) - 1 - copy;
            sb.put(ph(sb, target), st, ph(sb, tls), 56);
            if (copy == 1) sb.putLong(ph(sb, target) + 32, 1 << 20).putLong(ph(sb, target) + 40, 1);
        }
        assertTrue(other >= 0);
        ElfFile elf = ElfFile.read(new ByteArrayChannel(st), "tls");
        assertEquals(tlsVaddr, elf.tls().vaddr());
    }

    /**
     * An x86_64 file with an odd EI_DATA that fails as ELF64 for another reason is refused for
     * that reason, not for its ident byte (found by the ELF fuzzer, seed 2 case 175).
     */
    @Test
    void oddIdentDoesNotHideTheRealProblem() throws Exception {
        byte[] bytes = validStatic();
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        b.put(5, (byte) 0).putShort(54, (short) 32);
        assertEquals("invalid program header entry size 32 (expected 56)", expectFailure(bytes));
    }

    @Test
    void emptyAndTextFiles() throws Exception {
        assertEquals("not an ELF file (the file is empty)", expectFailure(new byte[0]));
        assertEquals("not an ELF file", expectFailure("#!/bin/sh\necho hi\n".getBytes(StandardCharsets.US_ASCII)));
        assertEquals("not an ELF file", expectFailure(new byte[]{0x7f, 'E'}));
    }

    @Test
    void interpreterStringChecks() throws Exception {
        byte[] good = validDynamic();
        ByteBuffer b = ByteBuffer.wrap(good).order(ByteOrder.LITTLE_ENDIAN);
        int interp = -1;
        for (int i = 0; i < b.getShort(56); i++) if (b.getInt(ph(b, i)) == ElfFile.PT_INTERP) interp = ph(b, i);
        assertTrue(interp > 0);
        long off = b.getLong(interp + 8), len = b.getLong(interp + 32);

        byte[] noNul = good.clone();
        noNul[(int) (off + len - 1)] = 'x';
        assertEquals("PT_INTERP path is not NUL-terminated", expectFailure(noNul));

        byte[] huge = good.clone();
        ByteBuffer.wrap(huge).order(ByteOrder.LITTLE_ENDIAN).putLong(interp + 32, 1L << 40);
        assertTrue(expectFailure(huge).startsWith("PT_INTERP segment"));

        byte[] empty = good.clone();
        empty[(int) off] = 0;
        assertEquals("PT_INTERP path is empty", expectFailure(empty));
    }

    @Test
    void realAarch64Binary() throws Exception {
        ElfFile elf = ElfFile.read(TestBinaries.aarch64());
        assertEquals(ElfFile.Machine.AARCH64, elf.machine());
        assertEquals("aarch64", elf.machine().linuxName());
    }

    @Test
    void realDirectoryAndMissingFileAreIoErrors() {
        assertThrows(java.io.IOException.class, () -> ElfFile.read(Path.of("/nonexistent/herd")));
    }

    /**
     * Random mutations of the ELF header and program header table must only ever give a parsed
     * file or an ExecFormatException, never another exception type.
     */
    @Test
    void fuzzHeaderMutations() throws Exception {
        for (byte[] valid : List.of(validStatic(), validDynamic())) {
            ByteBuffer vb = ByteBuffer.wrap(valid).order(ByteOrder.LITTLE_ENDIAN);
            int area = (int) vb.getLong(32) + vb.getShort(56) * 56;
            Random rnd = new Random(0x4e7d);
            int ok = 0, rejected = 0;
            for (int iter = 0; iter < 2000; iter++) {
                byte[] m = valid.clone();
                int edits = 1 + rnd.nextInt(8);
                for (int e = 0; e < edits; e++) {
                    int pos = rnd.nextInt(area);
                    switch (rnd.nextInt(4)) {
                        case 0 -> m[pos] = (byte) rnd.nextInt(256);
                        case 1 -> m[pos] ^= (byte) (1 << rnd.nextInt(8));
                        case 2 -> m[pos] = (byte) (rnd.nextBoolean() ? 0 : 0xff);
                        default -> { // whole 8-byte field to an extreme value
                            int at = Math.min(pos & ~7, m.length - 8);
                            long v = switch (rnd.nextInt(4)) { case 0 -> -1L; case 1 -> Long.MIN_VALUE; case 2 -> Long.MAX_VALUE; default -> rnd.nextLong(); };
                            ByteBuffer.wrap(m).order(ByteOrder.LITTLE_ENDIAN).putLong(at, v);
                        }
                    }
                }
                if (rnd.nextInt(10) == 0) m = Arrays.copyOf(m, rnd.nextInt(m.length));
                try {
                    ElfFile elf = ElfFile.read(new ByteArrayChannel(m), "fuzz");
                    // Derived values must be computable without exceptions too.
                    elf.phdrVaddr();
                    elf.imageEnd();
                    elf.maxAlign();
                    ok++;
                } catch (ExecFormatException expected) {
                    assertNotNull(expected.getMessage());
                    assertFalse(expected.getMessage().isBlank());
                    rejected++;
                } catch (Throwable t) {
                    throw new AssertionError("iteration " + iter + " threw " + t, t);
                }
            }
            assertTrue(ok > 0 && rejected > 0, "ok=" + ok + " rejected=" + rejected);
        }
    }

    static String expectFailure(byte[] bytes) {
        try {
            ElfFile elf = ElfFile.read(new ByteArrayChannel(bytes), "test");
            return fail("accepted: " + elf);
        } catch (ExecFormatException e) {
            assertEquals(0, e.getStackTrace().length, "no stack trace is recorded");
            return e.getMessage();
        } catch (Exception e) {
            return fail("wrong exception type", e);
        }
    }
}
