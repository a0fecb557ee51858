package dev.herd.stresstests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.function.Consumer;
import java.util.stream.Stream;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Unusual but valid ELF files that Linux runs, each made from the static {@code hello} guest by
 * patching its program headers, run natively and under herd: the loader follows the kernel's rules
 * (fs/binfmt_elf.c), not the toolchain's habits.
 */
class ElfQuirksTest {
    private static final int PT_PHDR = 6, PF_X = 1, PF_W = 2;

    record Quirk(String name, Consumer<ByteBuffer> patch) {
        @Override
        public String toString() { return name; }
    }

    static Stream<Arguments> quirks() {
        List<Quirk> q = List.of(
                // AT_PHDR is where the PT_LOAD holding e_phoff maps the table; a PT_PHDR that says
                // otherwise is ignored by the kernel (static glibc finds PT_TLS through AT_PHDR).
                new Quirk("lying-pt-phdr", elf -> {
                    int ph = noteHeader(elf);
                    elf.putInt(ph, PT_PHDR);
                    elf.putLong(ph + 16, 0x1000); // p_vaddr: nothing is mapped there
                }),
                // x86 pages cannot be execute-only or write-only: such segments still read.
                new Quirk("execute-only-text", elf -> setFlags(elf, PF_X, PF_X)),
                new Quirk("write-only-rodata", elf -> setFlags(elf, 4 /* R */, PF_W)),
                // p_memsz > p_filesz in a read-only segment: padzero's clear_user fails there and
                // the kernel ignores it, so the rest of the last file page keeps the file's bytes
                // (the text's last byte, one short of p_filesz, is still code; fuzz seed 1 case 2631).
                new Quirk("text-one-byte-short-of-memsz", elf -> {
                    int at = loadHeader(elf, 5 /* R|X */);
                    elf.putLong(at + 32, elf.getLong(at + 32) - 1);
                }));
        return q.stream().flatMap(x -> Stream.of(Mode.values()).map(m -> Arguments.of(x, m)));
    }

    @ParameterizedTest(name = "{0} [{1}]")
    @MethodSource("quirks")
    void runsLikeNative(Quirk quirk, Mode mode) throws IOException {
        HerdEnv.requireHerd();
        Path base = Differential.newRunDirectory("elf-" + quirk.name() + "-" + mode);
        try {
            ByteBuffer elf = ByteBuffer.wrap(Files.readAllBytes(HerdEnv.guest("hello"))).order(ByteOrder.LITTLE_ENDIAN);
            quirk.patch().accept(elf);
            Path prog = base.resolve("hello-" + quirk.name());
            Files.write(prog, elf.array());
            Files.setPosixFilePermissions(prog, PosixFilePermissions.fromString("rwxr-xr-x"));
            List<String> argv = List.of(prog.toString(), "3", "quirk");
            GuestRun.Result nat = GuestRun.run(argv, base, null, HerdEnv.guestEnvironment(base), HerdEnv.TIMEOUT);
            assertEquals(3, nat.status(), "fixture: the native run of the patched file: " + nat.describe()
                    + "\n" + nat.stderrText());
            GuestRun.Result herd = GuestRun.run(GuestRun.herdCommand(mode, argv), base, null,
                    HerdEnv.guestEnvironment(base), HerdEnv.TIMEOUT);
            GuestRun.assertNoJavaLeak(herd);
            GuestRun.assertSameOutcome(quirk + " [" + mode + "]", nat, herd);
        } finally {
            Differential.deleteTree(base);
        }
    }

