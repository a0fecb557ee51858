package dev.herd.host;

import dev.herd.ffm.NativeWords;

import java.lang.foreign.Arena;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.util.List;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;

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

    private static final short POSIX_SPAWN_SETPGROUP = 0x02, POSIX_SPAWN_SETSIGDEF = 0x04, POSIX_SPAWN_SETSIGMASK = 0x08,
            POSIX_SPAWN_SETSID = 0x80;
    /** Generous upper bounds of glibc's posix_spawn_file_actions_t, posix_spawnattr_t, sigset_t. */
    private static final int FILE_ACTIONS_SIZE = 256, ATTR_SIZE = 1024, SIGSET_SIZE = 128;

    /** The libc functions, linked at the first spawn, all of {@link NativeWords#WORDS} shape. */
    private static final class Libc {
        static final MethodHandle POSIX_SPAWN = fn("posix_spawn");
        static final MethodHandle FA_INIT = fn("posix_spawn_file_actions_init");
        static final MethodHandle FA_DESTROY = fn("posix_spawn_file_actions_destroy");
        static final MethodHandle FA_ADDDUP2 = fn("posix_spawn_file_actions_adddup2");
        static final MethodHandle FA_ADDCHDIR = fn("posix_spawn_file_actions_addchdir_np");
        static final MethodHandle FA_ADDCLOSEFROM = fn("posix_spawn_file_actions_addclosefrom_np");
        static final MethodHandle ATTR_INIT = fn("posix_spawnattr_init");
        static final MethodHandle ATTR_DESTROY = fn("posix_spawnattr_destroy");
        static final MethodHandle ATTR_SETFLAGS = fn("posix_spawnattr_setflags");
        static final MethodHandle ATTR_SETSIGMASK = fn("posix_spawnattr_setsigmask");
        static final MethodHandle ATTR_SETSIGDEFAULT = fn("posix_spawnattr_setsigdefault");
        static final MethodHandle ATTR_SETPGROUP = fn("posix_spawnattr_setpgroup");

        private static MethodHandle fn(String name) {
            return NativeWords.handle(Linker.nativeLinker().defaultLookup().find(name)
                    .orElseThrow(() -> new UnsatisfiedLinkError(name + " not found in libc")));
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
        return spawn(path, argv, envp, cwd, fds, closeFrom, -1, false);
    }

    /**
     * As {@link #spawn(byte[], List, List, byte[], List, int)}, the child in a new session
     * ({@code newSession}) or in process group {@code pgroup} (0: a group of its own; -1: this
     * process's).
     */
    public static int spawn(byte[] path, List<byte[]> argv, List<byte[]> envp, byte[] cwd,
                            List<FdPlacement> fds, int closeFrom, int pgroup, boolean newSession) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment fa = arena.allocate(FILE_ACTIONS_SIZE, 16);
            MemorySegment attr = arena.allocate(ATTR_SIZE, 16);
            check((int) NativeWords.call(Libc.FA_INIT, fa.address()));
            try {
                check((int) NativeWords.call(Libc.ATTR_INIT, attr.address()));
                try {
                    for (FdPlacement p : fds) check((int) NativeWords.call(Libc.FA_ADDDUP2, fa.address(), p.from(), p.to()));
                    check((int) NativeWords.call(Libc.FA_ADDCLOSEFROM, fa.address(), closeFrom));
                    if (cwd != null) check((int) NativeWords.call(Libc.FA_ADDCHDIR, fa.address(), cString(arena, cwd).address()));
                    MemorySegment none = arena.allocate(SIGSET_SIZE, 8), all = arena.allocate(SIGSET_SIZE, 8);
                    all.fill((byte) 0xff);
                    check((int) NativeWords.call(Libc.ATTR_SETSIGMASK, attr.address(), none.address()));
                    check((int) NativeWords.call(Libc.ATTR_SETSIGDEFAULT, attr.address(), all.address()));
                    int flags = POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK;
                    if (newSession) {
                        flags |= POSIX_SPAWN_SETSID;
                    } else if (pgroup >= 0) {
                        flags |= POSIX_SPAWN_SETPGROUP;
                        check((int) NativeWords.call(Libc.ATTR_SETPGROUP, attr.address(), pgroup));
                    }
                    check((int) NativeWords.call(Libc.ATTR_SETFLAGS, attr.address(), flags));
                    MemorySegment pid = arena.allocate(JAVA_INT);
                    MemorySegment argvArray = cStringArray(arena, argv);
                    MemorySegment envArray = cStringArray(arena, envp);
                    check((int) NativeWords.call(Libc.POSIX_SPAWN, pid.address(), cString(arena, path).address(), fa.address(), attr.address(), argvArray.address(), envArray.address()));
                    return pid.get(JAVA_INT, 0);
                } finally {
                    int ignored = (int) NativeWords.call(Libc.ATTR_DESTROY, attr.address());
                }
            } finally {
                int ignored = (int) NativeWords.call(Libc.FA_DESTROY, fa.address());
            }
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
