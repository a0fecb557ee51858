package dev.herd.host;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The fields of a host {@code struct stat} (x86_64 layout) that Herd's own decisions need, read
 * with {@code newfstatat}.
 *
 * @param dev  st_dev
 * @param ino  st_ino
 * @param mode st_mode (type and permission bits)
 */
public record HostStat(long dev, long ino, int mode) {
    public static final int S_IFMT = 0170000, S_IFREG = 0100000, S_IFLNK = 0120000;
    /** AT_EMPTY_PATH: stat the dirfd itself (an O_PATH fd of the file). */
    public static final int AT_EMPTY_PATH = 0x1000;
    /** sizeof(struct stat) and the offset of st_ino, for a stat made by another process (a kernel proxy). */
    public static final int STAT_SIZE = 144, ST_INO = 8;
    private static final int ST_DEV = 0, ST_MODE = 24;

    /**
     * {@code newfstatat(dirFd, name, flags)}.
     *
     * @throws ErrnoException with the host's errno
     */
    public static HostStat at(int dirFd, String name, int flags) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment st = arena.allocate(STAT_SIZE, 8);
            HostKernel.check(HostKernel.call(HostSyscall.NEWFSTATAT, dirFd, arena.allocateFrom(name).address(),
                    st.address(), flags));
            return new HostStat(st.get(ValueLayout.JAVA_LONG, ST_DEV), st.get(ValueLayout.JAVA_LONG, ST_INO),
                    st.get(ValueLayout.JAVA_INT, ST_MODE));
        }
    }

    /** The file an (O_PATH) fd refers to. */
    public static HostStat of(int fd) {
        return at(fd, "", AT_EMPTY_PATH);
    }

    public int type() { return mode & S_IFMT; }
}
