package dev.herd.runtime.fs;

import dev.herd.host.Errno;
import dev.herd.host.ErrnoException;
import dev.herd.host.HostKernel;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

import static dev.herd.runtime.fs.PathResolver.AT_FDCWD;
import static org.junit.jupiter.api.Assertions.*;

class PathResolverTest {
    /** Not @TempDir: its cleanup warns about every symlink pointing outside the directory. */
    Path tmp;
    Path root;
    PathResolver r;

    @BeforeEach
    void setUp() throws IOException {
        tmp = Files.createTempDirectory("herd-paths");
        root = tmp.resolve("root");
        Files.createDirectories(root.resolve("etc"));
        Files.createDirectories(root.resolve("home/u/sub"));
        Files.writeString(root.resolve("etc/passwd"), "inside\n");
        Files.writeString(root.resolve("home/u/file"), "ufile\n");
        Files.writeString(tmp.resolve("outside"), "outside\n");
        Files.createSymbolicLink(root.resolve("abs"), Path.of("/etc/passwd"));
        Files.createSymbolicLink(root.resolve("home/u/up"), Path.of("../../../../../../etc/passwd"));
        Files.createSymbolicLink(root.resolve("loop1"), Path.of("loop2"));
        Files.createSymbolicLink(root.resolve("loop2"), Path.of("loop1"));
        Files.createSymbolicLink(root.resolve("homelink"), Path.of("/home/u"));
        Files.createSymbolicLink(root.resolve("escape"), Path.of("/../outside"));
        r = new PathResolver(root.toString(), "/");
    }

    @AfterEach
    void tearDown() throws IOException {
        r.close();
        deleteTree(tmp);
    }

    /** Deletes without following symlinks. */
    static void deleteTree(Path p) throws IOException {
        try (var walk = Files.walk(p)) {
            for (Path q : walk.sorted(java.util.Comparator.reverseOrder()).toList()) Files.deleteIfExists(q);
        }
    }

    static String readAll(int fd) {
        Scratch s = Scratch.get();
        int m = s.mark();
        try {
            long buf = s.alloc(4096);
            long n = HostKernel.call(dev.herd.host.HostSyscall.READ, fd, buf, 4096);
            assertTrue(n >= 0, "read: " + n);
            return new String(Scratch.bytes(buf, (int) n), StandardCharsets.ISO_8859_1);
        } finally {
            s.release(m);
            HostKernel.call(dev.herd.host.HostSyscall.CLOSE, fd);
        }
    }

    String open(int dirFd, String path) {
        return readAll(r.openIn(dirFd, path, 0, 0));
    }

    static int errno(Runnable run) {
        try {
            run.run();
        } catch (ErrnoException e) {
            return e.errno();
        }
        return 0;
    }

    @Test
    void rootPathIsCanonical() throws IOException {
        assertEquals(root.toRealPath().toString(), r.rootHostPath());
        assertEquals("/", r.cwd());
    }

    @Test
    void absoluteAndDotDotStayInside() {
        assertEquals("inside\n", open(AT_FDCWD, "/etc/passwd"));
        assertEquals("inside\n", open(AT_FDCWD, "/../../../../etc/passwd"));
        assertEquals("inside\n", open(AT_FDCWD, "../../etc/../../etc/passwd"));
        assertEquals(Errno.ENOENT, errno(() -> r.openIn(AT_FDCWD, "/../outside", 0, 0)));
    }

    @Test
    void symlinksStayInside() {
        assertEquals("inside\n", open(AT_FDCWD, "/abs"), "absolute symlink resolves in the rootfs");
        assertEquals("inside\n", open(AT_FDCWD, "/home/u/up"), "relative .. symlink is clamped");
        assertEquals(Errno.ENOENT, errno(() -> r.openIn(AT_FDCWD, "/escape", 0, 0)));
        assertEquals("ufile\n", open(AT_FDCWD, "/homelink/file"));
    }

    @Test
    void symlinkLoopIsEloop() {
        assertEquals(Errno.ELOOP, errno(() -> r.openIn(AT_FDCWD, "/loop1", 0, 0)));
        assertEquals(Errno.ELOOP, errno(() -> r.openIn(AT_FDCWD, "/abs", PathResolver.O_NOFOLLOW, 0)));
    }

