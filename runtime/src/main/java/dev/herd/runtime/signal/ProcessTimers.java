package dev.herd.runtime.signal;

import dev.herd.host.Errno;
import dev.herd.host.ErrnoException;
import dev.herd.runtime.process.GuestProcess;
import dev.herd.signals.SigInfo;
import dev.herd.signals.Signals;
import dev.herd.threads.GuestThread;

import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * A process's signal-generating timers: ITIMER_REAL (alarm, setitimer) and POSIX timers
 * (timer_create with SIGEV_SIGNAL, SIGEV_NONE or SIGEV_THREAD_ID). Expirations run on one daemon
 * thread per process, which sends the signal through {@link SignalDelivery}. Times are kept in
 * nanoseconds of {@link System#nanoTime()} (monotonic); an absolute CLOCK_REALTIME expiry is
 * converted once when armed (a later change of the wall clock is not followed — documented).
 */
public final class ProcessTimers implements AutoCloseable {
    public static final int SIGEV_SIGNAL = 0, SIGEV_NONE = 1, SIGEV_THREAD = 2, SIGEV_THREAD_ID = 4;
    /** The ITIMER_REAL timer's key in {@link #timers}; POSIX timer ids are 0, 1, 2... */
    private static final int ITIMER_REAL_KEY = -1;
    private static final int MAX_TIMERS = 4096;

    private final GuestProcess process;
    private final Map<Integer, Timer> timers = new HashMap<>();
    private ScheduledThreadPoolExecutor executor;
    private boolean closed;

    public ProcessTimers(GuestProcess process) {
        this.process = process;
    }

    /** One timer: what it sends to whom, and its schedule. */
    private final class Timer {
        final int id;
        final int signo;
        final int notify;
        final long value;
        final GuestThread thread;
        long interval;
        long expiry; // System.nanoTime() of the next expiry, 0 when disarmed
        int overrun;
        int pendingOverrun;
        ScheduledFuture<?> future;

        Timer(int id, int signo, int notify, long value, GuestThread thread) {
            this.id = id;
            this.signo = signo;
            this.notify = notify;
            this.value = value;
            this.thread = thread;
        }

        void fire() {
            synchronized (ProcessTimers.this) {
                if (future == null || closed) return;
                if (interval > 0) {
                    expiry += interval;
                    long now = System.nanoTime();
                    // Expirations missed while the signal could not be taken count as overruns.
                    while (expiry <= now) {
                        expiry += interval;
                        pendingOverrun++;
                    }
                    future = executor().schedule(this::fire, expiry - now, TimeUnit.NANOSECONDS);
                } else {
                    expiry = 0;
                    future = null;
                }
                overrun = pendingOverrun;
                pendingOverrun = 0;
            }
            if (notify == SIGEV_NONE) return;
            SigInfo info = id == ITIMER_REAL_KEY
                    ? SigInfo.kernel(signo)
                    : new SigInfo(signo, 0, SigInfo.SI_TIMER, 0, 0, 0, value, id, overrun);
            process.delivery().send(thread, info);
        }
    }

    private ScheduledThreadPoolExecutor executor() {
        if (executor == null) {
            executor = new ScheduledThreadPoolExecutor(1, r -> Thread.ofPlatform().daemon().name("herd-timers").unstarted(r));
            executor.setRemoveOnCancelPolicy(true);
        }
        return executor;
    }

    /**
     * Arms or disarms a timer; returns {old remaining ns, old interval ns}.
     *
     * @param delay nanoseconds until the first expiry, 0 to disarm
     */
    private long[] arm(Timer t, long delay, long interval) {
        long now = System.nanoTime();
        long[] old = {t.expiry == 0 ? 0 : Math.max(1, t.expiry - now), t.interval};
        if (t.future != null) t.future.cancel(false);
        t.future = null;
        t.expiry = 0;
        t.interval = interval;
        if (delay > 0 && !closed) {
            t.expiry = now + delay;
            t.future = executor().schedule(t::fire, delay, TimeUnit.NANOSECONDS);
        }
        return old;
    }

    /** setitimer(ITIMER_REAL) / alarm: SIGALRM to the process. Returns the old {remaining, interval}. */
    public synchronized long[] setRealTimer(long delay, long interval) {
        Timer t = timers.computeIfAbsent(ITIMER_REAL_KEY,
                k -> new Timer(ITIMER_REAL_KEY, Signals.SIGALRM, SIGEV_SIGNAL, 0, null));
        return arm(t, delay, interval);
    }

    public synchronized long[] getRealTimer() {
        Timer t = timers.get(ITIMER_REAL_KEY);
        if (t == null || t.expiry == 0) return new long[]{0, t == null ? 0 : t.interval};
        return new long[]{Math.max(1, t.expiry - System.nanoTime()), t.interval};
    }

    /**
     * timer_create: returns the new timer id.
     *
     * @param value the sigval to send, or null for "the timer id" (timer_create without a sigevent)
     */
    public synchronized int create(int signo, int notify, Long value, GuestThread thread) {
        int id = 0;
        while (timers.containsKey(id)) id++;
        if (id >= MAX_TIMERS) throw new ErrnoException(Errno.EAGAIN);
        timers.put(id, new Timer(id, signo, notify, value == null ? id : value, thread));
        return id;
    }

    public synchronized long[] settime(int id, long delay, long interval) {
        return arm(timer(id), delay, interval);
    }

    public synchronized long[] gettime(int id) {
        Timer t = timer(id);
        return new long[]{t.expiry == 0 ? 0 : Math.max(1, t.expiry - System.nanoTime()), t.interval};
    }

    public synchronized int overrun(int id) {
        return timer(id).overrun;
    }

    public synchronized void delete(int id) {
        Timer t = timer(id);
        arm(t, 0, 0);
        timers.remove(id);
    }

    private Timer timer(int id) {
        Timer t = id < 0 ? null : timers.get(id);
        if (t == null) throw new ErrnoException(Errno.EINVAL);
        return t;
    }

    @Override
    public synchronized void close() {
        closed = true;
        for (Timer t : timers.values()) if (t.future != null) t.future.cancel(false);
        timers.clear();
        if (executor != null) executor.shutdownNow();
    }
}