    /**
     * A bss bigger than the machine's RAM and swap: the kernel maps it with vm_brk_flags, whose
     * overcommit check (heuristic mode: one request for more pages than RAM and swap) refuses it
     * after exec's point of no return, so the process dies by SIGSEGV before its first
     * instruction. Herd refuses the program (status 126, ENOMEM) rather than map it (fuzz seed 1
     * case 7962: a 716 GiB bss ran under herd until glibc failed on a huge PT_TLS). One page less
     * is mapped, natively and under herd, and the program runs.
     */
    @ParameterizedTest(name = "[{0}]")
    @EnumSource(Mode.class)
    void bssBeyondRamAndSwapIsRefusedAsLinuxKillsIt(Mode mode) throws IOException {
        HerdEnv.requireHerd();
        assumeTrue(!Files.readString(Path.of("/proc/sys/vm/overcommit_memory")).trim().equals("1"),
                "overcommit_memory=1: Linux never refuses");
        long limit = 0;
        for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
            if (line.startsWith("MemTotal:") || line.startsWith("SwapTotal:")) limit += Long.parseLong(line.replaceAll("[^0-9]", "")) << 10;
        }
        assumeTrue(limit < 1L << 39, "RAM and swap must fit well inside Herd's 1 TiB guest space");
        Path base = Differential.newRunDirectory("elf-huge-bss-" + mode);
        try {
            for (long pages : new long[]{limit >> 12, (limit >> 12) + 1}) {
                ByteBuffer elf = ByteBuffer.wrap(Files.readAllBytes(HerdEnv.guest("hello"))).order(ByteOrder.LITTLE_ENDIAN);
                int at = loadHeader(elf, 6 /* R|W */);
                long vaddr = elf.getLong(at + 16), filesz = elf.getLong(at + 32);
                long filePagesEnd = (vaddr + filesz + 4095) & -4096;
                elf.putLong(at + 40, filePagesEnd + (pages << 12) - vaddr); // p_memsz: exactly `pages` bss pages
                Path prog = base.resolve("hello-bss-" + pages);
                Files.write(prog, elf.array());
                Files.setPosixFilePermissions(prog, PosixFilePermissions.fromString("rwxr-xr-x"));
                List<String> argv = List.of(prog.toString(), "3", "bss");
                GuestRun.Result nat = GuestRun.run(argv, base, null, HerdEnv.guestEnvironment(base), HerdEnv.TIMEOUT);
                GuestRun.Result herd = GuestRun.run(GuestRun.herdCommand(mode, argv), base, null,
                        HerdEnv.guestEnvironment(base), HerdEnv.TIMEOUT);
                GuestRun.assertNoJavaLeak(herd);
                if (pages == limit >> 12) {
                    assertEquals(3, nat.status(), "fixture: a bss of RAM and swap maps natively: " + nat.describe());
                    GuestRun.assertSameOutcome("bss of RAM and swap [" + mode + "]", nat, herd);
                } else {
                    assertEquals(128 + 11, nat.status(), "fixture: Linux kills it at exec: " + nat.describe()
                            + "\n" + nat.stderrText());
                    assertEquals(0, nat.stdout().length + nat.stderr().length, "fixture: nothing ran natively");
                    assertEquals(126, herd.status(), "herd refuses: " + herd.describe() + "\n" + herd.stderrText());
                    assertEquals(0, herd.stdout().length, herd.describe());
                    assertTrue(herd.stderrText().matches("herd: \\S+: cannot map PT_LOAD segment \\d+ at \\S+: ENOMEM\n"),
                            herd.stderrText());
                }
            }
        } finally {
            Differential.deleteTree(base);
        }
    }

    /** Offset of the first PT_NOTE program header (hello has two; glibc needs neither). */
    private static int noteHeader(ByteBuffer elf) {
        long phoff = elf.getLong(32);
        int phnum = elf.getShort(56) & 0xffff;
        for (int i = 0; i < phnum; i++) {
            int at = (int) phoff + i * 56;
            if (elf.getInt(at) == 4 /* PT_NOTE */) return at;
        }
        throw new IllegalStateException("hello has no PT_NOTE");
    }

    /** Offset of the first PT_LOAD program header with these flags and a non-zero offset. */
    private static int loadHeader(ByteBuffer elf, int flags) {
        long phoff = elf.getLong(32);
        int phnum = elf.getShort(56) & 0xffff;
        for (int i = 0; i < phnum; i++) {
            int at = (int) phoff + i * 56;
            if (elf.getInt(at) == 1 && elf.getInt(at + 4) == flags && elf.getLong(at + 8) != 0) return at;
        }
        throw new IllegalStateException("no such PT_LOAD in hello");
    }

    /** Replaces the flags of the first PT_LOAD whose flags are {@code from} (R|X text, R rodata, ...). */
    private static void setFlags(ByteBuffer elf, int fromRwx, int to) {
        long phoff = elf.getLong(32);
        int phnum = elf.getShort(56) & 0xffff;
        for (int i = 0; i < phnum; i++) {
            int at = (int) phoff + i * 56;
            int flags = elf.getInt(at + 4);
            // ELF flags: X=1 W=2 R=4; "from" names the segment: PF_X means the R|X text one.
            boolean match = elf.getInt(at) == 1 && (fromRwx == PF_X ? flags == 5 : flags == fromRwx) && elf.getLong(at + 8) != 0;
            if (match) {
                elf.putInt(at + 4, to);
                return;
            }
        }
        throw new IllegalStateException("no such PT_LOAD in hello");
    }
}
