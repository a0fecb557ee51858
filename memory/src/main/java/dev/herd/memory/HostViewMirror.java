package dev.herd.memory;

/**
 * Another process's mapping of the guest memory (a kernel proxy maps the memfd at the same host
 * address) that must keep the same host protection as Herd's guest view, so that a host call it
 * makes on a guest pointer faults (EFAULT) exactly where Herd's own would.
 */
public interface HostViewMirror {
    /** Host protection of [hostAddress, hostAddress + length) is now {@code prot} (PROT_* bits). */
    void protect(long hostAddress, long length, int prot);
}
