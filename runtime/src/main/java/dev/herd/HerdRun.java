package dev.herd;

import dev.herd.memory.GuestAddressSpace;
import dev.herd.memory.MapFlags;
import dev.herd.memory.Prot;
import dev.herd.runtime.launch.GuestLauncher;
import dev.herd.runtime.process.GuestProcess;
import dev.herd.runtime.process.LinuxKernel;
import dev.herd.runtime.process.ProcessExit;
import dev.herd.runtime.syscall.InterceptedCall;
import dev.herd.threads.GuestThread;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A started guest program ({@link Herd#start()}): wait for it, read its exit status, stop it.
 *
 * <p>When the guest ends (all threads exited, exit_group, a fatal signal, {@link #stop()} or a
 * failing hook), Herd waits for its threads to finish, lets the stdout/stderr pumps drain, releases
 * the engines, fds and the address space, and only then completes {@link #onExit()}.
 */
public final class HerdRun {
    /** Signal number {@link #stop()} reports (SIGKILL: status 137). */
    private static final int SIGKILL = 9;
    private static final int SCRATCH_SIZE = 8192;
    private static final long DRAIN_MILLIS = 10_000;

    private final Herd herd;
    private final Stdio stdio;
    private volatile LinuxKernel kernel;
    private volatile GuestMemoryAccess memory;
    private final AtomicReference<HookFailedException> failure = new AtomicReference<>();
    private final CompletableFuture<Integer> status = new CompletableFuture<>();
    private final AtomicInteger liveThreads = new AtomicInteger();
    private final ConcurrentHashMap<GuestThread, Scratch> scratch = new ConcurrentHashMap<>();
    private final ConcurrentLinkedQueue<Long> freeScratch = new ConcurrentLinkedQueue<>();
    private volatile GuestLauncher.RunningGuest guest;
    private volatile ProcessExit how;

    HerdRun(Herd herd, Stdio stdio) {
        this.herd = herd;
        this.stdio = stdio;
    }

    /** The run's kernel proxy, or null. */
    dev.herd.proxy.ProxyHost proxyHost() {
        LinuxKernel k = kernel;
        return k == null ? null : k.process().fds().sides().proxy();
    }

    void kernel(LinuxKernel k) {
        this.kernel = k;
        this.memory = new GuestMemoryAccess(k.process().addressSpace());
    }

    GuestProcess process() { return kernel.process(); }

    void started(GuestLauncher.RunningGuest g) {
        this.guest = g;
        Thread.ofPlatform().daemon().name("herd-reaper").start(this::reap);
    }

    // ------------------------------------------------------------------ public

    /**
     * Waits for the end of the run.
     *
     * @return the guest's exit status, or 128+N when signal N ended it ({@link #stop()}: 137)
     * @throws HookFailedException  when a user hook threw and so ended the run
     * @throws InterruptedException when interrupted while waiting (the guest keeps running)
     */
    public int await() throws InterruptedException {
        try {
            return status.get();
        } catch (ExecutionException e) {
            throw unwrap(e);
        }
    }

    /**
     * Waits at most {@code timeout} for the end of the run.
     *
     * @param timeout how long to wait
     * @return the exit status, as {@link #await()}
     * @throws TimeoutException     when the guest is still running
     * @throws HookFailedException  when a user hook threw
     * @throws InterruptedException when interrupted while waiting
     */
    public int await(Duration timeout) throws InterruptedException, TimeoutException {
        try {
            return status.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
        } catch (ExecutionException e) {
            throw unwrap(e);
        }
    }

    private static RuntimeException unwrap(ExecutionException e) {
        if (e.getCause() instanceof RuntimeException r) return r;
        return new IllegalStateException(e.getCause());
    }

    /**
     * Completes with the exit status (or exceptionally with a {@link HookFailedException}) once the
     * run has ended and its resources are released. Completing the returned future has no effect
     * on the run.
     *
     * @return a copy of the run's completion
     */
    public CompletableFuture<Integer> onExit() {
        return status.copy();
    }

    /** @return whether the run has ended and released its resources */
    public boolean isDone() {
        return status.isDone();
    }

    /**
     * The exit status of an ended run: 0-255, 128+N for signal N, 70 when a hook failed or Herd hit
     * an internal error (see {@link #failure()}).
     *
     * @return the status
     * @throws IllegalStateException while the guest is still running
     */
    public int exitStatus() {
        if (!status.isDone()) throw new IllegalStateException("still running");
        return how.shellStatus();
    }

    /** @return the hook failure that ended the run, or null */
    public HookFailedException failure() {
        return failure.get();
    }

    /**
     * Ends every guest thread (as exit_group; the status becomes 137, SIGKILL) and waits until the
     * run has released its resources. Safe from any thread except a guest thread of this run;
     * idempotent; returns at once if the run has already ended.
     */
    public void stop() {
        process().exitGroup(ProcessExit.killed(SIGKILL));
        try {
            status.handle((s, e) -> null).get(DRAIN_MILLIS * 2, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException e) {
            // reported by await()
        }
    }

    /** @return the guest's pid (the TID of its main thread), 0 until it runs */
    public int pid() {
        return process().pid();
    }

    /** @return the TIDs of the guest's live threads */
    public List<Integer> threadIds() {
        return process().threads().threads().stream().mapToInt(GuestThread::tid).filter(t -> t != 0).boxed().toList();
    }

    /** @return checked access to the guest's memory (fails with EFAULT once the run has ended) */
    public GuestMemoryAccess memory() {
        return memory;
    }

    // ------------------------------------------------------------------ internals

    /** Records the first hook failure, ends the run, and returns the exception for the hook's thread to throw. */
    HookFailedException hookFailed(int tid, String where, Throwable cause) {
        HookFailedException e = cause instanceof HookFailedException h ? h : new HookFailedException(tid, where, cause);
        failure.compareAndSet(null, e);
        return e;
    }

    LinuxKernel.ThreadObserver observer() {
        return new LinuxKernel.ThreadObserver() {
            @Override
            public void threadStarted(GuestThread thread) {
                liveThreads.incrementAndGet();
                herd.instrumentation.apply(thread);
                for (ThreadListener l : herd.threadListeners) {
                    try {
                        l.threadStarted(thread.tid());
                    } catch (Throwable t) {
                        throw hookFailed(thread.tid(), "thread start listener", t);
                    }
                }
            }

            @Override
            public void threadExited(GuestThread thread) {
                try {
                    Scratch s = scratch.remove(thread);
                    if (s != null) freeScratch.add(s.base);
                    for (ThreadListener l : herd.threadListeners) {
                        try {
                            l.threadExited(thread.tid());
                        } catch (Throwable t) {
                            throw hookFailed(thread.tid(), "thread exit listener", t);
                        }
                    }
                } finally {
                    liveThreads.decrementAndGet();
                }
            }
        };
    }

    /** Per thread: a scratch area in guest memory for hook-provided syscall arguments. */
    private static final class Scratch {
        final long base;
        InterceptedCall call;
        int used;

        Scratch(long base) { this.base = base; }
    }

    long scratch(InterceptedCall call, byte[] bytes) {
        GuestThread t = call.context().thread();
        Scratch s = scratch.computeIfAbsent(t, k -> new Scratch(newScratchArea()));
        if (s.call != call) {
            s.call = call;
            s.used = 0;
        }
        int need = (bytes.length + 15) & ~15;
        if (bytes.length > SCRATCH_SIZE || s.used + need > SCRATCH_SIZE) {
            throw new GuestMemoryException(s.base, "scratch area full (" + SCRATCH_SIZE + " bytes per call)");
        }
        long address = s.base + s.used;
        memory.write(address, bytes);
        s.used += need;
        return address;
    }

    private long newScratchArea() {
        Long free = freeScratch.poll();
        if (free != null) return free;
        GuestAddressSpace space = process().addressSpace();
        return space.mmap(0, SCRATCH_SIZE, Prot.READ | Prot.WRITE, MapFlags.PRIVATE | MapFlags.ANONYMOUS, -1, 0,
                "[herd-scratch]");
    }

    /** On a daemon thread: wait for the end, drain, release, complete. */
    private void reap() {
        ProcessExit end;
        try {
            end = guest.exit().get();
        } catch (InterruptedException | ExecutionException e) {
            end = ProcessExit.exited(LinuxKernel.INTERNAL_ERROR_STATUS);
        }
        how = end;
        boolean quiet = false;
        try {
            long deadline = System.currentTimeMillis() + DRAIN_MILLIS;
            GuestProcess p = process();
            while (System.currentTimeMillis() < deadline && (p.threads().count() > 0 || liveThreads.get() > 0)) {
                Thread.sleep(1);
            }
            guest.mainThread().join(Math.max(1, deadline - System.currentTimeMillis()));
            quiet = p.threads().count() == 0 && liveThreads.get() == 0 && !guest.mainThread().isAlive();
            stdio.awaitOutput(DRAIN_MILLIS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        // Engines and fds were released when the process ended (GuestLauncher); the address space
        // only once no guest thread can touch it any more (else it is left to the GC-less fate of
        // a leak rather than risk a fault).
        if (quiet) memory.close();
        HookFailedException f = failure.get();
        if (f != null) status.completeExceptionally(f);
        else status.complete(end.shellStatus());
    }

    @Override
    public String toString() {
        return "HerdRun[pid " + (kernel == null ? 0 : pid()) + (isDone() ? ", status " + how.shellStatus() : ", running") + "]";
    }
}
