package dev.herd.runtime.process;

/**
 * The guest's CLOCK_REALTIME as an offset from the host's. It is zero until a privileged guest
 * sets its clock (clock_settime, settimeofday): Herd then moves this run's wall clock, never the
 * host's — as a time namespace would, had Linux one for CLOCK_REALTIME. Reads of the realtime
 * clocks (REALTIME, REALTIME_COARSE, REALTIME_ALARM, TAI; gettimeofday, time) add the offset,
 * and absolute realtime deadlines (futex waits, clock_nanosleep TIMER_ABSTIME) subtract it.
 * Not shifted (docs/SYSCALLS.md): file timestamps, socket timestamps, and absolute realtime
 * deadlines of timerfd and POSIX timers.
 */
public final class GuestClock {
    private static final int CLOCK_REALTIME = 0, CLOCK_REALTIME_COARSE = 5, CLOCK_REALTIME_ALARM = 8, CLOCK_TAI = 11;

    private volatile long realtimeOffsetNanos;

    /** Nanoseconds the guest's wall clock runs ahead of the host's. */
    public long realtimeOffsetNanos() { return realtimeOffsetNanos; }

    public void realtimeOffsetNanos(long nanos) { realtimeOffsetNanos = nanos; }

    /** Whether a clock id reads the wall clock (so the offset applies to it). */
    public static boolean isRealtime(long clock) {
        return clock == CLOCK_REALTIME || clock == CLOCK_REALTIME_COARSE || clock == CLOCK_REALTIME_ALARM
                || clock == CLOCK_TAI;
    }
}
