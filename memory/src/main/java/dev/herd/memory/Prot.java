package dev.herd.memory;

/** Linux PROT_* bits (same values as Unicorn's UC_PROT_*). */
public final class Prot {
    private Prot() {}
    public static final int NONE = 0, READ = 1, WRITE = 2, EXEC = 4;
}
