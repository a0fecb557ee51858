package dev.herd.runtime.loader;

import dev.herd.memory.GuestAddressSpace;
import dev.herd.memory.GuestMemory;
import dev.herd.memory.MapFlags;
import dev.herd.memory.Mapping;
import dev.herd.memory.Prot;
import dev.herd.runtime.loader.ElfFile.ProgramHeader;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** Loads real binaries into a real {@link GuestAddressSpace} and checks memory, protections and stack. */
class ElfLoaderTest {
    private GuestAddressSpace as;

    private GuestAddressSpace space() {
        as = GuestAddressSpace.create(GuestAddressSpace.DEFAULT_SIZE);
        return as;
    }

    @AfterEach
    void close() {
        if (as != null) as.close();
    }

    @Test
    void busybox() throws Exception {
        Path p = TestBinaries.busybox();
        LoadedImage img = loadAndCheck(p, null);
        assertEquals(0, img.loadBias());
        StartState s = stackAndCheck(img, p, List.of("busybox", "echo", "hi"), List.of("PATH=/bin", "HOME=/"));
        assertEquals(img.entry(), s.pc());
    }

    @Test
    void staticExecutable() throws Exception {
        Path p = TestBinaries.staticExe();
        LoadedImage img = loadAndCheck(p, null);
        stackAndCheck(img, p, List.of("hello"), List.of());
    }

    /**
     * A static-PIE whose PT_LOAD p_align is a power of two beyond the guest space (2^40, 2^62,
     * 2^63) is refused with one message, not loaded at an overflowed bias (found by the ELF fuzzer);
     * a non-power-of-two p_align is ignored, as on Linux, and the program loads at the usual base.
     */
    @Test
    void staticPieAlignments() throws Exception {
        byte[] valid = Files.readAllBytes(TestBinaries.staticPie());
        Path dir = TestBinaries.dir();
        for (long align : new long[]{1L << 40, 1L << 62, Long.MIN_VALUE, 0x3000}) {
            byte[] bytes = valid.clone();
            java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(bytes).order(java.nio.ByteOrder.LITTLE_ENDIAN);
            int phoff = (int) b.getLong(32);
            for (int i = 0; i < b.getShort(56); i++) {
                if (b.getInt(phoff + i * 56) == ElfFile.PT_LOAD) b.putLong(phoff + i * 56 + 48, align);
            }
            Path p = dir.resolve("align-" + Long.toHexString(align));
            Files.write(p, bytes);
            ElfFile elf = ElfFile.read(p);
            if (align == 0x3000) { // not a power of two: ignored, as by Linux
                LoadedImage img = ElfLoader.load(space(), elf, p, null);
                assertEquals(0, img.loadBias() % 4096);
                assertTrue(img.loadBias() >= ElfLoader.dynBase(as.size()) && img.imageEnd() <= as.mmapBase());
            } else {
                ExecFormatException e = assertThrows(ExecFormatException.class, () -> ElfLoader.load(space(), elf, p, null));
                assertTrue(e.getMessage().startsWith("PT_LOAD alignment"), e.getMessage());
            }
            as.close();
            as = null;
        }
    }

