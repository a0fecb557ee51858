package dev.herd.memory;

import dev.herd.host.Errno;
import dev.herd.host.ErrnoException;
import dev.herd.host.HostKernel;
import dev.herd.host.HostSyscall;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static dev.herd.memory.MapFlags.*;
import static org.junit.jupiter.api.Assertions.*;

class SemanticsTest {
    static final long P = 4096;
    static final int RW = Prot.READ | Prot.WRITE, R = Prot.READ, RX = Prot.READ | Prot.EXEC;
    static final int ANON = PRIVATE | ANONYMOUS;
    GuestAddressSpace as;
    GuestMemory mem;

    @BeforeEach
    void setUp() {
        as = GuestAddressSpace.create(1L << 36);
        mem = as.memory();
    }

    @AfterEach
    void tearDown() { as.close(); }

    static void errno(int expected, Executable e) {
        ErrnoException x = assertThrows(ErrnoException.class, e);
        assertEquals(Errno.name(expected), Errno.name(x.errno()));
    }

    long map(long addr, long len, int prot, int flags) { return as.mmap(addr, len, prot, flags, -1, 0); }

    @Test
    void mmapBasicsAndErrors() {
        long a = map(0, 3 * P, RW, ANON);
        assertEquals(0, a % P);
        assertTrue(a + 3 * P <= as.mmapBase());
        assertEquals(RW, as.find(a).prot());
        assertNull(as.find(a + 3 * P + 5));
        errno(Errno.EINVAL, () -> map(0, 0, RW, ANON));
        errno(Errno.EINVAL, () -> map(0x100001, P, RW, ANON | FIXED));
        errno(Errno.EINVAL, () -> as.mmap(0, P, RW, ANON, -1, 123));
        errno(Errno.EINVAL, () -> map(0, P, 0x40, ANON));
        errno(Errno.EINVAL, () -> map(0, P, RW, ANONYMOUS));           // no type
        errno(Errno.EINVAL, () -> map(0, P, RW, 0x04 | ANONYMOUS));
        errno(Errno.EOPNOTSUPP, () -> map(0, P, RW, SHARED_VALIDATE | ANONYMOUS | 0x400000 >>> 1 << 1 | 0x200));
        errno(Errno.EPERM, () -> map(0x1000, P, RW, ANON | FIXED));
        errno(Errno.ENOMEM, () -> map(as.size() - P, 2 * P, RW, ANON | FIXED));
        errno(Errno.ENOMEM, () -> map(0, as.size(), RW, ANON));
        errno(Errno.ENOMEM, () -> map(0, -P, RW, ANON));
        errno(Errno.EBADF, () -> map(0, P, RW, PRIVATE));
        // hint honoured when free, ignored below mmap_min_addr, rounded up
        assertEquals(0x40000000L, map(0x40000000L, P, RW, ANON));
        long h = map(0x40000000L, P, RW, ANON);
        assertNotEquals(0x40000000L, h);
        assertNotEquals(0x1000, map(0x1000, P, RW, ANON));
        assertEquals(0x50001000L, map(0x50000001L, P, RW, ANON));
        // growsdown accepted as plain
        long g = map(0, 2 * P, RW, ANON | GROWSDOWN);
        assertNotNull(as.find(g));
    }

    @Test
    void fixedReplacesMiddleAndNoReplace() {
        long a = map(0x100000, 5 * P, RW, ANON | FIXED);
        mem.write(a, new byte[] {1});
        mem.write(a + 2 * P, new byte[] {2});
        mem.write(a + 4 * P, new byte[] {3});
        long v = as.version();
        assertEquals(a + 2 * P, map(a + 2 * P, P, R, ANON | FIXED));
        assertTrue(as.version() > v);
        List<Mapping> ms = as.mappings();
        assertEquals(3, ms.size());
        assertEquals(new Mapping(a, a + 2 * P, RW, ANON, null, 0), ms.get(0));
        assertEquals(R, ms.get(1).prot());
        assertEquals(0, mem.read(a + 2 * P, 1)[0]);       // replaced: zero
        assertEquals(1, mem.read(a, 1)[0]);
        assertEquals(3, mem.read(a + 4 * P, 1)[0]);
        errno(Errno.EEXIST, () -> map(a + P, P, RW, ANON | FIXED_NOREPLACE));
        errno(Errno.EEXIST, () -> map(a - P, 2 * P, RW, ANON | FIXED_NOREPLACE));
        errno(Errno.EINVAL, () -> map(a + 1, P, RW, ANON | FIXED_NOREPLACE));
        assertEquals(a + 5 * P, map(a + 5 * P, P, RW, ANON | FIXED_NOREPLACE));
        // merged with the neighbour of equal attributes
        assertEquals(a + 6 * P, as.find(a + 3 * P).end());
    }

