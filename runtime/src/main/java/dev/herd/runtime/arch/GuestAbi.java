package dev.herd.runtime.arch;

/**
 * Where a guest architecture's kernel ABI differs from the host's (x86_64) in what Herd passes
 * through: argument orders, sizes and struct layouts. Every difference is one method here, with
 * the x86_64 bundle's identity and a conversion per other architecture; handlers call it only
 * where the kernels differ.
 */
public interface GuestAbi {
    /** clone(2)'s arguments in kernel order. */
    record CloneArgs(long flags, long stack, long parentTid, long childTid, long tls) {}

    /** clone(2)'s five raw arguments as this architecture orders them. */
    CloneArgs cloneArgs(long a0, long a1, long a2, long a3, long a4);

    /** MINSIGSTKSZ: the smallest alternate stack sigaltstack accepts, and AT_MINSIGSTKSZ's default. */
    long minSigStackSize();
}
