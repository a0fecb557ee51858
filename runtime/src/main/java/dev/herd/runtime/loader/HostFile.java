package dev.herd.runtime.loader;

import dev.herd.host.ErrnoException;
import dev.herd.host.HostKernel;
import dev.herd.host.HostSyscall;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;

/**
 * A host file descriptor opened read-only for the duration of a load, because
 * {@code GuestAddressSpace.mmap} takes a host fd for file mappings and Java's FileChannel does not
 * expose one. Closed by {@link #close()}; never leaked to the guest's fd table.
 */
final class HostFile implements AutoCloseable {
    private static final int AT_FDCWD = -100, O_RDONLY = 0, O_CLOEXEC = 0x80000;
    private static final int ST_SIZE_OFFSET = 48; // struct stat.st_size on x86_64
    private final int fd;

    private HostFile(int fd) { this.fd = fd; }

    static HostFile open(Path path) throws IOException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocateFrom(path.toString());
            long r = HostKernel.call(HostSyscall.OPENAT, AT_FDCWD, p.address(), O_RDONLY | O_CLOEXEC);
            if (r < 0) throw new IOException(path + ": " + new ErrnoException((int) -r).getMessage());
            return new HostFile((int) r);
        }
    }

    int fd() { return fd; }

    /** Current size of the open file (fstat), to detect a file changed since its headers were read. */
    long size() throws IOException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = a.allocate(144, 8);
            long r = HostKernel.call(HostSyscall.FSTAT, fd, st.address());
            if (r < 0) throw new IOException("fstat: " + new ErrnoException((int) -r).getMessage());
            return st.get(java.lang.foreign.ValueLayout.JAVA_LONG, ST_SIZE_OFFSET);
        }
    }

    @Override
    public void close() { HostKernel.call(HostSyscall.CLOSE, fd); }
}
