package dev.herd.runtime.signal;

import dev.herd.host.Errno;
import dev.herd.host.ErrnoException;
import dev.herd.runtime.process.GuestProcess;
import dev.herd.signals.SigInfo;
import dev.herd.signals.Signals;
import dev.herd.threads.GuestThread;

import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A process's signal-generating timers: ITIMER_REAL (alarm, setitimer), the CPU-time itimers
 * ({@link CpuTimeItimers}) and POSIX timers
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

    /**
     * The next POSIX timer id to try: as Linux's signal_struct.next_posix_timer_id, ids are handed
     * out cyclically per process (0, 1, 2, ... up to INT_MAX, then 0 again), skipping ids in use,
     * and a deleted id is not reused until the counter wraps.
     */
    private int nextId;

    private final GuestProcess process;
    private final Map<Integer, Timer> timers = new HashMap<>();
    /** The pending instances of POSIX timers, by identity: a dequeued siginfo finds its timer here. */
    private final Map<SigInfo, Timer> queuedSignals = new IdentityHashMap<>();
    private ScheduledThreadPoolExecutor executor;
    private boolean closed;

    private final CpuTimeItimers cpuTimers;

    public ProcessTimers(GuestProcess process) {
        this.process = process;
        this.cpuTimers = new CpuTimeItimers(process, this::sharedExecutor);
    }

    private synchronized ScheduledThreadPoolExecutor sharedExecutor() {
        return executor();
    }

    /**
     * setitimer(ITIMER_VIRTUAL or ITIMER_PROF): returns the old {remaining, interval} in ns.
     *
     * @param which {@link CpuTimeItimers#ITIMER_VIRTUAL} or {@link CpuTimeItimers#ITIMER_PROF}
     */
    public long[] setCpuTimer(int which, long delay, long interval) {
        return cpuTimers.set(which, delay, interval);
    }

    /** getitimer(ITIMER_VIRTUAL or ITIMER_PROF): {remaining, interval} in ns. */
    public long[] getCpuTimer(int which) {
        return cpuTimers.get(which);
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
        /** The timer's one signal instance while it is pending (the kernel's preallocated sigqueue), else null. */
        SigInfo queued;
        /** Expirations since {@link #queued} was sent: its si_overrun when dequeued. */
        int overrunWhileQueued;
        /** timer_getoverrun: the overrun count of the last instance dequeued. */
        int overrunLast;
        ScheduledFuture<?> future;
        /** The clockid of timer_create (CLOCK_REALTIME for ITIMER_REAL). */
        int clock;
        /** Bumped by every arm: an expiry scheduled by an older arm does nothing. */
        long generation;

        Timer(int id, int signo, int notify, long value, GuestThread thread) {
            this.id = id;
            this.signo = signo;
            this.notify = notify;
            this.value = value;
            this.thread = thread;
        }

        /**
         * One expiry. Runs under the process's signal lock and then the timers' lock (the order
         * {@link #dequeued} takes them in), so arming, sending and dequeuing are ordered as under
         * the kernel's timer lock: a timer disarmed or re-armed sends nothing from its old schedule.
         */
        void fire(long armedGeneration) {
            ReentrantLock signalLock = process.signals().lock();
            signalLock.lock();
            try {
                synchronized (ProcessTimers.this) {
                    if (future == null || closed || generation != armedGeneration) return;
                    int missed = 0;
                    if (interval > 0) {
                        expiry += interval;
                        long now = System.nanoTime();
                        // Expirations this thread was too late to run are overruns, as hrtimer_forward counts them.
                        while (expiry <= now) {
                            expiry += interval;
                            missed++;
                        }
                        future = executor().schedule(() -> fire(armedGeneration), expiry - now, TimeUnit.NANOSECONDS);
                    } else {
                        expiry = 0;
                        future = null;
                    }
                    if (notify == SIGEV_NONE) return;
                    if (id == ITIMER_REAL_KEY) {
                        process.delivery().post(thread, SigInfo.kernel(signo)); // coalesces like any SIGALRM
                        return;
                    }
                    if (queued != null) {
                        // The instance sent earlier is still pending: the kernel counts, it does not queue.
                        overrunWhileQueued = saturatedAdd(overrunWhileQueued, 1 + missed);
                        return;
                    }
                    SigInfo info = new SigInfo(signo, 0, SigInfo.SI_TIMER, 0, 0, 0, value, id, 0);
                    if (process.delivery().post(thread, info) == 1) {
                        queued = info;
                        overrunWhileQueued = missed;
                        queuedSignals.put(info, this);
                    }
                }
            } finally {
                signalLock.unlock();
            }
        }
    }

    private static int saturatedAdd(int a, int b) {
        long sum = (long) a + b;
        return sum > Integer.MAX_VALUE ? Integer.MAX_VALUE : (int) sum; // DELAYTIMER_MAX
    }

    /**
     * A POSIX timer's signal instance left a pending set (delivered, taken by sigtimedwait, or
     * dropped): returns it with {@code si_overrun} filled in, and makes that count what
     * timer_getoverrun reports. Other SI_TIMER siginfos (sent by rt_sigqueueinfo) come back as they
     * are. Called under the process's signal lock.
     */
    public synchronized SigInfo dequeued(SigInfo info) {
        Timer t = queuedSignals.remove(info);
        if (t == null || t.queued != info) return info;
        t.queued = null;
        t.overrunLast = t.overrunWhileQueued;
        t.overrunWhileQueued = 0;
        return new SigInfo(info.signo(), info.errno(), info.code(), info.pid(), info.uid(), info.addr(),
                info.value(), info.timerId(), t.overrunLast);
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
        long generation = ++t.generation;
        if (delay > 0 && !closed) {
            t.expiry = now + delay;
            t.future = executor().schedule(() -> t.fire(generation), delay, TimeUnit.NANOSECONDS);
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
     * @param clock the clockid (absolute times given to timer_settime are on it)
     * @param value the sigval to send, or null for "the timer id" (timer_create without a sigevent)
     */
    public synchronized int create(int clock, int signo, int notify, Long value, GuestThread thread) {
        if (timers.size() - (timers.containsKey(ITIMER_REAL_KEY) ? 1 : 0) >= MAX_TIMERS)
            throw new ErrnoException(Errno.EAGAIN);
        int id = nextId;
        while (timers.containsKey(id)) id = (id + 1) & Integer.MAX_VALUE;
        nextId = (id + 1) & Integer.MAX_VALUE;
        Timer t = new Timer(id, signo, notify, value == null ? id : value, thread);
        t.clock = clock;
        timers.put(id, t);
        return id;
    }

    /** The clock a POSIX timer was created on (its TIMER_ABSTIME times are on this clock). */
    public synchronized int clock(int id) {
        return timer(id).clock;
    }

    public synchronized long[] settime(int id, long delay, long interval) {
        Timer t = timer(id);
        // Re-arming starts the overrun count afresh (common_timer_set); a pending instance stays.
        t.overrunWhileQueued = 0;
        t.overrunLast = 0;
        return arm(t, delay, interval);
    }

    public synchronized long[] gettime(int id) {
        Timer t = timer(id);
        return new long[]{t.expiry == 0 ? 0 : Math.max(1, t.expiry - System.nanoTime()), t.interval};
    }

    public synchronized int overrun(int id) {
        return timer(id).overrunLast;
    }

    public synchronized void delete(int id) {
        Timer t = timer(id);
        arm(t, 0, 0);
        timers.remove(id);
        // A pending instance stays pending (and is delivered with the overruns counted so far).
    }

    /**
     * execve's part (Linux's exit_itimers at exec): every POSIX timer is deleted, as by
     * timer_delete; ITIMER_REAL and the CPU interval timers stay.
     */
    public synchronized void deletePosixTimers() {
        for (Integer id : java.util.List.copyOf(timers.keySet())) {
            if (id != ITIMER_REAL_KEY) delete(id);
        }
    }

    private Timer timer(int id) {
        Timer t = id < 0 ? null : timers.get(id);
        if (t == null) throw new ErrnoException(Errno.EINVAL);
        return t;
    }

    @Override
    public void close() {
        // Outside this object's lock: the CPU timers take their own lock and then this one's
        // (for the executor), so holding this one here could deadlock.
        cpuTimers.close();
        closeRealAndPosixTimers();
    }

    private synchronized void closeRealAndPosixTimers() {
        closed = true;
        for (Timer t : timers.values()) if (t.future != null) t.future.cancel(false);
        timers.clear();
        if (executor != null) executor.shutdownNow();
    }
}
