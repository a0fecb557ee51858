package dev.herd.unicorn;

/**
 * Unicorn architectures ({@code uc_arch}); {@link #value()} is the C enum value passed to
 * {@code uc_open}. Checked against {@code unicorn.h} by {@code HeaderConstantsTest}.
 */
public enum UcArch {
    /** UC_ARCH_ARM: 32-bit ARM (including Thumb). */
    ARM(1),
    /** UC_ARCH_ARM64: AArch64. */
    ARM64(2),
    /** UC_ARCH_MIPS. */
    MIPS(3),
    /** UC_ARCH_X86: x86, including x86-64 (with {@link UcMode#UC_MODE_64}). */
    X86(4),
    /** UC_ARCH_PPC. */
    PPC(5),
    /** UC_ARCH_SPARC. */
    SPARC(6),
    /** UC_ARCH_M68K. */
    M68K(7),
    /** UC_ARCH_RISCV. */
    RISCV(8),
    /** UC_ARCH_S390X. */
    S390X(9),
    /** UC_ARCH_TRICORE. */
    TRICORE(10);

    private final int value;

    UcArch(int value) {
        this.value = value;
    }

    /**
     * The C value of this architecture.
     *
     * @return the {@code uc_arch} value
     */
    public int value() {
        return value;
    }
}
