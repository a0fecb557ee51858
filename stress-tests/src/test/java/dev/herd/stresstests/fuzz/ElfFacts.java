package dev.herd.stresstests.fuzz;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** Facts about a (possibly garbage) ELF64 file that explain known differences; never throws. */
record ElfFacts(boolean loadWithoutRead, boolean phdrMismatch, boolean interpRelative) {
    static ElfFacts of(byte[] b) {
        try {
            ByteBuffer bb = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
            if (b.length < 64) return new ElfFacts(false, false, false);
            long phoff = bb.getLong(32);
            int phent = Short.toUnsignedInt(bb.getShort(54)), phnum = Short.toUnsignedInt(bb.getShort(56));
            if (phent != 56 || phoff < 0 || phoff + (long) phnum * 56 > b.length) return new ElfFacts(false, false, false);
            boolean noRead = false, relative = false;
            Long phdrVaddr = null, mapped = null;
            for (int i = 0; i < phnum; i++) {
                int at = (int) (phoff + i * 56L);
                int type = bb.getInt(at), flags = bb.getInt(at + 4);
                long off = bb.getLong(at + 8), vaddr = bb.getLong(at + 16), filesz = bb.getLong(at + 32);
                if (type == ElfMutator.PT_LOAD) {
                    if ((flags & 4) == 0 && (flags & 3) != 0) noRead = true;
                    if (mapped == null && phoff >= off && phoff - off + phnum * 56L <= filesz) mapped = vaddr + (phoff - off);
                } else if (type == ElfMutator.PT_PHDR && phdrVaddr == null) {
                    phdrVaddr = vaddr;
                } else if (type == ElfMutator.PT_INTERP && off >= 0 && off < b.length) {
                    String s = new String(b, (int) off, (int) Math.min(b.length - off, Math.max(0, Math.min(filesz, 4096))),
                            java.nio.charset.StandardCharsets.ISO_8859_1);
                    int nul = s.indexOf('\0');
                    if (nul >= 0) s = s.substring(0, nul);
                    if (!s.isEmpty() && (!s.startsWith("/") || s.contains("/../"))) relative = true;
                }
            }
            boolean mismatch = phdrVaddr != null && !phdrVaddr.equals(mapped);
            return new ElfFacts(noRead, mismatch, relative);
        } catch (RuntimeException e) {
            return new ElfFacts(false, false, false);
        }
    }
}
