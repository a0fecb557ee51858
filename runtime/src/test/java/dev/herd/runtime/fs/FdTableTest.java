package dev.herd.runtime.fs;

import dev.herd.host.Errno;
import dev.herd.host.ErrnoException;
import dev.herd.host.HostKernel;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.*;

class FdTableTest {
    private FdTable t;

    @BeforeEach
    void setUp() { t = new FdTable(); }

    @AfterEach
    void tearDown() { t.close(); }

    /** A fresh host fd (eventfd, O_CLOEXEC) the table can own. */
    static int hostFd() {
        long r = HostKernel.call(dev.herd.host.HostSyscall.EVENTFD2, 0, PathResolver.O_CLOEXEC);
        assertTrue(r >= 0, "eventfd2: " + r);
        return (int) r;
    }

    static boolean hostOpen(int fd) {
        return HostKernel.call(dev.herd.host.HostSyscall.FCNTL, fd, 1 /* F_GETFD */) >= 0;
    }

    static int errno(Runnable r) {
        try {
            r.run();
        } catch (ErrnoException e) {
            return e.errno();
        }
        return 0;
    }

    @Test
    void lowestFreeAllocation() {
        assertEquals(0, t.install(hostFd(), false));
        assertEquals(1, t.install(hostFd(), false));
        assertEquals(2, t.install(hostFd(), false));
        t.close(1);
        assertEquals(1, t.install(hostFd(), false));
        assertEquals(3, t.install(hostFd(), false));
        t.close(0);
        t.close(2);
        assertEquals(0, t.install(hostFd(), false));
        assertEquals(2, t.install(hostFd(), false));
    }

    @Test
    void getAndCloseAndEbadf() {
        int h = hostFd();
        int fd = t.install(h, false);
        assertEquals(h, t.get(fd));
        assertEquals(0, t.close(fd));
        assertFalse(hostOpen(h), "host fd closed with the guest fd");
        assertEquals(Errno.EBADF, errno(() -> t.get(fd)));
        assertEquals(Errno.EBADF, errno(() -> t.close(fd)));
        assertEquals(Errno.EBADF, errno(() -> t.get(-1)));
        assertEquals(Errno.EBADF, errno(() -> t.get(1 << 30)));
    }

    @Test
    void dupSharesFileButNewHostFd() {
        int fd = t.install(hostFd(), true);
        int d = t.dup(fd);
        assertEquals(1, d);
        assertNotEquals(t.get(fd), t.get(d));
        assertEquals(FdTable.FD_CLOEXEC, t.getFdFlags(fd));
        assertEquals(0, t.getFdFlags(d), "dup clears FD_CLOEXEC");
        // same open file description: a write through one is read through the other
        long buf = Scratch.get().alloc(8);
        Scratch.putLong(buf, 5);
        assertEquals(8, HostKernel.call(dev.herd.host.HostSyscall.WRITE, t.get(fd), buf, 8));
        Scratch.putLong(buf, 0);
        assertEquals(8, HostKernel.call(dev.herd.host.HostSyscall.READ, t.get(d), buf, 8));
        assertEquals(5, Scratch.getLong(buf));
    }

    @Test
    void dup2AndDup3() {
        int a = t.install(hostFd(), false);
        assertEquals(a, t.dup2(a, a), "dup2 onto itself is a no-op returning the fd");
        assertEquals(Errno.EBADF, errno(() -> t.dup2(7, 7)));
        assertEquals(Errno.EINVAL, errno(() -> t.dup3(a, a, 0)));
        assertEquals(Errno.EINVAL, errno(() -> t.dup3(a, 9, 1)));
        assertEquals(Errno.EBADF, errno(() -> t.dup2(a, FdTable.DEFAULT_LIMIT)));
        assertEquals(Errno.EBADF, errno(() -> t.dup2(a, -1)));

        int b = t.install(hostFd(), false);
        int oldHostB = t.get(b);
        assertEquals(b, t.dup2(a, b));
        assertFalse(hostOpen(oldHostB), "displaced host fd closed");
        assertEquals(10, t.dup3(a, 10, PathResolver.O_CLOEXEC));
        assertEquals(FdTable.FD_CLOEXEC, t.getFdFlags(10));
        assertEquals(2, t.install(hostFd(), false), "lowest free skips nothing");
        assertEquals(3, t.install(hostFd(), false));
    }

    @Test
    void dupMinAndCloexec() {
        int a = t.install(hostFd(), false);
        assertEquals(5, t.dupMin(a, 5, true));
        assertEquals(FdTable.FD_CLOEXEC, t.getFdFlags(5));
        assertEquals(6, t.dupMin(a, 5, false));
        assertEquals(0, t.getFdFlags(6));
        assertEquals(Errno.EINVAL, errno(() -> t.dupMin(a, FdTable.DEFAULT_LIMIT, false)));
        assertEquals(Errno.EINVAL, errno(() -> t.dupMin(a, -1, false)));
        assertEquals(Errno.EBADF, errno(() -> t.dupMin(77, 0, false)));
        t.setCloexec(a, true);
        assertEquals(FdTable.FD_CLOEXEC, t.getFdFlags(a));
        t.setCloexec(a, false);
        assertEquals(0, t.getFdFlags(a));
        t.setCloexec(5, true);
        t.closeOnExec();
        assertTrue(t.isOpen(a));
        assertFalse(t.isOpen(5));
        assertTrue(t.isOpen(6));
    }

