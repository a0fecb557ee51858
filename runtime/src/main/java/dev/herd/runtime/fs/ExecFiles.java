package dev.herd.runtime.fs;

import dev.herd.host.Errno;
import dev.herd.host.ErrnoException;
import dev.herd.host.HostKernel;
import dev.herd.host.HostStat;
import dev.herd.host.HostSyscall;

import java.lang.foreign.Arena;

/**
 * Opening a file to execute it, as the kernel's {@code open_exec} does for an ELF interpreter: the
 * guest path resolved exactly like the guest's own open (inside the rootfs), a regular file, with
 * execute permission for the caller. The loader and execve share it, so the interpreter a program
 * names can never be a host file outside the rootfs.
 */
public final class ExecFiles {
    private ExecFiles() {}

    private static final int O_RDONLY = 0, O_NONBLOCK = 04000, X_OK = 1, AT_EMPTY_PATH = 0x1000, AT_EACCESS = 0x200;

    /**
     * The image's PT_INTERP for the ELF loader ({@code ElfLoader.InterpreterOpener}), opened as the
     * kernel opens it: as the guest's own open would (relative to the guest's cwd, symlinks
     * resolved inside the rootfs, a regular file with execute permission, {@link #open}). The
     * returned path reads the open file; its fd is added to {@code opened} for the caller to close.
     */
    public static java.nio.file.Path openInterpreter(PathResolver paths, String interp, java.util.List<Integer> opened)
            throws dev.herd.runtime.loader.ExecFormatException {
        try {
            int fd = open(paths, interp);
            opened.add(fd);
            return java.nio.file.Path.of(PathResolver.procFd(fd));
        } catch (ErrnoException e) {
            throw new dev.herd.runtime.loader.ExecFormatException("ELF interpreter " + interp + ": " + Errno.describe(e.errno()));
        }
    }

    /**
     * A host fd (close-on-exec; the caller closes it) reading the file named by a guest path.
     *
     * @throws ErrnoException ENOENT, ELOOP, ... from the lookup; EACCES for anything but a
     *                        regular file with execute permission
     */
    public static int open(PathResolver paths, String guestPath) {
        // O_NONBLOCK: a FIFO must be refused, not waited on.
        int fd = paths.openIn(PathResolver.AT_FDCWD, guestPath, O_RDONLY | O_NONBLOCK, 0);
        try {
            if (HostStat.of(fd).type() != HostStat.S_IFREG) throw new ErrnoException(Errno.EACCES);
            try (Arena a = Arena.ofConfined()) {
                long r = HostKernel.call(HostSyscall.FACCESSAT2, fd, a.allocateFrom("").address(), X_OK,
                        AT_EMPTY_PATH | AT_EACCESS);
                if (r < 0) throw new ErrnoException((int) -r);
            }
            return fd;
        } catch (RuntimeException e) {
            HostKernel.call(HostSyscall.CLOSE, fd);
            throw e;
        }
    }
}
