package dev.herd.runtime.process;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.herd.host.HostKernel;
import dev.herd.host.HostSyscall;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;

/**
 * A fork takes a spare only once it has booted (its ready message is on the socket) or ended;
 * handing a fork to a spare still booting made the fork wait for the whole boot.
 */
class ForkSpareTest {
    private static final int AF_UNIX = 1, SOCK_SEQPACKET = 5, SOCK_CLOEXEC = 0x80000;

    @Test
    void aSpareIsBootedOnceItsReadyMessageOrItsEndIsThere() throws Exception {
        Process stand = new ProcessBuilder("sleep", "60").start(); // the spare's host process
        try (Arena a = Arena.ofConfined()) {
            MemorySegment sv = a.allocate(8, 4);
            assertTrue(HostKernel.call(HostSyscall.SOCKETPAIR, AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv.address()) == 0);
            int mine = sv.get(ValueLayout.JAVA_INT, 0), theirs = sv.get(ValueLayout.JAVA_INT, 4);
            ForkSpare spare = new ForkSpare((int) stand.pid(), mine);
            assertFalse(spare.booted(), "nothing sent yet: still booting");
            MemorySegment pid = a.allocate(4, 4);
            pid.set(ValueLayout.JAVA_INT, 0, 1234);
            assertTrue(HostKernel.call(HostSyscall.WRITE, theirs, pid.address(), 4) == 4);
            assertTrue(spare.booted(), "its ready message is there");
            assertTrue(ForkSyscalls.readPid(mine) == 1234);
            assertFalse(spare.booted(), "message taken");
            HostKernel.call(HostSyscall.CLOSE, theirs);
            assertTrue(spare.booted(), "ended: the fork finds out at once and goes cold");
            spare.close();
        } finally {
            stand.destroyForcibly();
        }
    }
}
