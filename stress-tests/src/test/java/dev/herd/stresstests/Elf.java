package dev.herd.stresstests;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

/** Just enough ELF reading for the tests' preconditions. */
final class Elf {
    private Elf() {}

    private static final int PT_INTERP = 3;

    /** True if the 64-bit little-endian ELF file has a PT_INTERP program header (is dynamic). */
    static boolean hasInterpreter(Path file) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        if (bytes.length < 64 || b.getInt(0) != 0x464c457f || bytes[4] != 2) {
            throw new IOException(file + " is not a 64-bit ELF file");
        }
        long phoff = b.getLong(32);
        int phentsize = Short.toUnsignedInt(b.getShort(54));
        int phnum = Short.toUnsignedInt(b.getShort(56));
        for (int i = 0; i < phnum; i++) {
            int off = Math.toIntExact(phoff + (long) i * phentsize);
            if (b.getInt(off) == PT_INTERP) return true;
        }
        return false;
    }
}