    @Test
    void munmapSplitsAndErrors() {
        long a = map(0x200000, 6 * P, RW, ANON | FIXED);
        mem.writeLong(a + 5 * P, 42);
        as.munmap(a + 2 * P, 2 * P);
        assertEquals(2, as.mappings().size());
        assertEquals(a + 2 * P, as.find(a).end());
        assertEquals(a + 4 * P, as.find(a + 5 * P).start());
        assertEquals(42, mem.readLong(a + 5 * P));
        errno(Errno.EFAULT, () -> mem.readLong(a + 2 * P));
        as.munmap(a + 2 * P, 2 * P);                   // nothing there: fine
        as.munmap(0x7000000, 1);                        // nothing there, unaligned length: fine
        errno(Errno.EINVAL, () -> as.munmap(a + 1, P));
        errno(Errno.EINVAL, () -> as.munmap(a, 0));
        errno(Errno.EINVAL, () -> as.munmap(as.size() - P, 2 * P));
        errno(Errno.EINVAL, () -> as.munmap(-P, P));
        as.munmap(a, 6 * P);
        assertTrue(as.mappings().isEmpty());
    }

    @Test
    void mprotectSplitsMergesAndErrors() {
        long a = map(0x300000, 4 * P, RW, ANON | FIXED);
        as.mprotect(a + P, P, R);
        assertEquals(3, as.mappings().size());
        as.mprotect(a + P, P, RW);
        assertEquals(1, as.mappings().size());
        errno(Errno.EINVAL, () -> as.mprotect(a + 1, P, R));
        errno(Errno.EINVAL, () -> as.mprotect(a, P, 0x40));
        as.mprotect(a, 0, R);                                    // zero length: no-op
        assertEquals(RW, as.find(a).prot());
        // hole in the middle: prefix changed, then ENOMEM (Linux behaviour)
        map(a + 5 * P, P, RW, ANON | FIXED);
        errno(Errno.ENOMEM, () -> as.mprotect(a, 6 * P, R));
        assertEquals(R, as.find(a).prot());
        assertEquals(a + 4 * P, as.find(a).end());
        assertEquals(RW, as.find(a + 5 * P).prot());
        errno(Errno.ENOMEM, () -> as.mprotect(a + 4 * P, P, R));  // start unmapped: nothing changes
        errno(Errno.ENOMEM, () -> as.mprotect(a, -P, R));
        // write to read-only faults
        errno(Errno.EFAULT, () -> mem.writeInt(a, 1));
        assertEquals(0, mem.readInt(a));
    }

    @Test
    void anonymousMemoryIsZeroAfterRemap() {
        long a = map(0x400000, 4 * P, RW, ANON | FIXED);
        byte[] junk = new byte[(int) (4 * P)];
        java.util.Arrays.fill(junk, (byte) 0x5a);
        mem.write(a, junk);
        as.munmap(a, 4 * P);
        as.releaseDeferred();
        assertEquals(a, map(a, 4 * P, RW, ANON | FIXED));
        assertArrayEquals(new byte[junk.length], mem.read(a, junk.length));
        mem.write(a, junk);
        as.munmap(a, 4 * P);          // no release in between: still zero
        assertEquals(a, map(a, 4 * P, RW, ANON | FIXED));
        assertArrayEquals(new byte[junk.length], mem.read(a, junk.length));
        mem.write(a, junk);           // MAP_FIXED over live data: zero
        assertEquals(a, map(a, 4 * P, RW, ANON | FIXED));
        assertArrayEquals(new byte[junk.length], mem.read(a, junk.length));
    }

