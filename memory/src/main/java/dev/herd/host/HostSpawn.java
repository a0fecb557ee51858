package dev.herd.host;

import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Pointer;

import java.util.List;

/**
 * Starts a host process with glibc's {@code posix_spawn} (JNA direct mapping): exact argv and envp
 * bytes, a working directory, and chosen fds placed at chosen numbers, with every other fd closed
 * and every signal reset to its default and unblocked. (Java's ProcessBuilder cannot place fds
 * above 2, which a guest's {@code execve} must keep.) glibc's posix_spawn uses
 * {@code clone(CLONE_VM|CLONE_VFORK)} and is safe to call from a JVM thread.
 */
public final class HostSpawn {
    static {
        Native.register(HostSpawn.class, NativeLibrary.getInstance("c"));
    }

    private HostSpawn() {}

    private static final short POSIX_SPAWN_SETSIGDEF = 0x04, POSIX_SPAWN_SETSIGMASK = 0x08;
    /** Generous upper bounds of glibc's posix_spawn_file_actions_t, posix_spawnattr_t, sigset_t. */
    private static final int FILE_ACTIONS_SIZE = 256, ATTR_SIZE = 1024, SIGSET_SIZE = 128;

    private static native int posix_spawn(Pointer pid, Pointer path, Pointer fileActions, Pointer attr, Pointer argv, Pointer envp);
    private static native int posix_spawn_file_actions_init(Pointer fa);
    private static native int posix_spawn_file_actions_destroy(Pointer fa);
    private static native int posix_spawn_file_actions_adddup2(Pointer fa, int fd, int newFd);
    private static native int posix_spawn_file_actions_addchdir_np(Pointer fa, Pointer path);
    private static native int posix_spawn_file_actions_addclosefrom_np(Pointer fa, int from);
    private static native int posix_spawnattr_init(Pointer attr);
    private static native int posix_spawnattr_destroy(Pointer attr);
    private static native int posix_spawnattr_setflags(Pointer attr, short flags);
    private static native int posix_spawnattr_setsigmask(Pointer attr, Pointer set);
    private static native int posix_spawnattr_setsigdefault(Pointer attr, Pointer set);

    /** One fd for the child: host fd {@code from} of this process becomes fd {@code to} there. */
    public record FdPlacement(int from, int to) {}

    /**
     * Spawns {@code path}. The placements are applied in order, then every fd from
     * {@code closeFrom} up is closed, so the sources should lie at or above {@code closeFrom} (use
     * {@code F_DUPFD_CLOEXEC} copies) to be immune to each other's targets.
     *
     * @return the child's pid
     * @throws ErrnoException with posix_spawn's error (ENOENT, EACCES, ENOMEM, ...)
     */
    public static int spawn(byte[] path, List<byte[]> argv, List<byte[]> envp, byte[] cwd,
                            List<FdPlacement> fds, int closeFrom) {
        Memory fa = new Memory(FILE_ACTIONS_SIZE);
        Memory attr = new Memory(ATTR_SIZE);
        fa.clear();
        attr.clear();
        check(posix_spawn_file_actions_init(fa));
        try {
            check(posix_spawnattr_init(attr));
            try {
                for (FdPlacement p : fds) check(posix_spawn_file_actions_adddup2(fa, p.from(), p.to()));
                check(posix_spawn_file_actions_addclosefrom_np(fa, closeFrom));
                Memory dir = cString(cwd);
                if (cwd != null) check(posix_spawn_file_actions_addchdir_np(fa, dir));
                Memory none = new Memory(SIGSET_SIZE), all = new Memory(SIGSET_SIZE);
                none.clear();
                all.setMemory(0, SIGSET_SIZE, (byte) 0xff);
                check(posix_spawnattr_setsigmask(attr, none));
                check(posix_spawnattr_setsigdefault(attr, all));
                check(posix_spawnattr_setflags(attr, (short) (POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK)));
                Memory pid = new Memory(4);
                Memory[] keep = new Memory[argv.size() + envp.size()];
                Memory argvArray = cStringArray(argv, keep, 0);
                Memory envArray = cStringArray(envp, keep, argv.size());
                check(posix_spawn(pid, cString(path), fa, attr, argvArray, envArray));
                return pid.getInt(0);
            } finally {
                posix_spawnattr_destroy(attr);
            }
        } finally {
            posix_spawn_file_actions_destroy(fa);
        }
    }

    private static void check(int err) {
        if (err != 0) throw new ErrnoException(err);
    }

    private static Memory cString(byte[] s) {
        if (s == null) return null;
        Memory m = new Memory(s.length + 1L);
        m.write(0, s, 0, s.length);
        m.setByte(s.length, (byte) 0);
        return m;
    }

    /** A NULL-terminated char*[]; the strings are kept alive in {@code keep}. */
    private static Memory cStringArray(List<byte[]> strings, Memory[] keep, int at) {
        Memory array = new Memory((strings.size() + 1L) * Native.POINTER_SIZE);
        for (int i = 0; i < strings.size(); i++) {
            keep[at + i] = cString(strings.get(i));
            array.setPointer((long) i * Native.POINTER_SIZE, keep[at + i]);
        }
        array.setPointer((long) strings.size() * Native.POINTER_SIZE, Pointer.NULL);
        return array;
    }
}
