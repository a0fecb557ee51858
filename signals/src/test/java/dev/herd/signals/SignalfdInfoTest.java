package dev.herd.signals;

import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * {@link SigInfoLayout#signalfdBytes}: which siginfo fields land where in
 * {@code struct signalfd_siginfo} (uapi linux/signalfd.h offsets), per union member as
 * fs/signalfd.c copies them.
 */
class SignalfdInfoTest {
    private static ByteBuffer of(SigInfo info) {
        byte[] b = SigInfoLayout.signalfdBytes(info);
        assertEquals(128, b.length);
        return ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
    }

    @Test
    void queuedValue() {
        ByteBuffer b = of(new SigInfo(34, 0, SigInfo.SI_QUEUE, 1234, 1000, 0, 0x1_0000_002aL, 0, 0));
        assertEquals(34, b.getInt(0));
        assertEquals(SigInfo.SI_QUEUE, b.getInt(8));
        assertEquals(1234, b.getInt(12));        // ssi_pid
        assertEquals(1000, b.getInt(16));        // ssi_uid
        assertEquals(42, b.getInt(44));          // ssi_int: the low half of the value
        assertEquals(0x1_0000_002aL, b.getLong(48)); // ssi_ptr
    }

    @Test
    void kill() {
        ByteBuffer b = of(SigInfo.user(Signals.SIGUSR1, SigInfo.SI_USER, 7, 8));
        assertEquals(Signals.SIGUSR1, b.getInt(0));
        assertEquals(0, b.getInt(8));
        assertEquals(7, b.getInt(12));
        assertEquals(8, b.getInt(16));
        assertEquals(0, b.getInt(44));
        assertEquals(0, b.getLong(48));
    }

    @Test
    void timer() {
        ByteBuffer b = of(new SigInfo(Signals.SIGALRM, 0, SigInfo.SI_TIMER, 0, 0, 0, 99, 5, 3));
        assertEquals(5, b.getInt(24));           // ssi_tid: the timer id
        assertEquals(3, b.getInt(32));           // ssi_overrun
        assertEquals(99, b.getInt(44));
        assertEquals(99, b.getLong(48));
        assertEquals(0, b.getInt(12));
    }

    @Test
    void fault() {
        ByteBuffer b = of(SigInfo.fault(Signals.SIGSEGV, SigInfo.SEGV_MAPERR, 0xdead_beef_0000L));
        assertEquals(SigInfo.SEGV_MAPERR, b.getInt(8));
        assertEquals(0xdead_beef_0000L, b.getLong(72)); // ssi_addr
        assertEquals(0, b.getInt(12));
    }
}