    @Test
    void brkSemantics() {
        assertEquals(-1, as.brk(0x600000));          // before initBrk: current (-1)
        as.initBrk(0x500123);
        assertEquals(0x500123, as.brk(0));
        assertEquals(0x500123, as.brk(0x400000));     // below start: current
        assertEquals(0x503000, as.brk(0x503000));
        Mapping heap = as.find(0x501000);
        assertEquals(new Mapping(0x501000, 0x503000, RW, ANON, "[heap]", 0), heap);
        mem.writeLong(0x502ff8, 7);
        assertEquals(0x501800, as.brk(0x501800));
        assertEquals(0x502000, as.find(0x501000).end());
        assertNull(as.find(0x502000));
        assertEquals(0x504000, as.brk(0x504000));
        assertEquals(0, mem.readLong(0x502ff8));     // regrown pages are zero
        map(0x506000, P, RW, ANON | FIXED);
        assertEquals(0x504000, as.brk(0x506000));    // would touch the guard page below a mapping
        assertEquals(0x505000, as.brk(0x505000));
        assertEquals(0x505000, as.brk(as.size() + P));
        assertEquals(0x500123, as.brk(0x500123));
        assertNull(as.find(0x501000));
    }

    @Test
    void mremapSemantics() {
        long a = map(0x1000000, 4 * P, RW, ANON | FIXED);
        for (int i = 0; i < 4; i++) mem.writeLong(a + i * P, 100 + i);
        // errors
        errno(Errno.EINVAL, () -> as.mremap(a, P, P, 8, 0));
        errno(Errno.EINVAL, () -> as.mremap(a, P, P, MREMAP_FIXED, 0x2000000));
        errno(Errno.EINVAL, () -> as.mremap(a, P, 2 * P, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, 0));
        errno(Errno.EINVAL, () -> as.mremap(a + 1, P, P, 0, 0));
        errno(Errno.EINVAL, () -> as.mremap(a, P, 0, 0, 0));
        errno(Errno.EFAULT, () -> as.mremap(0x3000000, P, 2 * P, MREMAP_MAYMOVE, 0));
        errno(Errno.EFAULT, () -> as.mremap(a, 5 * P, 6 * P, MREMAP_MAYMOVE, 0));
        errno(Errno.EINVAL, () -> as.mremap(a, P, P, MREMAP_MAYMOVE | MREMAP_FIXED, a + P / 2));
        errno(Errno.EINVAL, () -> as.mremap(a, 2 * P, 2 * P, MREMAP_MAYMOVE | MREMAP_FIXED, a + P));
        errno(Errno.EINVAL, () -> as.mremap(a, P, P, MREMAP_MAYMOVE | MREMAP_FIXED, as.size()));
        // shrink in place
        assertEquals(a, as.mremap(a, 4 * P, 3 * P, 0, 0));
        assertNull(as.find(a + 3 * P));
        // grow in place
        assertEquals(a, as.mremap(a, 3 * P, 5 * P, 0, 0));
        assertEquals(a + 5 * P, as.find(a).end());
        assertEquals(0, mem.readLong(a + 3 * P));
        assertEquals(102, mem.readLong(a + 2 * P));
        // blocked: ENOMEM without MAYMOVE, moves with it
        map(a + 5 * P, P, R, ANON | FIXED);
        errno(Errno.ENOMEM, () -> as.mremap(a, 5 * P, 8 * P, 0, 0));
        long b = as.mremap(a, 5 * P, 8 * P, MREMAP_MAYMOVE, 0);
        assertNotEquals(a, b);
        assertNull(as.find(a));
        for (int i = 0; i < 3; i++) assertEquals(100 + i, mem.readLong(b + i * P));
        assertEquals(b + 8 * P, as.find(b).end());
        // fixed move over an existing mapping
        long c = map(0x5000000, 2 * P, R, ANON | FIXED);
        assertEquals(c, as.mremap(b, 2 * P, 2 * P, MREMAP_MAYMOVE | MREMAP_FIXED, c));
        assertEquals(RW, as.find(c).prot());
        assertEquals(100, mem.readLong(c));
        assertEquals(b + 2 * P, as.find(b + 2 * P).start());
        assertNull(as.find(b));
        // dontunmap: old stays mapped and reads zero
        long d = as.mremap(c, 2 * P, 2 * P, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, 0);
        assertEquals(100, mem.readLong(d));
        assertEquals(0, mem.readLong(c));
        assertNotNull(as.find(c));
        errno(Errno.EPERM, () -> as.mremap(d, P, P, MREMAP_MAYMOVE | MREMAP_FIXED, 0x1000));
    }

