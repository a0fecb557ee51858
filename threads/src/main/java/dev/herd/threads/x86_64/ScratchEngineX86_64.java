package dev.herd.threads.x86_64;

import dev.herd.unicorn.UcProt;
import dev.herd.unicorn.Unicorn;

/** A throw-away engine with a few bytes of code, for probing what the loaded libunicorn does. */
final class ScratchEngineX86_64 {
    private ScratchEngineX86_64() {}

    /** Where the code is placed. */
    static final long CODE = 0x10000;

    /** An x86_64 engine with {@code code} at {@link #CODE} in one RWX page; close it after use. */
    static Unicorn open(byte[] code) {
        Unicorn e = Unicorn.openX86_64();
        try {
            e.memMap(CODE, 0x1000, UcProt.ALL);
            e.memWrite(CODE, code);
        } catch (RuntimeException ex) {
            e.close();
            throw ex;
        }
        return e;
    }
}
