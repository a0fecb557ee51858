package dev.herd.runtime.fs;

import dev.herd.host.Errno;
import dev.herd.host.ErrnoException;
import dev.herd.memory.GuestAddressSpace;
import dev.herd.memory.GuestMemory;
import dev.herd.memory.MapFlags;
import dev.herd.memory.Prot;
import dev.herd.runtime.process.GuestProcess;
import dev.herd.runtime.syscall.SyscallContext;
import dev.herd.runtime.syscall.SyscallTable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** Handlers driven through a real guest address space. */
class FileSyscallsTest {
    static final int AT_FDCWD = -100, O_RDONLY = 0, O_WRONLY = 1, O_RDWR = 2, O_CREAT = 0100,
            O_DIRECTORY = 0200000, O_CLOEXEC = 02000000;
    static final long BUF = 0x100000, RO = 0x200000, UNMAPPED = 0x300000;

    Path tmp, root;
    GuestAddressSpace as;
    GuestMemory mem;
    FdTable fds;
    PathResolver paths;
    SyscallContext ctx;
    SyscallTable table;

    @BeforeEach
    void setUp() throws IOException {
        tmp = Files.createTempDirectory("herd-fsys");
        root = tmp.resolve("root");
        Files.createDirectories(root.resolve("etc"));
        Files.createDirectories(root.resolve("d"));
        Files.writeString(root.resolve("etc/passwd"), "inside\n");
        Files.writeString(root.resolve("d/a"), "A");
        Files.writeString(root.resolve("d/bb"), "B");
        Files.createSymbolicLink(root.resolve("abs"), Path.of("/etc/passwd"));
        as = GuestAddressSpace.create(1L << 32);
        as.mmap(BUF, 0x10000, Prot.READ | Prot.WRITE, MapFlags.PRIVATE | MapFlags.ANONYMOUS | MapFlags.FIXED, -1, 0);
        as.mmap(RO, 0x1000, Prot.READ, MapFlags.PRIVATE | MapFlags.ANONYMOUS | MapFlags.FIXED, -1, 0);
        mem = as.memory();
        fds = new FdTable();
        paths = new PathResolver(root.toString(), "/");
        GuestProcess p = new GuestProcess(dev.herd.runtime.arch.x86_64.X86_64Guest.INSTANCE, as, fds, paths, "/bin/prog");
        ctx = new SyscallContext(p, null);
        table = new SyscallTable();
        FileSyscalls.register(table);
    }

    @AfterEach
    void tearDown() throws IOException {
        fds.close();
        paths.close();
        as.close();
        PathResolverTest.deleteTree(tmp);
    }

    long sys(String name, long... a) {
        long[] x = java.util.Arrays.copyOf(a, 6);
        try {
            return table.lookup(name).handler().handle(ctx, x[0], x[1], x[2], x[3], x[4], x[5]);
        } catch (ErrnoException e) {
            return -e.errno();
        }
    }

    /** Writes a C string at BUF + off and returns its guest address. */
    long str(long off, String s) {
        byte[] b = (s + "\0").getBytes(StandardCharsets.ISO_8859_1);
        mem.write(BUF + off, b);
        return BUF + off;
    }

    String readStr(long g, int len) {
        return new String(mem.read(g, len), StandardCharsets.ISO_8859_1);
    }

