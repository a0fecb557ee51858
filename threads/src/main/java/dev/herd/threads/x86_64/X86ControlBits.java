package dev.herd.threads.x86_64;

/** x86 control-register bits and user segment selectors (Intel SDM vol. 3, 2.5; Linux segment.h). */
public final class X86ControlBits {
    private X86ControlBits() {}

    public static final long CR0_PE = 1L, CR0_MP = 1L << 1, CR0_EM = 1L << 2, CR0_TS = 1L << 3,
            CR0_ET = 1L << 4, CR0_NE = 1L << 5;
    public static final long CR4_OSFXSR = 1L << 9, CR4_OSXMMEXCPT = 1L << 10;
    /** {@code __USER_CS} and {@code __USER_DS} of x86_64 Linux (GDT entries 6 and 5, RPL 3). */
    public static final int USER_CS = 0x33, USER_DS = 0x2b;
}