    @Test
    void emfileAtLimit() {
        t.setLimit(4);
        for (int i = 0; i < 4; i++) assertEquals(i, t.install(hostFd(), false));
        int h = hostFd();
        assertEquals(Errno.EMFILE, errno(() -> t.install(h, false)));
        assertFalse(hostOpen(h), "install takes ownership even when it fails");
        assertEquals(Errno.EMFILE, errno(() -> t.dup(0)));
        assertEquals(Errno.EMFILE, errno(() -> t.dupMin(0, 2, false)));
        t.close(2);
        assertEquals(2, t.dup(0));
    }

    @Test
    void closeRange() {
        for (int i = 0; i < 8; i++) t.install(hostFd(), false);
        t.closeRange(2, 4, 0);
        assertArrayEquals(new int[] {0, 1, 5, 6, 7}, t.openFds());
        t.closeRange(6, ~0, 4 /* CLOSE_RANGE_CLOEXEC */);
        assertEquals(FdTable.FD_CLOEXEC, t.getFdFlags(6));
        assertEquals(FdTable.FD_CLOEXEC, t.getFdFlags(7));
        assertEquals(0, t.getFdFlags(5));
        t.closeRange(5, ~0, 0); // ~0u: up to the end
        assertArrayEquals(new int[] {0, 1}, t.openFds());
        assertEquals(Errno.EINVAL, errno(() -> t.closeRange(3, 2, 0)));
        assertEquals(Errno.EINVAL, errno(() -> t.closeRange(0, 2, 1)));
        assertEquals(2, t.install(hostFd(), false));
    }

    @Test
    void withStdioDuplicates() {
        int h = hostFd();
        try (FdTable s = FdTable.withStdio(h, h, -1)) {
            assertTrue(s.isOpen(0));
            assertTrue(s.isOpen(1));
            assertFalse(s.isOpen(2));
            assertNotEquals(h, s.get(0));
            s.close(1);
            assertTrue(hostOpen(h), "closing guest 1 leaves the source fd alone");
            assertEquals(1, s.install(hostFd(), false));
        }
        assertTrue(hostOpen(h));
        HostKernel.call(dev.herd.host.HostSyscall.CLOSE, h);
    }

    @Test
    void closeClosesEveryHostFd() {
        List<Integer> hosts = new ArrayList<>();
        for (int i = 0; i < 5; i++) hosts.add(t.get(t.install(hostFd(), false)));
        t.dup2(0, 100);
        hosts.add(t.get(100));
        t.close();
        for (int h : hosts) assertFalse(hostOpen(h));
        assertEquals(Errno.EBADF, errno(() -> t.install(hostFd(), false)));
    }

    @Test
    void growsPastInitialCapacity() {
        t.setLimit(5000);
        for (int i = 0; i < 300; i++) assertEquals(i, t.install(hostFd(), false));
        assertEquals(4000, t.dup2(0, 4000));
        assertEquals(300, t.install(hostFd(), false));
        assertEquals(302, t.size());
    }

    @Test
    void concurrentAllocateAndCloseLosesNothing() throws Exception {
        int threads = 4, rounds = 2000;
        t.setLimit(4096);
        Set<Integer> live = ConcurrentHashMap.newKeySet();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        CyclicBarrier start = new CyclicBarrier(threads);
        List<Thread> ts = new ArrayList<>();
        for (int k = 0; k < threads; k++) {
            ts.add(Thread.ofPlatform().start(() -> {
                try {
                    start.await();
                    List<Integer> mine = new ArrayList<>();
                    for (int i = 0; i < rounds; i++) {
                        int fd = (i % 3 == 2 && !mine.isEmpty()) ? t.dup(mine.get(0)) : t.install(hostFd(), false);
                        if (!live.add(fd)) throw new AssertionError("fd handed out twice: " + fd);
                        mine.add(fd);
                        if (mine.size() > 8) {
                            int c = mine.remove(mine.size() / 2);
                            live.remove(c);
                            t.close(c);
                        }
                    }
                    for (int c : mine) {
                        live.remove(c);
                        t.close(c);
                    }
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                }
            }));
        }
        for (Thread th : ts) th.join();
        if (failure.get() != null) throw new AssertionError(failure.get());
        assertEquals(0, t.size());
        assertEquals(0, t.openFds().length);
        // every slot free again: allocation restarts at 0 and is dense
        Set<Integer> again = new HashSet<>();
        for (int i = 0; i < 10; i++) again.add(t.install(hostFd(), false));
        assertEquals(Set.of(0, 1, 2, 3, 4, 5, 6, 7, 8, 9), again);
    }
}