    @Test
    void privateFileMapping(@org.junit.jupiter.api.io.TempDir Path dir) throws IOException {
        Path f = dir.resolve("data");
        byte[] content = new byte[(int) (P + 100)];
        for (int i = 0; i < content.length; i++) content[i] = (byte) (i * 7 + 1);
        Files.write(f, content);
        int fd = open(f, 0);
        try {
            long a = as.mmap(0, 3 * P, R, PRIVATE, fd, 0, f.toString());
            assertArrayEquals(content, mem.read(a, content.length));
            assertArrayEquals(new byte[(int) (3 * P - content.length)], mem.read(a + content.length, (int) (3 * P) - content.length));
            assertEquals(f.toString(), as.find(a).name());
            long b = as.mmap(0, P, RW, PRIVATE, fd, P, null);
            assertEquals(content[(int) P], mem.read(b, 1)[0]);
            mem.write(b, new byte[] {9});                           // private: file unchanged
            assertEquals(content[(int) P], Files.readAllBytes(f)[(int) P]);
            errno(Errno.EACCES, () -> as.mmap(0, P, RW, SHARED, fd, 0, null));
            errno(Errno.EINVAL, () -> as.mmap(0, P, R, PRIVATE, fd, 1, null));
            // writeIgnoringProtection into the read-only mapping
            as.writeIgnoringProtection(a, new byte[] {1, 2, 3}, 1, 2);
            assertArrayEquals(new byte[] {2, 3}, mem.read(a, 2));
            as.zeroIgnoringProtection(a, 2);
            assertArrayEquals(new byte[] {0, 0}, mem.read(a, 2));
            errno(Errno.EFAULT, () -> as.writeIgnoringProtection(a + 3 * P - 1, new byte[2], 0, 2));
        } finally {
            HostKernel.call(HostSyscall.CLOSE, fd);
        }
    }

