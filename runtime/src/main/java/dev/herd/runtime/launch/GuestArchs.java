package dev.herd.runtime.launch;

import dev.herd.runtime.arch.GuestArch;
import dev.herd.runtime.arch.aarch64.Aarch64Guest;
import dev.herd.runtime.arch.x86_64.X86_64Guest;
import dev.herd.runtime.loader.ElfFile;

/** The architecture bundles Herd has, by ELF machine. */
public final class GuestArchs {
    private GuestArchs() {}

    /** The bundle for programs of {@code machine}. */
    public static GuestArch of(ElfFile.Machine machine) {
        return switch (machine) {
            case X86_64 -> X86_64Guest.INSTANCE;
            case AARCH64 -> Aarch64Guest.INSTANCE;
        };
    }
}
