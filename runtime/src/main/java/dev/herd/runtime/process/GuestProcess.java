package dev.herd.runtime.process;

import dev.herd.memory.GuestAddressSpace;
import dev.herd.runtime.fs.FdTable;
import dev.herd.runtime.fs.PathResolver;

/**
 * One guest process: its address space, file descriptors and filesystem view. Shared by all of
 * its guest threads. SKELETON: grows with the threads and signals issues.
 */
public final class GuestProcess {
    private final GuestAddressSpace addressSpace;
    private final FdTable fds;
    private final PathResolver paths;
    private final String exePath;

    public GuestProcess(GuestAddressSpace addressSpace, FdTable fds, PathResolver paths, String exePath) {
        this.addressSpace = addressSpace;
        this.fds = fds;
        this.paths = paths;
        this.exePath = exePath;
    }

    public GuestAddressSpace addressSpace() { return addressSpace; }
    public FdTable fds() { return fds; }
    public PathResolver paths() { return paths; }
    /** Host path of the guest program, the answer to readlink("/proc/self/exe"). */
    public String exePath() { return exePath; }
}
