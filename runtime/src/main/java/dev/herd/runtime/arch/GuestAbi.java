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

    /** sizeof(struct stat) of the host (x86_64), what Herd's host calls write. */
    int HOST_STAT_SIZE = 144;

    /** Whether the guest's struct stat is the host's: host calls then write the guest's buffer directly. */
    boolean hostStat();

    /** sizeof(struct stat) of the guest. */
    int statSize();

    /** The guest's struct stat from the host's ({@link #HOST_STAT_SIZE} bytes, x86_64 layout). */
    byte[] statFromHost(byte[] host);

    /** open(2)'s flags as the host kernel numbers them (the O_* values differ between architectures). */
    int openFlagsToHost(int guestFlags);

    /** Host O_* flags (F_GETFL) as the guest numbers them. */
    int openFlagsToGuest(int hostFlags);

    /** Where {@code data} sits in the guest's struct epoll_event (x86_64 packs it at 4; others align it to 8). */
    int epollDataOffset();

    /** sizeof(struct epoll_event) of the guest. */
    default int epollEventSize() { return epollDataOffset() + 8; }

    /** sizeof(struct semid64_ds) of the host (x86_64 pads each time with an unused word). */
    int HOST_SEMID_DS_SIZE = 104;

    /** sizeof(struct semid64_ds) of the guest. */
    int semidSize();

    /** The guest's struct semid64_ds from the host's (semctl IPC_STAT / SEM_STAT). */
    byte[] semidFromHost(byte[] host);
}