    @Test
    void sharedFileMapping(@org.junit.jupiter.api.io.TempDir Path dir) throws IOException {
        Path f = dir.resolve("shared");
        Files.write(f, new byte[(int) (2 * P)]);
        int fd = open(f, 2);
        try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
            long a = as.mmap(0, 3 * P, RW, SHARED, fd, 0, f.toString());
            raf.seek(10);
            raf.write(new byte[] {11, 12, 13});
            assertArrayEquals(new byte[] {11, 12, 13}, mem.read(a + 10, 3));   // sees the file's writes
            mem.write(a + P, new byte[] {5, 6});
            byte[] onDisk = Files.readAllBytes(f);
            assertEquals(5, onDisk[(int) P]);
            assertEquals(0, mem.read(a + 2 * P, 1)[0]);                         // beyond EOF: zero
            // host read into the mapping writes the file
            as.writeIgnoringProtection(a + 20, new byte[] {77}, 0, 1);
            assertEquals(77, Files.readAllBytes(f)[20]);
            // move it
            long b = as.mremap(a, 3 * P, 3 * P, MREMAP_MAYMOVE | MREMAP_FIXED, 0x7000000);
            assertEquals(11, mem.read(b + 10, 1)[0]);
            raf.seek(11);
            raf.write(99);
            assertEquals(99, mem.read(b + 11, 1)[0]);
            // MAP_FIXED anonymous over it restores plain memory
            map(b, P, RW, ANON | FIXED);
            assertEquals(0, mem.read(b + 10, 1)[0]);
            mem.write(b + 10, new byte[] {1});
            assertEquals(99, Files.readAllBytes(f)[11]);
            as.munmap(b, 3 * P);
            as.releaseDeferred();
            map(b, 3 * P, RW, ANON | FIXED);
            assertArrayEquals(new byte[3], mem.read(b + 10, 3));
        } finally {
            HostKernel.call(HostSyscall.CLOSE, fd);
        }
        // read-only shared mapping: no write, mprotect to W is EACCES
        int rfd = open(f, 0);
        long a = as.mmap(0, P, R, SHARED, rfd, 0, null);
        HostKernel.call(HostSyscall.CLOSE, rfd);                 // the mapping keeps its own reference
        errno(Errno.EACCES, () -> as.mprotect(a, P, RW));
        errno(Errno.EFAULT, () -> mem.writeInt(a, 1));
        errno(Errno.EFAULT, () -> as.writeIgnoringProtection(a, new byte[1], 0, 1));
        assertEquals(11, mem.read(a + 10, 1)[0]);
    }

    /**
     * A private file mapping is filled from the file with its pages faulted in at once
     * (HostArena.readFile): as far as the file goes and no further, so a mapping much longer than
     * its file (ld.so maps a library's whole span first) allocates no memfd pages for its tail.
     */
    @Test
    void privateFileMappingAllocatesOnlyTheFilesPages() throws IOException {
        Path f = Files.createTempFile("herd-sem", ".bin");
        try {
            byte[] content = new byte[(int) P + 100];
            for (int i = 0; i < content.length; i++) content[i] = (byte) (i * 7 + 1);
            Files.write(f, content);
            int fd = open(f, 0);
            try {
                long before = memfdBytes();
                long a = as.mmap(0, 64 * P, R, PRIVATE, fd, 0, null);
                assertEquals(2 * P, memfdBytes() - before, "memfd pages allocated for a 2-page file in a 64-page mapping");
                assertArrayEquals(content, mem.read(a, content.length));
                assertArrayEquals(new byte[(int) (64 * P) - content.length], mem.read(a + content.length, (int) (64 * P) - content.length));
                // from an offset: the file's one remaining page
                long b = as.mmap(0, 8 * P, R, PRIVATE, fd, P, null);
                assertEquals(content[(int) P + 99], mem.read(b + 99, 1)[0]);
                assertEquals(0, mem.read(b + 100, 1)[0]);
            } finally {
                HostKernel.call(HostSyscall.CLOSE, fd);
            }
        } finally {
            Files.deleteIfExists(f);
        }
    }

    /** Bytes the address space's memfd has allocated (st_blocks of the x86_64 struct stat, in 512-byte units). */
    private long memfdBytes() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = a.allocate(144, 8);
            assertEquals(0, HostKernel.call(HostSyscall.FSTAT, as.arena.memfd, st.address()));
            return st.get(ValueLayout.JAVA_LONG, 64) * 512;
        }
    }

    /** Opens path with host openat (flags: 0 read-only, 2 read-write) for the test's own fd. */
    static int open(Path path, int flags) {
        try (Arena a = Arena.ofConfined()) {
            long fd = HostKernel.call(HostSyscall.OPENAT, -100, a.allocateFrom(path.toString()).address(), flags | 0x80000);
            assertTrue(fd >= 0, "open " + fd);
            return (int) fd;
        }
    }

    @Test
    void guestMemoryFaults() {
        long a = map(0x800000, 2 * P, RW, ANON | FIXED);
        map(a + 2 * P, P, R, ANON | FIXED);
        map(a + 3 * P, P, Prot.NONE, ANON | FIXED);
        errno(Errno.EFAULT, () -> mem.readLong(0));
        errno(Errno.EFAULT, () -> mem.readLong(8));
        errno(Errno.EFAULT, () -> mem.readLong(-8));
        errno(Errno.EFAULT, () -> mem.readLong(as.size() - 4));
        errno(Errno.EFAULT, () -> mem.readLong(Long.MAX_VALUE));
        errno(Errno.EFAULT, () -> mem.readLong(a - 4));           // straddles unmapped start
        errno(Errno.EFAULT, () -> mem.writeLong(a + 2 * P - 4, 1)); // straddles into read-only
        errno(Errno.EFAULT, () -> mem.readInt(a + 3 * P));         // PROT_NONE
        errno(Errno.EFAULT, () -> mem.read(a, (int) (5 * P)));
        errno(Errno.EFAULT, () -> mem.hostAddress(a, 3 * P, Prot.WRITE));
        errno(Errno.EFAULT, () -> mem.hostAddress(a, P, Prot.EXEC));
        errno(Errno.EFAULT, () -> mem.segment(a + 2 * P, 8, RW));
        assertEquals(as.hostBase() + a, mem.hostAddress(a, 3 * P, Prot.READ));
        mem.writeLong(a + 2 * P - 8, 0x1122334455667788L);
        assertEquals(0x55667788, mem.readInt(a + 2 * P - 8));
        assertEquals(0x1122334455667788L, mem.readLong(a + 2 * P - 8));
        mem.write(a + 100, new byte[0]);
        mem.read(0, new byte[0], 0, 0);                            // zero length never faults
        MemorySegment s = mem.segment(a, 16, R);
        assertTrue(s.isReadOnly());
        MemorySegment w = mem.segment(a, 16, RW);
        w.set(ValueLayout.JAVA_LONG_UNALIGNED, 0, 5);
        assertEquals(5, mem.readLong(a));
    }

    @Test
    void cStringsAndIovecs() {
        long a = map(0x900000, P, RW, ANON | FIXED);
        map(a + P, P, Prot.NONE, ANON | FIXED);
        mem.write(a, "hello\0".getBytes());
        assertEquals("hello", mem.readCString(a, 4096));
        errno(Errno.ENAMETOOLONG, () -> mem.readCString(a, 5));
        assertEquals("hello", mem.readCString(a, 6));
        byte[] filler = new byte[10];
        java.util.Arrays.fill(filler, (byte) 'x');
        mem.write(a + P - 10, filler);
        errno(Errno.EFAULT, () -> mem.readCString(a + P - 10, 100));
        errno(Errno.ENAMETOOLONG, () -> mem.readCString(a + P - 10, 10));
        errno(Errno.EFAULT, () -> mem.readCString(0, 10));
        assertArrayEquals("hello".getBytes(), mem.readCStringBytes(a, 100));
        // iovecs
        mem.writeLong(a + 512, 0x1000);
        mem.writeLong(a + 520, 10);
        mem.writeLong(a + 528, 0x2000);
        mem.writeLong(a + 536, Long.MAX_VALUE / 2);
        List<GuestMemory.Iovec> iov = mem.readIovecs(a + 512, 2);
        assertEquals(new GuestMemory.Iovec(0x1000, 10), iov.get(0));
        assertEquals(GuestMemory.MAX_RW_COUNT - 10, iov.get(1).len());
        assertEquals(List.of(), mem.readIovecs(0, 0));
        errno(Errno.EINVAL, () -> mem.readIovecs(a + 512, 1025));
        errno(Errno.EINVAL, () -> mem.readIovecs(a + 512, -1));
        errno(Errno.EFAULT, () -> mem.readIovecs(a + P - 16, 2));
        mem.writeLong(a + 520, -1);
        errno(Errno.EINVAL, () -> mem.readIovecs(a + 512, 1));
    }

    /** Host syscalls given hostBase+g fault exactly where the guest has no access. */
    @Test
    void hostProtectionMirrorsGuest() {
        long a = map(0xa00000, P, RW, ANON | FIXED);
        long ro = map(0xa01000, P, R, ANON | FIXED);
        long none = map(0xa02000, P, Prot.NONE, ANON | FIXED);
        long gone = 0xa04000;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment fds = arena.allocate(8);
            assertEquals(0, HostKernel.call(22 /* pipe */, fds.address()));
            int rfd = fds.get(ValueLayout.JAVA_INT, 0), wfd = fds.get(ValueLayout.JAVA_INT, 4);
            try {
                MemorySegment msg = arena.allocateFrom("abcd");
                for (long target : new long[] {ro, none, gone, 0}) {
                    assertEquals(4, HostKernel.call(HostSyscall.WRITE, wfd, msg.address(), 4));
                    assertEquals(-Errno.EFAULT, HostKernel.call(HostSyscall.READ, rfd, as.hostBase() + target, 4), Long.toHexString(target));
                    assertEquals(4, HostKernel.call(HostSyscall.READ, rfd, as.hostBase() + a, 4));
                }
                assertEquals("abcd", mem.readCString(a, 5));
                // after munmap the host page stays accessible until releaseDeferred, then faults
                as.munmap(a, P);
                assertEquals(4, HostKernel.call(HostSyscall.WRITE, wfd, msg.address(), 4));
                assertEquals(4, HostKernel.call(HostSyscall.READ, rfd, as.hostBase() + a, 4));
                as.releaseDeferred();
                assertEquals(4, HostKernel.call(HostSyscall.WRITE, wfd, msg.address(), 4));
                assertEquals(-Errno.EFAULT, HostKernel.call(HostSyscall.READ, rfd, as.hostBase() + a, 4));
                // mprotect to RW raises host protection at once
                as.mprotect(ro, P, RW);
                assertEquals(4, HostKernel.call(HostSyscall.READ, rfd, as.hostBase() + ro, 4));
                assertEquals("abcd", mem.readCString(ro, 5));
                // lowering is deferred
                as.mprotect(ro, P, R);
                assertEquals(4, HostKernel.call(HostSyscall.WRITE, wfd, msg.address(), 4));
                assertEquals(4, HostKernel.call(HostSyscall.READ, rfd, as.hostBase() + ro, 4));
                as.releaseDeferred();
                assertEquals(4, HostKernel.call(HostSyscall.WRITE, wfd, msg.address(), 4));
                assertEquals(-Errno.EFAULT, HostKernel.call(HostSyscall.READ, rfd, as.hostBase() + ro, 4));
                assertEquals(4, HostKernel.call(HostSyscall.READ, rfd, as.hostBase() + none - 8 + 4, 0) + 4);
            } finally {
                HostKernel.call(HostSyscall.CLOSE, rfd);
                HostKernel.call(HostSyscall.CLOSE, wfd);
            }
        }
    }

    @Test
    void regionPlanBoundedUnderManyAlternatingMappings() {
        long base = 0x10000000L;
        for (int i = 0; i < 10_000; i++) map(base + i * P, P, (i & 1) == 0 ? R : RW, ANON | FIXED);
        assertEquals(10_000, as.mappings().size());
        RegionPlan plan = as.regionPlan();
        assertTrue(plan.coalesced());
        assertTrue(plan.regions().size() <= as.regionCap(), "" + plan.regions().size());
        // every mapped page is covered with at least its permissions, and the host allows it
        for (int i = 0; i < 10_000; i += 97) {
            RegionPlan.Region r = plan.find(base + i * P);
            assertNotNull(r);
            int own = (i & 1) == 0 ? R : RW;
            assertEquals(own, r.perms() & own);
        }
        as.munmap(base, 10_000 * P);
        assertTrue(as.regionPlan().regions().isEmpty());
        assertFalse(as.regionPlan().coalesced());
    }

    @Test
    void versionsListenersAndInvalidations() {
        List<Long> seen = new java.util.ArrayList<>();
        as.addChangeListener(seen::add);
        long a = map(0xb00000, 2 * P, RX, ANON | FIXED);
        long v1 = as.version();
        as.mprotect(a, P, R);
        as.munmap(a + P, P);
        as.writeIgnoringProtection(a, new byte[1], 0, 1);       // not exec any more: no bump
        assertEquals(v1 + 2, as.version());
        assertEquals(List.of(v1, v1 + 1, v1 + 2), seen);
        List<long[]> inv = new java.util.ArrayList<>();
        assertTrue(as.invalidations.since(0, as.version(), (s, e) -> inv.add(new long[] {s, e})));
        assertEquals(3, inv.size()); // new exec mapping, lost exec, unmapped exec
        as.mprotect(a, P, RX);
        long v = as.version();
        as.writeIgnoringProtection(a, new byte[1], 0, 1);
        assertEquals(v + 1, as.version());
    }
}
