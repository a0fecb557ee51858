package dev.herd.runtime.launch;

import dev.herd.host.HostKernel;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.SynchronousQueue;

/**
 * A platform thread started ahead of the guest process it will run: a warm fork spare makes it
 * before it has a fork to take, so the child's pid (its first thread's id) is known at once and
 * the parent's fork need not wait for the child to start. It runs exactly one task.
 */
public final class MainThreadSlot {
    private final SynchronousQueue<Runnable> task = new SynchronousQueue<>();
    private final CompletableFuture<Integer> tid = new CompletableFuture<>();
    private final Thread thread;

    public MainThreadSlot() {
        thread = Thread.ofPlatform().name("guest-main").start(() -> {
            tid.complete(HostKernel.gettid());
            Runnable r;
            try {
                r = task.take();
            } catch (InterruptedException e) {
                return;
            }
            r.run();
        });
    }

    /** The thread's host tid: the guest pid of the process it will run. */
    public int tid() {
        return tid.join();
    }

    /** Runs {@code r} on the thread (once); returns the thread. */
    Thread start(Runnable r) {
        try {
            task.put(r);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted handing the guest's first thread over");
        }
        return thread;
    }
}
