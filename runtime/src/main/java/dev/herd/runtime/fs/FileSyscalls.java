package dev.herd.runtime.fs;

import dev.herd.runtime.syscall.SyscallTable;

/**
 * Registration entry point for every file, directory, fd, ioctl and poll syscall. The families
 * live in {@link FdSyscalls}, {@link IoSyscalls}, {@link PathSyscalls}, {@link IoctlSyscalls} and
 * {@link PollSyscalls}.
 *
 * <p>Conventions of all of them: guest fds are translated through the process's {@link FdTable};
 * guest paths through its {@link PathResolver}; guest data buffers are passed to the host kernel by
 * address after {@code GuestMemory.hostAddress} has checked them against the guest mapping table
 * (so a buffer that is only partly mapped is EFAULT as a whole, where Linux may transfer the
 * mapped part first); small structs that contain fds (pollfd, fd_set) are translated.
 */
public final class FileSyscalls {
    private FileSyscalls() {}

    public static void register(SyscallTable t) {
        FdSyscalls.register(t);
        IoSyscalls.register(t);
        PathSyscalls.register(t);
        IoctlSyscalls.register(t);
        PollSyscalls.register(t);
        EpollSyscalls.register(t);
        SocketSyscalls.register(t);
        XattrSyscalls.register(t);
        NotificationFdSyscalls.register(t);
        MessageQueueSyscalls.register(t);
        AioSyscalls.register(t);
    }
}
