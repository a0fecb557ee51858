package dev.herd.host;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.util.List;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * Starts a host process with glibc's {@code posix_spawn} (FFM downcalls): exact argv and envp
 * bytes, a working directory, and chosen fds placed at chosen numbers, with every other fd closed
 * and every signal reset to its default and unblocked. (Java's ProcessBuilder cannot place fds
 * above 2, which a guest's {@code execve} must keep.) glibc's posix_spawn uses
 * {@code clone(CLONE_VM|CLONE_VFORK)} and is safe to call from a JVM thread. (This used JNA, whose
 * first use costs an execve ~0.1-0.3 s: its native library is unpacked to a temporary file and
 * its library search runs {@code /sbin/ldconfig -p} in a child process.)
 */
public final class HostSpawn {
    private HostSpawn() {}

    private static final short POSIX_SPAWN_SETSIGDEF = 0x04, POSIX_SPAWN_SETSIGMASK = 0x08;
    /** Generous upper bounds of glibc's posix_spawn_file_actions_t, posix_spawnattr_t, sigset_t. */
    private static final int FILE_ACTIONS_SIZE = 256, ATTR_SIZE = 1024, SIGSET_SIZE = 128;

    /** The libc functions, linked at the first spawn. */
    private static final class Libc {
        static final MethodHandle POSIX_SPAWN = fn("posix_spawn", JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS);
        static final MethodHandle FA_INIT = fn("posix_spawn_file_actions_init", JAVA_INT, ADDRESS);
        static final MethodHandle FA_DESTROY = fn("posix_spawn_file_actions_destroy", JAVA_INT, ADDRESS);
        static final MethodHandle FA_ADDDUP2 = fn("posix_spawn_file_actions_adddup2", JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT);
        static final MethodHandle FA_ADDCHDIR = fn("posix_spawn_file_actions_addchdir_np", JAVA_INT, ADDRESS, ADDRESS);
        static final MethodHandle FA_ADDCLOSEFROM = fn("posix_spawn_file_actions_addclosefrom_np", JAVA_INT, ADDRESS, JAVA_INT);
        static final MethodHandle ATTR_INIT = fn("posix_spawnattr_init", JAVA_INT, ADDRESS);
        static final MethodHandle ATTR_DESTROY = fn("posix_spawnattr_destroy", JAVA_INT, ADDRESS);
        static final MethodHandle ATTR_SETFLAGS = fn("posix_spawnattr_setflags", JAVA_INT, ADDRESS, JAVA_SHORT);
        static final MethodHandle ATTR_SETSIGMASK = fn("posix_spawnattr_setsigmask", JAVA_INT, ADDRESS, ADDRESS);
        static final MethodHandle ATTR_SETSIGDEFAULT = fn("posix_spawnattr_setsigdefault", JAVA_INT, ADDRESS, ADDRESS);

        private static MethodHandle fn(String name, java.lang.foreign.MemoryLayout result, java.lang.foreign.MemoryLayout... args) {
            Linker linker = Linker.nativeLinker();
            return linker.downcallHandle(linker.defaultLookup().find(name)
                    .orElseThrow(() -> new UnsatisfiedLinkError(name + " not found in libc")), FunctionDescriptor.of(result, args));
        }
    }

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
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment fa = arena.allocate(FILE_ACTIONS_SIZE, 16);
            MemorySegment attr = arena.allocate(ATTR_SIZE, 16);
            check((int) Libc.FA_INIT.invokeExact(fa));
            try {
                check((int) Libc.ATTR_INIT.invokeExact(attr));
                try {
                    for (FdPlacement p : fds) check((int) Libc.FA_ADDDUP2.invokeExact(fa, p.from(), p.to()));
                    check((int) Libc.FA_ADDCLOSEFROM.invokeExact(fa, closeFrom));
                    if (cwd != null) check((int) Libc.FA_ADDCHDIR.invokeExact(fa, cString(arena, cwd)));
                    MemorySegment none = arena.allocate(SIGSET_SIZE, 8), all = arena.allocate(SIGSET_SIZE, 8);
                    all.fill((byte) 0xff);
                    check((int) Libc.ATTR_SETSIGMASK.invokeExact(attr, none));
                    check((int) Libc.ATTR_SETSIGDEFAULT.invokeExact(attr, all));
                    check((int) Libc.ATTR_SETFLAGS.invokeExact(attr, (short) (POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK)));
                    MemorySegment pid = arena.allocate(JAVA_INT);
                    MemorySegment argvArray = cStringArray(arena, argv);
                    MemorySegment envArray = cStringArray(arena, envp);
                    check((int) Libc.POSIX_SPAWN.invokeExact(pid, cString(arena, path), fa, attr, argvArray, envArray));
                    return pid.get(JAVA_INT, 0);
                } finally {
                    int ignored = (int) Libc.ATTR_DESTROY.invokeExact(attr);
                }
            } finally {
                int ignored = (int) Libc.FA_DESTROY.invokeExact(fa);
            }
        } catch (ErrnoException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("posix_spawn downcall failed", t);
        }
    }

    private static void check(int err) {
        if (err != 0) throw new ErrnoException(err);
    }

    private static MemorySegment cString(Arena arena, byte[] s) {
        MemorySegment m = arena.allocate(s.length + 1L);
        MemorySegment.copy(s, 0, m, JAVA_BYTE, 0, s.length);
        m.set(JAVA_BYTE, s.length, (byte) 0);
        return m;
    }

    /** A NULL-terminated char*[] whose strings live in {@code arena}. */
    private static MemorySegment cStringArray(Arena arena, List<byte[]> strings) {
        MemorySegment array = arena.allocate(ADDRESS, strings.size() + 1L);
        for (int i = 0; i < strings.size(); i++) array.setAtIndex(ADDRESS, i, cString(arena, strings.get(i)));
        array.setAtIndex(ADDRESS, strings.size(), MemorySegment.NULL);
        return array;
    }
}