    /**
     * A bss is charged to the commit limit as the kernel's vm_brk_flags charges it: one page more
     * than RAM and swap is refused (ENOMEM; Linux kills the process at exec), exactly RAM and swap
     * loads (fuzz seed 1 case 7962: a 716 GiB bss was mapped and the program ran).
     */
    @Test
    void bssBeyondRamAndSwapIsRefused() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(
                !Files.readString(Path.of("/proc/sys/vm/overcommit_memory")).trim().equals("1"), "overcommit_memory=1");
        long limit = 0;
        for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
            if (line.startsWith("MemTotal:") || line.startsWith("SwapTotal:")) limit += Long.parseLong(line.replaceAll("[^0-9]", "")) << 10;
        }
        org.junit.jupiter.api.Assumptions.assumeTrue(limit < 1L << 39, "RAM and swap fit in the guest space");
        byte[] valid = Files.readAllBytes(TestBinaries.staticExe());
        for (long pages : new long[]{limit >> 12, (limit >> 12) + 1}) {
            byte[] bytes = valid.clone();
            java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(bytes).order(java.nio.ByteOrder.LITTLE_ENDIAN);
            int phoff = (int) b.getLong(32), data = -1;
            for (int i = 0; i < b.getShort(56); i++) {
                int at = phoff + i * 56;
                if (b.getInt(at) == ElfFile.PT_LOAD && (b.getInt(at + 4) & 2) != 0) data = at;
            }
            assertTrue(data > 0, "no writable PT_LOAD");
            long vaddr = b.getLong(data + 16), filePagesEnd = (vaddr + b.getLong(data + 32) + 4095) & -4096;
            b.putLong(data + 40, filePagesEnd + (pages << 12) - vaddr);
            Path p = TestBinaries.dir().resolve("bss-" + pages);
            Files.write(p, bytes);
            ElfFile elf = ElfFile.read(p);
            if (pages == limit >> 12) {
                LoadedImage img = ElfLoader.load(space(), elf, p, null);
                assertEquals(filePagesEnd + (pages << 12), img.imageEnd());
            } else {
                ExecFormatException e = assertThrows(ExecFormatException.class, () -> ElfLoader.load(space(), elf, p, null));
                assertTrue(e.getMessage().startsWith("cannot map PT_LOAD segment") && e.getMessage().endsWith("ENOMEM"), e.getMessage());
            }
            as.close();
            as = null;
        }
    }

    @Test
    void staticPie() throws Exception {
        Path p = TestBinaries.staticPie();
        LoadedImage img = loadAndCheck(p, null);
        // a static PIE is a "loader" to Linux: it goes into the mmap region (top down from
        // mmap_base), and its break starts at ELF_ET_DYN_BASE
        assertTrue(img.imageEnd() <= as.mmapBase() && img.imageEnd() > as.mmapBase() - (2 << 20), "at the top of the mmap region");
        assertEquals(ElfLoader.dynBase(as.size()), img.brkStart());
        assertEquals(img.loadBias() + ElfFile.read(p).entry(), img.entry());
        stackAndCheck(img, p, List.of("./hello-static-pie", "a", "b"), List.of("X=1"));
    }

    @Test
    void executableStackRequest() throws Exception {
        Path p = TestBinaries.execStack();
        LoadedImage img = loadAndCheck(p, null);
        assertTrue(img.stackExecutable());
        StartState s = stackAndCheck(img, p, List.of("x"), List.of());
        assertEquals(Prot.READ | Prot.WRITE | Prot.EXEC, as.find(s.stackPointer()).prot());
    }

    @Test
    void dynamicProgramWithInterpreter() throws Exception {
        Path p = TestBinaries.dynamicPie();
        ElfFile elf = ElfFile.read(p);
        Path interpHost = Path.of(elf.interpreter());
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.isRegularFile(interpHost), "no host " + interpHost);
        LoadedImage img = loadAndCheck(p, Path::of);
        ElfFile interp = ElfFile.read(interpHost);
        assertTrue(img.isDynamic());
        assertEquals(img.interpreterBase() + interp.entry(), img.startPc());
        assertTrue(img.interpreterBase() + interp.imageEnd() <= as.mmapBase(), "interpreter sits under mmapBase");
        checkSegments(interp, interpHost, img.interpreterBase());
        StartState s = stackAndCheck(img, p, List.of("hello-dyn"), List.of());
        assertEquals(img.interpreterBase(), s.auxv(Auxv.AT_BASE));
        assertEquals(img.interpreterEntry(), s.pc());
        // The interpreter finds the program through AT_PHDR: it must point at the PT_PHDR bytes.
        assertEquals(img.loadBias() + elf.phdrSegment().vaddr(), s.auxv(Auxv.AT_PHDR));
    }

    @Test
    void dynamicWithoutResolverIsRefusedClearly() throws Exception {
        ElfFile elf = ElfFile.read(TestBinaries.dynamicPie());
        var e = assertThrows(ExecFormatException.class, () -> ElfLoader.load(space(), elf, TestBinaries.dynamicPie()));
        assertEquals("dynamically linked programs are not supported yet (PT_INTERP " + elf.interpreter() + ")", e.getMessage());
        var e2 = assertThrows(ExecFormatException.class, () -> ElfLoader.load(as, elf, TestBinaries.dynamicPie(),
                s -> { throw new ExecFormatException("ELF interpreter " + s + ": No such file or directory"); }));
        assertEquals("ELF interpreter " + elf.interpreter() + ": No such file or directory", e2.getMessage());
        var e3 = assertThrows(ExecFormatException.class,
                () -> ElfLoader.load(as, elf, TestBinaries.dynamicPie(), s -> Path.of("/usr/bin")));
        assertTrue(e3.getMessage().startsWith("cannot read ELF interpreter"), e3.getMessage());
        assertTrue(as.mappings().isEmpty(), "nothing mapped when the interpreter is rejected up front");
    }

    @Test
    void collisionsAreReportedNotOverwritten() throws Exception {
        Path p = TestBinaries.staticExe();
        ElfFile elf = ElfFile.read(p);
        ElfLoader.load(space(), elf, p);
        var e = assertThrows(ExecFormatException.class, () -> ElfLoader.load(as, elf, p));
        assertTrue(e.getMessage().startsWith("program image 0x"), e.getMessage());
        // A stack placed over the image is refused too (MAP_FIXED_NOREPLACE).
        GuestAddressSpace other = GuestAddressSpace.create(1L << 36);
        try {
            LoadedImage img = ElfLoader.load(other, elf, p);
            var e2 = assertThrows(ExecFormatException.class, () -> InitialStack.builder(other, img).argv(List.of("x"))
                    .stackTop(ElfFile.pageUp(img.imageStart() + 0x1000 + InitialStack.DEFAULT_STACK_SIZE)).build());
            assertTrue(e2.getMessage().contains("overlaps an existing mapping"), e2.getMessage());
        } finally {
            other.close();
        }
    }

    // ---- helpers ----

    private LoadedImage loadAndCheck(Path p, ElfLoader.InterpreterOpener resolver) throws Exception {
        ElfFile elf = ElfFile.read(p);
        LoadedImage img = ElfLoader.load(space(), elf, p, resolver);
        checkSegments(elf, p, img.loadBias());
        long maxEnd = 0;
        for (ProgramHeader ph : elf.loads()) maxEnd = Math.max(maxEnd, img.loadBias() + ph.vend());
        // a page past the image (Linux's gap when it randomises), or ELF_ET_DYN_BASE for a loader
        boolean loader = elf.isPositionIndependent() && elf.interpreter() == null;
        assertEquals(loader ? ElfLoader.dynBase(as.size()) : ElfFile.pageUp(maxEnd) + 4096, img.brkStart());
        assertEquals(img.brkStart(), as.currentBrk());
        assertEquals(img.loadBias() + elf.entry(), img.entry());
        assertEquals(elf.phnum(), img.phnum());
        assertEquals(56, img.phent());
        // AT_PHDR points at bytes equal to the file's program header table.
        assertArrayEquals(elf.programHeaderTable(), as.memory().read(img.phdrAddr(), elf.phnum() * 56));
        return img;
    }

    private void checkSegments(ElfFile elf, Path p, long bias) throws Exception {
        byte[] file = Files.readAllBytes(p);
        GuestMemory mem = as.memory();
        for (ProgramHeader ph : elf.loads()) {
            long v = bias + ph.vaddr();
            long start = ElfFile.pageDown(v), end = ElfFile.pageUp(v + ph.memsz());
            // file bytes, including the leading part of the first page
            long lead = v - start;
            byte[] got = mem.read(start, (int) (lead + ph.filesz()));
            byte[] want = Arrays.copyOfRange(file, (int) (ph.offset() - lead), (int) (ph.offset() + ph.filesz()));
            assertArrayEquals(want, got, "segment " + ph.index() + " bytes");
            // bss pages are zero; so is the rest of the last file page in a writable segment (in
            // another, Linux's padzero fails and the file's bytes stay)
            if (ph.memsz() > ph.filesz()) {
                long zeroFrom = ph.writable() ? v + ph.filesz() : ElfFile.pageUp(v + ph.filesz());
                if (end > zeroFrom) {
                    byte[] bss = mem.read(zeroFrom, (int) (end - zeroFrom));
                    assertArrayEquals(new byte[bss.length], bss, "segment " + ph.index() + " bss");
                }
            }
            int prot = (ph.readable() ? Prot.READ : 0) | (ph.writable() ? Prot.WRITE : 0) | (ph.executable() ? Prot.EXEC : 0);
            for (long a = start; a < end; a += 4096) {
                Mapping m = as.find(a);
                assertNotNull(m, "mapped at 0x" + Long.toHexString(a));
                assertEquals(prot, m.prot(), "protection of segment " + ph.index());
            }
        }
    }

    private StartState stackAndCheck(LoadedImage img, Path p, List<String> argv, List<String> env) throws Exception {
        byte[] random = new byte[16];
        for (int i = 0; i < 16; i++) random[i] = (byte) (0xa0 + i);
        StartState s = InitialStack.builder(as, img).argv(argv).env(env).execFn(p.toString()).random(random).build();
        GuestMemory mem = as.memory();
        long sp = s.stackPointer();
        assertEquals(0, sp % 16);
        assertEquals(InitialStack.defaultStackTop(as.size()), s.stackEnd());
        Mapping stack = as.find(sp);
        assertEquals(s.stackStart(), stack.start());
        assertEquals(s.stackEnd(), stack.end());
        assertTrue((stack.flags() & MapFlags.GROWSDOWN) != 0);
        assertEquals(argv.size(), mem.readLong(sp));
        for (int i = 0; i < argv.size(); i++) assertEquals(argv.get(i), mem.readCString(mem.readLong(sp + 8 + 8L * i), 4096));
        assertEquals(0, mem.readLong(sp + 8 + 8L * argv.size()));
        long envp = sp + 8 + 8L * (argv.size() + 1);
        for (int i = 0; i < env.size(); i++) assertEquals(env.get(i), mem.readCString(mem.readLong(envp + 8L * i), 4096));
        assertEquals(0, mem.readLong(envp + 8L * env.size()));
        long auxv = envp + 8L * (env.size() + 1);
        assertEquals(auxv, s.auxvAddress());
        assertArrayEquals(s.auxvBytes(), mem.read(auxv, s.auxv().size() * 16));
        assertArrayEquals(random, mem.read(s.auxv(Auxv.AT_RANDOM), 16));
        assertEquals("x86_64", mem.readCString(s.auxv(Auxv.AT_PLATFORM), 64));
        assertEquals(p.toString(), mem.readCString(s.auxv(Auxv.AT_EXECFN), 4096));
        assertEquals(img.phdrAddr(), s.auxv(Auxv.AT_PHDR));
        assertEquals(0, mem.readLong(s.stackEnd() - 8), "end marker");
        return s;
    }
}
