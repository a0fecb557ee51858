package dev.herd.threads;

import java.util.concurrent.locks.ReentrantLock;

/**
 * Serial mode: one engine executes guest code at a time. The token is a fair lock, so a thread that
 * gives it back queues behind every waiter (fair hand-off); a slicer thread ends the holder's time
 * slice with a kick when others are waiting, so a guest spinning in pure computation cannot starve
 * the rest. Blocking syscalls run outside the gate, in parallel.
 */
public final class SerialGate implements ExecutionGate {
    /** Length of a time slice when other threads wait. */
    public static final long SLICE_MILLIS = 5;

    private final ReentrantLock token = new ReentrantLock(true);
    private final Thread slicer;
    private volatile GuestThread holder;
    private volatile boolean closed;

    public SerialGate() {
        slicer = Thread.ofPlatform().daemon().name("herd-serial-slicer").unstarted(this::slice);
        slicer.start();
    }

    @Override
    public void enter(GuestThread thread) {
        token.lock();
        holder = thread;
    }

    @Override
    public void leave(GuestThread thread) {
        if (token.isHeldByCurrentThread()) {
            holder = null;
            token.unlock();
        }
    }

    private void slice() {
        while (!closed) {
            try {
                Thread.sleep(SLICE_MILLIS);
            } catch (InterruptedException e) {
                return;
            }
            GuestThread h = holder;
            // A kick that arrives just before the holder enters its engine can be lost (DESIGN
            // fact 6); the next period kicks again.
            if (h != null && token.hasQueuedThreads()) h.requestStop();
        }
    }

    @Override
    public void close() {
        closed = true;
        slicer.interrupt();
    }
}
