package dev.herd.runtime.signal;

import dev.herd.host.HostKernel;
import dev.herd.host.HostSyscall;
import dev.herd.runtime.process.GuestProcess;
import dev.herd.signals.SigInfo;
import dev.herd.signals.Signals;
import dev.herd.threads.GuestThread;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * ITIMER_VIRTUAL (user CPU time, SIGVTALRM) and ITIMER_PROF (user + system CPU time, SIGPROF) of
 * one guest process.
 *
 * <p>The guest's CPU time is the CPU time of its threads, and guest threads are host threads with
 * the same TIDs, so the kernel keeps the account: each thread's clock is read with
 * {@code clock_gettime} on its per-thread CPU clock ({@code MAKE_THREAD_CPUCLOCK(tid, VIRT|PROF)}),
 * which counts Herd's work on the thread's behalf too (as the kernel counts a syscall's work as
 * system time). While a timer is armed, the process's timer thread samples the live threads every
 * quarter interval (1-10 ms) and sends the signal to the process when the consumed time reaches the
 * expiry; a thread that ends between two samples loses at most one sampling period. Expirations
 * missed between samples are not signalled separately (itimers have no overrun count).
 */
final class CpuTimeItimers {
    static final int ITIMER_VIRTUAL = 1, ITIMER_PROF = 2;
    /** CPUCLOCK_PROF and CPUCLOCK_VIRT, the per-thread flag, as include/linux/posix-timers.h encodes clockids. */
    private static final int CPUCLOCK_PROF = 0, CPUCLOCK_VIRT = 1, CPUCLOCK_PERTHREAD = 4;
    private static final long MIN_PERIOD = 1_000_000, MAX_PERIOD = 10_000_000;

    private final GuestProcess process;
    private final Supplier<ScheduledExecutorService> executor;
    private final CpuTimer[] timers = {null, new CpuTimer(ITIMER_VIRTUAL), new CpuTimer(ITIMER_PROF)};
    private final MemorySegment timespec = Arena.ofAuto().allocate(16, 8);

    CpuTimeItimers(GuestProcess process, Supplier<ScheduledExecutorService> executor) {
        this.process = process;
        this.executor = executor;
    }

    private final class CpuTimer {
        final int which;
        long interval;
        /** CPU ns still to consume before the next expiry; 0 when disarmed. */
        long remaining;
        /** Each live thread's clock at the last sample (threads seen first later start from 0). */
        final Map<Integer, Long> lastSample = new HashMap<>();
        ScheduledFuture<?> poll;

        CpuTimer(int which) {
            this.which = which;
        }

        int signal() {
            return which == ITIMER_VIRTUAL ? Signals.SIGVTALRM : Signals.SIGPROF;
        }

        int clockKind() {
            return which == ITIMER_VIRTUAL ? CPUCLOCK_VIRT : CPUCLOCK_PROF;
        }
    }

    /** Arms (value &gt; 0) or disarms a timer; returns its old {remaining, interval} in ns. */
    synchronized long[] set(int which, long value, long interval) {
        CpuTimer t = timers[which];
        long[] old = {t.remaining, t.interval};
        if (t.poll != null) t.poll.cancel(false);
        t.poll = null;
        t.lastSample.clear();
        t.remaining = value;
        t.interval = interval;
        if (value > 0) {
            for (GuestThread thread : process.threads().threads()) {
                long now = threadClock(thread.tid(), t.clockKind());
                if (now >= 0) t.lastSample.put(thread.tid(), now);
            }
            long period = Math.clamp(Math.min(value, interval > 0 ? interval : value) / 4, MIN_PERIOD, MAX_PERIOD);
            t.poll = executor.get().scheduleAtFixedRate(() -> sample(t), period, period, TimeUnit.NANOSECONDS);
        }
        return old;
    }

    synchronized long[] get(int which) {
        CpuTimer t = timers[which];
        return new long[]{t.remaining, t.interval};
    }

    /**
     * One sampling round. The signal is sent under this object's lock, so a disarm (which takes
     * the same lock) is never followed by a signal of the old arming.
     */
    private synchronized void sample(CpuTimer t) {
        if (t.poll == null || t.remaining == 0) return;
        long consumed = 0;
        Map<Integer, Long> seen = new HashMap<>();
        for (GuestThread thread : process.threads().threads()) {
            long now = threadClock(thread.tid(), t.clockKind());
            if (now < 0) continue; // ended since the listing
            consumed += Math.max(0, now - t.lastSample.getOrDefault(thread.tid(), 0L));
            seen.put(thread.tid(), now);
        }
        t.lastSample.clear();
        t.lastSample.putAll(seen);
        if (consumed < t.remaining) {
            t.remaining -= consumed;
            return;
        }
        if (t.interval > 0) {
            // Expirations beyond the first within one sample are not signalled separately.
            long over = (consumed - t.remaining) % t.interval;
            t.remaining = t.interval - over;
        } else {
            t.remaining = 0;
            t.poll.cancel(false);
            t.poll = null;
        }
        process.delivery().send(null, SigInfo.kernel(t.signal()));
    }

    /** A host thread's CPU clock in ns, or -1 if the thread is gone. Called on one thread at a time. */
    private long threadClock(int tid, int kind) {
        long clockId = ((long) ~tid << 3) | CPUCLOCK_PERTHREAD | kind;
        if (HostKernel.call(HostSyscall.CLOCK_GETTIME, clockId, timespec.address()) < 0) return -1;
        return timespec.get(ValueLayout.JAVA_LONG, 0) * 1_000_000_000L + timespec.get(ValueLayout.JAVA_LONG, 8);
    }

    synchronized void close() {
        for (CpuTimer t : timers) {
            if (t != null && t.poll != null) t.poll.cancel(false);
        }
    }
}
