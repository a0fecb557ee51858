package dev.herd.memory;

/** Linux PROT_* bits (same values as Unicorn's UC_PROT_*). */
public final class Prot {
    private Prot() {}
    public static final int NONE = 0, READ = 1, WRITE = 2, EXEC = 4;

    /**
     * The access the guest really gets for a protection: any of READ, WRITE or EXEC makes a page
     * readable, because x86_64 page tables have no write-only or execute-only pages (a PROT_EXEC or
     * PROT_WRITE mapping reads fine on Linux; /proc/PID/maps still shows the asked protection).
     * aarch64 guests (issue 11) will need execute-only to stay unreadable: this becomes the
     * architecture's rule then.
     */
    public static int effective(int prot) {
        int p = prot & (READ | WRITE | EXEC);
        return p == 0 ? 0 : p | READ;
    }
}