    @Test
    void relativePathsFollowChdir() {
        r.chdir(AT_FDCWD, "/home/u");
        assertEquals("/home/u", r.cwd());
        assertEquals("ufile\n", open(AT_FDCWD, "file"));
        r.chdir(AT_FDCWD, "sub");
        assertEquals("/home/u/sub", r.cwd());
        assertEquals("ufile\n", open(AT_FDCWD, "../file"));
        r.chdir(AT_FDCWD, "../../../../../..");
        assertEquals("/", r.cwd());
        r.chdir(AT_FDCWD, "homelink");
        assertEquals("/home/u", r.cwd(), "cwd is canonical (symlink resolved)");
        assertEquals(Errno.ENOTDIR, errno(() -> r.chdir(AT_FDCWD, "file")));
        assertEquals(Errno.ENOENT, errno(() -> r.chdir(AT_FDCWD, "nope")));
        assertEquals("/home/u", r.cwd());
        assertArrayEquals("/home/u".getBytes(), r.getcwdBytes());
    }

    @Test
    void initialCwd() {
        try (PathResolver p = new PathResolver(root.toString(), "/homelink")) {
            assertEquals("/home/u", p.cwd());
        }
        assertEquals(Errno.ENOENT, errno(() -> new PathResolver(root.toString(), "/missing")));
    }

    @Test
    void dirfdRelative() {
        int home = r.openIn(AT_FDCWD, "/home", PathResolver.O_PATH | PathResolver.O_DIRECTORY, 0);
        try {
            assertEquals("/home", r.guestPathOf(home));
            assertEquals("ufile\n", open(home, "u/file"));
            assertEquals("inside\n", open(home, "../../etc/passwd"));
            assertEquals("inside\n", open(home, "/etc/passwd"));
        } finally {
            HostKernel.call(dev.herd.host.HostSyscall.CLOSE, home);
        }
        int file = r.openIn(AT_FDCWD, "/etc/passwd", 0, 0);
        try {
            assertEquals(Errno.ENOTDIR, errno(() -> r.openIn(file, "x", 0, 0)));
        } finally {
            HostKernel.call(dev.herd.host.HostSyscall.CLOSE, file);
        }
        int pipeFd = FdTableTest.hostFd(); // an eventfd: no path
        try {
            assertEquals(Errno.ENOTDIR, errno(() -> r.openIn(pipeFd, "x", 0, 0)));
        } finally {
            HostKernel.call(dev.herd.host.HostSyscall.CLOSE, pipeFd);
        }
    }

    @Test
    void dirfdOutsideRootfsCountsAsRoot() {
        Scratch s = Scratch.get();
        long fd = HostKernel.call(dev.herd.host.HostSyscall.OPENAT, AT_FDCWD, s.cstr(tmp.toString()), PathResolver.O_PATH | PathResolver.O_CLOEXEC);
        assertTrue(fd >= 0);
        try {
            assertEquals("/", r.guestPathOf((int) fd));
            assertEquals("inside\n", open((int) fd, "etc/passwd"));
            assertEquals(Errno.ENOENT, errno(() -> r.openIn((int) fd, "outside", 0, 0)));
        } finally {
            HostKernel.call(dev.herd.host.HostSyscall.CLOSE, fd);
        }
    }

    @Test
    void emptyAndTooLong() {
        assertEquals(Errno.ENOENT, errno(() -> r.openIn(AT_FDCWD, "", 0, 0)));
        String longPath = "/" + "a/".repeat(2048);
        assertEquals(Errno.ENAMETOOLONG, errno(() -> r.openIn(AT_FDCWD, longPath, 0, 0)));
        assertEquals(Errno.ENAMETOOLONG, errno(() -> r.noFollow(AT_FDCWD, longPath)));
        String ok = "/" + "./".repeat(2046) + "etc/passwd"; // 4103 chars would be too long; trim
        String fits = ok.substring(ok.length() - 4095);
        assertEquals(4095, fits.length());
        assertEquals("inside\n", open(AT_FDCWD, fits.startsWith("/") ? fits : fits.substring(1)));
    }