    @Test
    void openWriteSeekReadThroughGuestBuffers() {
        long fd = sys("openat", AT_FDCWD, str(0, "/new.txt"), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        assertEquals(0, fd);
        assertEquals(FdTable.FD_CLOEXEC, sys("fcntl", fd, 1 /* F_GETFD */));
        long data = str(0x1000, "hello herd");
        assertEquals(10, sys("write", fd, data, 10));
        assertEquals(0, sys("lseek", fd, 0, 0));
        assertEquals(10, sys("read", fd, BUF + 0x2000, 100));
        assertEquals("hello herd", readStr(BUF + 0x2000, 10));
        assertEquals(0, sys("fstat", fd, BUF + 0x3000));
        assertEquals(10, mem.readLong(BUF + 0x3000 + 48), "st_size");
        assertEquals(0, sys("close", fd));
        assertEquals(-Errno.EBADF, sys("close", fd));
        assertTrue(Files.exists(root.resolve("new.txt")));
    }

    @Test
    void badPointersAreEfault() {
        long fd = sys("open", str(0, "/etc/passwd"), O_RDONLY, 0);
        assertTrue(fd >= 0);
        assertEquals(-Errno.EFAULT, sys("read", fd, RO, 4), "read into a read-only page");
        assertEquals(-Errno.EFAULT, sys("read", fd, UNMAPPED, 4));
        assertEquals(-Errno.EFAULT, sys("read", fd, (1L << 40) + 5, 4), "outside the guest space");
        assertEquals(-Errno.EFAULT, sys("open", UNMAPPED, O_RDONLY, 0));
        assertEquals(-Errno.EFAULT, sys("fstat", fd, RO));
        assertEquals(0, sys("read", fd, UNMAPPED, 0), "zero-length read never faults");
        assertEquals(-Errno.EBADF, sys("read", 77, BUF, 4));
        assertEquals(-Errno.ENOENT, sys("open", str(0, ""), O_RDONLY, 0));
        assertEquals(0, sys("write", sys("open", str(0, "/w"), O_WRONLY | O_CREAT, 0600), UNMAPPED, 0), "write of 0 bytes");
    }

    @Test
    void statThroughAbsoluteSymlinkStaysInRootfs() {
        assertEquals(0, sys("stat", str(0, "/abs"), BUF + 0x1000));
        assertEquals(7, mem.readLong(BUF + 0x1000 + 48), "size of the rootfs passwd, not the host's");
        assertEquals(0, sys("lstat", str(0, "/abs"), BUF + 0x1000));
        assertEquals(0120000, mem.readInt(BUF + 0x1000 + 24) & 0170000, "lstat sees the link");
        assertEquals(0, sys("newfstatat", AT_FDCWD, str(0, "/etc/../../../etc/passwd"), BUF + 0x1000, 0));
        assertEquals(11, sys("readlink", str(0, "/abs"), BUF + 0x1000, 100));
        assertEquals("/etc/passwd", readStr(BUF + 0x1000, 11));
        assertEquals(4, sys("readlink", str(0, "/abs"), BUF + 0x1000, 4), "truncated silently");
        assertEquals(9, sys("readlink", str(0, "/proc/self/exe"), BUF + 0x1000, 100));
        assertEquals("/bin/prog", readStr(BUF + 0x1000, 9));
        assertEquals(0, sys("statx", AT_FDCWD, str(0, "/abs"), 0, 0x7ff, BUF + 0x1000));
        assertEquals(7, mem.readLong(BUF + 0x1000 + 40), "statx stx_size");
        assertEquals(0, sys("access", str(0, "/abs"), 4));
        assertEquals(-Errno.ENOENT, sys("access", str(0, "/nope"), 0));
        assertEquals(-Errno.EINVAL, sys("faccessat2", AT_FDCWD, str(0, "/abs"), 8, 0));
    }

    @Test
    void getdents64AndOldGetdents() {
        long fd = sys("open", str(0, "/d"), O_RDONLY | O_DIRECTORY, 0);
        long n = sys("getdents64", fd, BUF + 0x1000, 4096);
        assertTrue(n > 0);
        List<String> names = new ArrayList<>();
        ByteBuffer b = ByteBuffer.wrap(mem.read(BUF + 0x1000, (int) n)).order(ByteOrder.LITTLE_ENDIAN);
        for (int pos = 0; pos < n; ) {
            int reclen = b.getShort(pos + 16) & 0xffff;
            int end = pos + 19;
            while (b.get(end) != 0) end++;
            names.add(new String(b.array(), pos + 19, end - pos - 19));
            pos += reclen;
        }
        assertEquals(List.of(".", "..", "a", "bb"), names.stream().sorted().toList());

        assertEquals(0, sys("lseek", fd, 0, 0));
        n = sys("getdents", fd, BUF + 0x1000, 4096);
        assertTrue(n > 0);
        names.clear();
        b = ByteBuffer.wrap(mem.read(BUF + 0x1000, (int) n)).order(ByteOrder.LITTLE_ENDIAN);
        for (int pos = 0; pos < n; ) {
            int reclen = b.getShort(pos + 16) & 0xffff;
            int end = pos + 18;
            while (b.get(end) != 0) end++;
            String name = new String(b.array(), pos + 18, end - pos - 18);
            names.add(name);
            byte type = b.get(pos + reclen - 1);
            assertEquals(name.equals("a") || name.equals("bb") ? 8 : 4, type, "d_type of " + name);
            pos += reclen;
        }
        assertEquals(List.of(".", "..", "a", "bb"), names.stream().sorted().toList());
        // At the end of the directory nothing is copied, so even a read-only buffer gives 0 (Linux);
        // from the start the first entry faults.
        assertEquals(0, sys("getdents64", fd, RO, 4096));
        assertEquals(0, sys("lseek", fd, 0, 0));
        assertEquals(-Errno.EFAULT, sys("getdents64", fd, RO, 4096));
    }

    @Test
    void pipePollSelect() {
        assertEquals(0, sys("pipe2", BUF, O_CLOEXEC));
        int r = mem.readInt(BUF), w = mem.readInt(BUF + 4);
        assertEquals(0, r);
        assertEquals(1, w);
        // poll: nothing to read yet
        long pfd = BUF + 0x100;
        mem.writeInt(pfd, r);
        mem.writeInt(pfd + 4, 1); // events POLLIN, revents 0
        assertEquals(0, sys("poll", pfd, 1, 0));
        assertEquals(1, sys("write", w, str(0x200, "x"), 1));
        assertEquals(1, sys("poll", pfd, 1, 1000));
        assertEquals(1, mem.readInt(pfd + 4) >>> 16, "revents POLLIN");
        assertEquals(0, sys("ioctl", r, 0x541B /* FIONREAD */, BUF + 0x300));
        assertEquals(1, mem.readInt(BUF + 0x300));
        assertEquals(-Errno.ENOTTY, sys("ioctl", r, 0x5401 /* TCGETS */, BUF + 0x300));
        assertEquals(-Errno.ENOTTY, sys("ioctl", r, 0x12345678, BUF + 0x300));
        // a closed fd in poll → POLLNVAL and an immediate return
        mem.writeInt(pfd + 8, 55);
        mem.writeInt(pfd + 12, 1);
        assertEquals(2, sys("poll", pfd, 2, -1));
        assertEquals(0x20, mem.readInt(pfd + 12) >>> 16);
        // select: r readable, w writable
        long rs = BUF + 0x400, ws = BUF + 0x408, tv = BUF + 0x410;
        mem.writeLong(rs, 1L << r);
        mem.writeLong(ws, 1L << w);
        mem.writeLong(tv, 5);
        mem.writeLong(tv + 8, 0);
        assertEquals(2, sys("select", 2, rs, ws, 0, tv));
        assertEquals(1L << r, mem.readLong(rs));
        assertEquals(1L << w, mem.readLong(ws));
        assertTrue(mem.readLong(tv) <= 5);
        mem.writeLong(rs, 1L << 9);
        assertEquals(-Errno.EBADF, sys("select", 10, rs, 0, 0, tv));
        assertEquals(-Errno.EFAULT, sys("poll", UNMAPPED, 1, 0));
    }

    @Test
    void vectoredIo() {
        long fd = sys("open", str(0, "/v"), O_RDWR | O_CREAT, 0600);
        long iov = BUF + 0x100;
        mem.writeLong(iov, str(0x200, "abc"));
        mem.writeLong(iov + 8, 3);
        mem.writeLong(iov + 16, str(0x300, "defg"));
        mem.writeLong(iov + 24, 4);
        assertEquals(7, sys("writev", fd, iov, 2));
        mem.writeLong(iov, BUF + 0x400);
        mem.writeLong(iov + 8, 2);
        mem.writeLong(iov + 16, BUF + 0x500);
        mem.writeLong(iov + 24, 10);
        assertEquals(7, sys("preadv", fd, iov, 2, 0, 0));
        assertEquals("ab", readStr(BUF + 0x400, 2));
        assertEquals("cdefg", readStr(BUF + 0x500, 5));
        assertEquals(-Errno.EINVAL, sys("readv", fd, iov, 1025));
        // A read-only second buffer: like Linux, a short read that stops at the fault.
        mem.writeLong(iov + 16, RO);
        assertEquals(2, sys("preadv", fd, iov, 2, 0, 0));
        mem.writeLong(iov, RO);
        assertEquals(-Errno.EFAULT, sys("preadv", fd, iov, 2, 0, 0));
    }

    @Test
    void namespaceOperations() throws IOException {
        assertEquals(0, sys("mkdir", str(0, "/m"), 0755));
        assertEquals(-Errno.EEXIST, sys("mkdir", str(0, "/m/"), 0755));
        assertEquals(0, sys("chdir", str(0, "/m")));
        assertEquals(3, sys("getcwd", BUF + 0x100, 100));
        assertEquals("/m\0", readStr(BUF + 0x100, 3));
        assertEquals(-Errno.ERANGE, sys("getcwd", BUF + 0x100, 2));
        assertEquals(0, sys("symlink", str(0, "/etc/passwd"), str(0x100, "ln")));
        assertEquals(0, sys("rename", str(0, "ln"), str(0x100, "ln2")));
        assertEquals(0, sys("link", str(0, "/etc/passwd"), str(0x100, "hard")));
        assertEquals(0, sys("linkat", AT_FDCWD, str(0, "ln2"), AT_FDCWD, str(0x100, "hard2"), 0x400));
        assertEquals("inside\n", Files.readString(root.resolve("m/hard2")));
        assertTrue(Files.isSymbolicLink(root.resolve("m/ln2")));
        assertEquals(0, sys("unlink", str(0, "ln2")));
        assertEquals(-Errno.ENOTEMPTY, sys("rmdir", str(0, "/m")));
        assertEquals(0, sys("mknod", str(0, "fifo"), 0010644, 0));
        assertTrue(Files.exists(root.resolve("m/fifo")));
        assertEquals(-Errno.EPERM, sys("mknod", str(0, "dev"), 0020644, 0x0101));
        assertEquals(0, sys("chmod", str(0, "hard"), 0600));
        assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(
                Files.getPosixFilePermissions(root.resolve("m/hard"))));
        assertEquals(0, sys("truncate", str(0, "hard"), 3));
        assertEquals("ins", Files.readString(root.resolve("m/hard")));
        assertEquals(0, sys("utimensat", AT_FDCWD, str(0, "hard"), 0, 0));
        assertEquals(0, sys("umask", 077) >= 0 ? 0 : 1);
        assertEquals(077, sys("umask", 022));
        assertEquals(0, sys("chdir", str(0, "..")));
        assertEquals(2, sys("getcwd", BUF + 0x100, 100));
    }

    @Test
    void fdSyscalls() {
        long a = sys("eventfd2", 0, 0);
        assertEquals(0, a);
        assertEquals(5, sys("fcntl", a, 0 /* F_DUPFD */, 5));
        assertEquals(7, sys("dup2", a, 7));
        assertEquals(-Errno.EINVAL, sys("dup3", 7, 7, 0));
        assertEquals(0, sys("fcntl", 7, 2 /* F_SETFD */, 1));
        assertEquals(1, sys("fcntl", 7, 1));
        assertEquals(0, sys("ioctl", 7, 0x5450 /* FIONCLEX */));
        assertEquals(0, sys("fcntl", 7, 1));
        assertEquals(-Errno.EINVAL, sys("fcntl", 7, 9999));
        assertEquals(1, sys("memfd_create", str(0, "x"), 0));
        assertEquals(0, sys("close_range", 1, 6, 0));
        assertTrue(fds.isOpen(0));
        assertFalse(fds.isOpen(1));
        assertFalse(fds.isOpen(5));
        assertTrue(fds.isOpen(7));
    }
}
