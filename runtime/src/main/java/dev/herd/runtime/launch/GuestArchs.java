package dev.herd.runtime.launch;

import dev.herd.runtime.arch.GuestArch;
import dev.herd.runtime.arch.x86_64.X86_64Guest;
import dev.herd.runtime.loader.ElfFile;
import dev.herd.runtime.loader.ExecFormatException;

/** The architecture bundles Herd has, by ELF machine. */
public final class GuestArchs {
    private GuestArchs() {}

    /** The bundle for programs of {@code machine}. */
    public static GuestArch of(ElfFile.Machine machine) throws ExecFormatException {
        return switch (machine) {
            case X86_64 -> X86_64Guest.INSTANCE;
            case AARCH64 -> throw new ExecFormatException("ELF for aarch64: aarch64 guests are not supported yet");
        };
    }
}