    @Test
    void procSelfExe() {
        long pid = 4242;
        assertArrayEquals("/bin/prog".getBytes(), r.readlink(AT_FDCWD, "/proc/self/exe", "/bin/prog", pid));
        assertArrayEquals("/bin/prog".getBytes(), r.readlink(AT_FDCWD, "/proc//self/exe", "/bin/prog", pid));
        assertArrayEquals("/bin/prog".getBytes(), r.readlink(AT_FDCWD, "/proc/4242/exe", "/bin/prog", pid));
        String inRoot = root.toString() + "/bin/prog";
        assertArrayEquals(r.rootHostPath().equals(root.toString()) ? "/bin/prog".getBytes() : inRoot.getBytes(),
                r.readlink(AT_FDCWD, "/proc/thread-self/exe", inRoot, pid), "rootfs prefix stripped");
    }

    @Test
    void readlinkDoesNotFollowLastComponent() {
        assertArrayEquals("/etc/passwd".getBytes(), r.readlink(AT_FDCWD, "/abs", null, 1));
        assertArrayEquals("loop2".getBytes(), r.readlink(AT_FDCWD, "/loop1", null, 1));
        assertEquals(Errno.EINVAL, errno(() -> r.readlink(AT_FDCWD, "/etc/passwd", null, 1)));
        assertEquals(Errno.ENOENT, errno(() -> r.readlink(AT_FDCWD, "/nope", null, 1)));
    }

    @Test
    void parentAndNoFollowTargets() {
        try (PathResolver.Target t = r.parent(AT_FDCWD, "/home/u/newdir/")) {
            assertEquals("newdir/", t.name());
            assertEquals("/home/u", r.guestPathOf(t.dirFd()));
        }
        try (PathResolver.Target t = r.noFollow(AT_FDCWD, "/abs")) {
            assertEquals("abs", t.name());
            assertEquals("/", r.guestPathOf(t.dirFd()));
        }
        try (PathResolver.Target t = r.noFollow(AT_FDCWD, "/homelink/")) {
            assertEquals("", t.name(), "trailing slash follows, confined");
            assertEquals("/home/u", r.guestPathOf(t.dirFd()));
        }
        try (PathResolver.Target t = r.noFollow(AT_FDCWD, "/..")) {
            assertEquals(".", t.name());
            assertEquals("/", r.guestPathOf(t.dirFd()), ".. never reaches the host parent");
        }
        try (PathResolver.Target t = r.parent(AT_FDCWD, "/")) {
            assertEquals(".", t.name());
            assertEquals("/", r.guestPathOf(t.dirFd()));
        }
        assertEquals(Errno.ENOTDIR, errno(() -> r.parent(AT_FDCWD, "/etc/passwd/x")));
        assertEquals(Errno.ENOENT, errno(() -> r.parent(AT_FDCWD, "/nope/x")));
    }

