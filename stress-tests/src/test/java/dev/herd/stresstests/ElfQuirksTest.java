package dev.herd.stresstests;

import static org.junit.jupiter.api.Assertions.assertEquals;

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
