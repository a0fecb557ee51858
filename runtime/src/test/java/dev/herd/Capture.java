package dev.herd;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/** An OutputStream that collects guest output and lets a test wait for a piece of it. */
final class Capture extends OutputStream {
    private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();

    @Override
    public synchronized void write(int b) {
        bytes.write(b);
        notifyAll();
    }

    @Override
    public synchronized void write(byte[] b, int off, int len) {
        bytes.write(b, off, len);
        notifyAll();
    }

    synchronized String text() {
        return bytes.toString(StandardCharsets.UTF_8);
    }

    /** Waits until the output contains {@code s}; fails after {@code timeout}. */
    synchronized void await(String s, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!text().contains(s)) {
            long left = deadline - System.nanoTime();
            if (left <= 0) throw new AssertionError("output never contained \"" + s + "\"; got: " + text());
            wait(Math.max(1, left / 1_000_000));
        }
    }
}