    @Test
    void createHonoursGuestUmaskNotHostUmask() throws IOException {
        r.umask(0);
        int fd = r.openIn(AT_FDCWD, "/home/u/new", PathResolver.O_CREAT | PathResolver.O_WRONLY, 0666);
        HostKernel.call(dev.herd.host.HostSyscall.CLOSE, fd);
        assertEquals("rw-rw-rw-", PosixFilePermissions.toString(Files.getPosixFilePermissions(root.resolve("home/u/new"))));
        r.umask(077);
        fd = r.openIn(AT_FDCWD, "/home/u/new2", PathResolver.O_CREAT | PathResolver.O_WRONLY, 0666);
        HostKernel.call(dev.herd.host.HostSyscall.CLOSE, fd);
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(root.resolve("home/u/new2"))));
        assertEquals(077, r.umask(022));
        // existing file: O_CREAT without O_EXCL opens it, mode untouched
        fd = r.openIn(AT_FDCWD, "/home/u/new2", PathResolver.O_CREAT | PathResolver.O_WRONLY, 0666);
        HostKernel.call(dev.herd.host.HostSyscall.CLOSE, fd);
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(root.resolve("home/u/new2"))));
        // creating through an absolute symlink lands inside the rootfs
        Files.createSymbolicLink(root.resolve("dangling"), Path.of("/etc/created"));
        fd = r.openIn(AT_FDCWD, "/dangling", PathResolver.O_CREAT | PathResolver.O_WRONLY, 0644);
        HostKernel.call(dev.herd.host.HostSyscall.CLOSE, fd);
        assertTrue(Files.exists(root.resolve("etc/created")));
    }

    @Test
    void openFlagsOpen2WouldRejectAreIgnoredLikeOpen() {
        // O_PATH with O_RDWR|O_TRUNC: open(2) ignores the extras; mode without O_CREAT ignored too
        int fd = r.openIn(AT_FDCWD, "/etc/passwd", PathResolver.O_PATH | 2 | PathResolver.O_TRUNC, 0777);
        HostKernel.call(dev.herd.host.HostSyscall.CLOSE, fd);
        fd = r.openIn(AT_FDCWD, "/etc/passwd", 0x40000000 /* unknown bit */, 0);
        assertEquals("inside\n", readAll(fd));
    }

    /** chroot to /home: "/" and ".." at the root are /home; the cwd left outside resolves from the rootfs. */
    @Test
    void chrootMovesTheGuestRootInsideTheRootfs() {
        int home = r.openIn(AT_FDCWD, "/home", PathResolver.O_PATH | PathResolver.O_DIRECTORY, 0);
        try {
            assertEquals(Errno.EPERM, errno(() -> r.chroot(home, false)));
            assertEquals("/", r.chrootPath());
            r.chroot(home, true);
        } finally {
            HostKernel.call(dev.herd.host.HostSyscall.CLOSE, home);
        }
        assertEquals("/home", r.chrootPath());
        assertEquals(root + "/home", r.guestRootHostPath());
        assertEquals("ufile\n", open(AT_FDCWD, "/u/file"));
        assertEquals("ufile\n", open(AT_FDCWD, "/../../../u/file"));
        assertEquals(Errno.ENOENT, errno(() -> r.openIn(AT_FDCWD, "/etc/passwd", 0, 0)));
        // the cwd is still "/" of the rootfs, outside the chroot: relative lookups see the rootfs
        assertEquals("(unreachable)/", new String(r.getcwdBytes(), StandardCharsets.ISO_8859_1));
        assertEquals("inside\n", open(AT_FDCWD, "../../etc/passwd"));
        assertEquals("inside\n", open(AT_FDCWD, "home/../etc/passwd"));
        r.chdir(AT_FDCWD, "/u");
        assertEquals("/u", new String(r.getcwdBytes(), StandardCharsets.ISO_8859_1));
        assertEquals("ufile\n", open(AT_FDCWD, "../../../u/file"));
        // an absolute symlink restarts at the guest's root
        assertEquals(Errno.ENOENT, errno(() -> r.openIn(AT_FDCWD, "/u/up", 0, 0)));
        assertEquals("/u", r.guestView("/home/u"));
        assertNull(r.guestView("/etc"));
        assertEquals("/u/file", r.guestNameOfHostPath(root + "/home/u/file"));
        assertEquals("/etc/passwd", r.guestNameOfHostPath(root + "/etc/passwd"));
    }

    @Test
    void openResolveScopesAtTheDirfd() {
        int u = r.openIn(AT_FDCWD, "/home/u", PathResolver.O_PATH | PathResolver.O_DIRECTORY, 0);
        try {
            assertEquals("ufile\n", readAll(r.openResolve(u, "file", 0, 0, PathResolver.RESOLVE_BENEATH)));
            assertEquals(Errno.EXDEV, errno(() -> r.openResolve(u, "../u/file", 0, 0, PathResolver.RESOLVE_BENEATH)));
            assertEquals(Errno.EXDEV, errno(() -> r.openResolve(u, "/etc/passwd", 0, 0, PathResolver.RESOLVE_BENEATH)));
            assertEquals("ufile\n", readAll(r.openResolve(u, "/file", 0, 0, PathResolver.RESOLVE_IN_ROOT)));
            assertEquals("ufile\n", readAll(r.openResolve(u, "../../file", 0, 0, PathResolver.RESOLVE_IN_ROOT)));
            assertEquals(Errno.ELOOP, errno(() -> r.openResolve(u, "up", 0, 0, PathResolver.RESOLVE_NO_SYMLINKS)));
            // unscoped: Herd's confined walk (the symlink climbs to the rootfs root, not above)
            assertEquals("inside\n", readAll(r.openResolve(u, "up", 0, 0, PathResolver.RESOLVE_NO_MAGICLINKS)));
            assertEquals(Errno.ENOENT, errno(() -> r.openResolve(AT_FDCWD, "escape", 0, 0, PathResolver.RESOLVE_NO_XDEV)));
        } finally {
            HostKernel.call(dev.herd.host.HostSyscall.CLOSE, u);
        }
    }
}
