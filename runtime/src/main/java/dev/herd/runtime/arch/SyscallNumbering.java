package dev.herd.runtime.arch;

/**
 * An architecture's syscall numbering: number to name (the key of Herd's {@link SyscallTable}).
 * One implementation per guest architecture.
 */
public interface SyscallNumbering {
    /** Name of syscall {@code nr}, or null if the architecture has no such number. */
    String name(long nr);

    /** Largest syscall number + 1. */
    int count();

    /** The number of the call named {@code name}, or -1 if the architecture has none. */
    default int number(String name) {
        for (int nr = 0; nr < count(); nr++) {
            if (name.equals(name(nr))) return nr;
        }
        return -1;
    }
}
