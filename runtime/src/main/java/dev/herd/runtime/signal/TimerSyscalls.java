package dev.herd.runtime.signal;

import dev.herd.host.Errno;
import dev.herd.memory.GuestMemory;
import dev.herd.runtime.syscall.SyscallContext;
import dev.herd.runtime.syscall.SyscallTable;
import dev.herd.signals.Signals;
import dev.herd.threads.GuestThread;

/**
 * alarm, setitimer/getitimer (ITIMER_REAL, ITIMER_VIRTUAL, ITIMER_PROF) and POSIX timers
 * (timer_create, timer_settime, timer_gettime, timer_getoverrun, timer_delete) on
 * {@link ProcessTimers}. CPU-time clocks for timer_create are not offered (EINVAL).
 */
public final class TimerSyscalls {
    private TimerSyscalls() {}

    private static final long NANOS = 1_000_000_000L, MICROS = 1_000L;
    private static final int ITIMER_REAL = 0, ITIMER_VIRTUAL = 1, ITIMER_PROF = 2;
    private static final int CLOCK_REALTIME = 0, CLOCK_MONOTONIC = 1, CLOCK_BOOTTIME = 7, TIMER_ABSTIME = 1;

    public static void register(SyscallTable t) {
        t.define("alarm", "uint", (ctx, seconds, b, c, d, e, f) -> {
            long[] old = ctx.process().timers().setRealTimer((seconds & 0xffffffffL) * NANOS, 0);
            // alarm() rounds the remaining time to the nearest second, never reporting 0 for a live alarm.
            return old[0] == 0 ? 0 : Math.max(1, (old[0] + NANOS / 2) / NANOS);
        });
        t.define("setitimer", "int ptr ptr", TimerSyscalls::setitimer);
        t.define("getitimer", "int ptr", (ctx, whichArg, value, c, d, e, f) -> {
            int which = (int) whichArg;
            if (which != ITIMER_REAL && which != ITIMER_VIRTUAL && which != ITIMER_PROF) return -Errno.EINVAL;
            ProcessTimers timers = ctx.process().timers();
            writeTimeval2(ctx.memory(), value, which == ITIMER_REAL ? timers.getRealTimer() : timers.getCpuTimer((int) which));
            return 0;
        });
        t.define("timer_create", "clockid ptr ptr", TimerSyscalls::timerCreate);
        t.define("timer_settime", "int hex ptr ptr", TimerSyscalls::timerSettime);
        t.define("timer_gettime", "int ptr", (ctx, id, cur, c, d, e, f) -> {
            writeTimespec2(ctx.memory(), cur, ctx.process().timers().gettime((int) id));
            return 0;
        });
        t.define("timer_getoverrun", "int", (ctx, id, b, c, d, e, f) -> ctx.process().timers().overrun((int) id));
        t.define("timer_delete", "int", (ctx, id, b, c, d, e, f) -> {
            ctx.process().timers().delete((int) id);
            return 0;
        });
    }

    private static long setitimer(SyscallContext ctx, long whichArg, long newPtr, long oldPtr, long d, long e, long f) {
        int which = (int) whichArg;
        GuestMemory m = ctx.memory();
        if (newPtr != 0) m.read(newPtr, 32); // Linux copies the new value in first (EFAULT)
        if (which != ITIMER_REAL && which != ITIMER_VIRTUAL && which != ITIMER_PROF) return -Errno.EINVAL;
        long interval = 0, value = 0;
        if (newPtr != 0) {
            long is = m.readLong(newPtr), iu = m.readLong(newPtr + 8), vs = m.readLong(newPtr + 16), vu = m.readLong(newPtr + 24);
            if (is < 0 || iu < 0 || iu >= 1_000_000 || vs < 0 || vu < 0 || vu >= 1_000_000) return -Errno.EINVAL;
            interval = is * NANOS + iu * MICROS;
            value = vs * NANOS + vu * MICROS;
        }
        ProcessTimers timers = ctx.process().timers();
        // A NULL new value disarms (Linux reads it as all zeros since 2.6.x, with a one-time warning).
        long[] old = which == ITIMER_REAL ? timers.setRealTimer(value, interval)
                : timers.setCpuTimer((int) which, value, interval);
        if (oldPtr != 0) writeTimeval2(m, oldPtr, old);
        return 0;
    }

    private static long timerCreate(SyscallContext ctx, long clock, long sevp, long idPtr, long d, long e, long f) {
        if (sevp != 0) ctx.memory().read(sevp, 64); // Linux copies the sigevent in first (EFAULT)
        if (clock != CLOCK_REALTIME && clock != CLOCK_MONOTONIC && clock != CLOCK_BOOTTIME) return -Errno.EINVAL;
        GuestMemory m = ctx.memory();
        int signo = Signals.SIGALRM, notify = ProcessTimers.SIGEV_SIGNAL;
        Long value = null;
        GuestThread thread = null;
        if (sevp != 0) {
            value = m.readLong(sevp);
            signo = m.readInt(sevp + 8);
            notify = m.readInt(sevp + 12);
            int base = notify & ~ProcessTimers.SIGEV_THREAD_ID;
            if (base != ProcessTimers.SIGEV_SIGNAL && base != ProcessTimers.SIGEV_NONE && base != ProcessTimers.SIGEV_THREAD) {
                return -Errno.EINVAL;
            }
            if (notify != ProcessTimers.SIGEV_NONE && !Signals.valid(signo)) return -Errno.EINVAL;
            if ((notify & ProcessTimers.SIGEV_THREAD_ID) != 0) {
                if (notify != ProcessTimers.SIGEV_THREAD_ID) return -Errno.EINVAL;
                thread = ctx.process().threads().byTid(m.readInt(sevp + 16));
                if (thread == null) return -Errno.EINVAL;
            }
        }
        m.hostAddress(idPtr, 4, dev.herd.memory.Prot.WRITE);
        int id = ctx.process().timers().create((int) clock, signo, notify, value, thread);
        m.writeInt(idPtr, id);
        return 0;
    }

    private static long timerSettime(SyscallContext ctx, long id, long flags, long newPtr, long oldPtr, long e, long f) {
        if (newPtr == 0) return -Errno.EINVAL; // Linux refuses a NULL new value before copying
        GuestMemory m = ctx.memory();
        long is = m.readLong(newPtr), ins = m.readLong(newPtr + 8), vs = m.readLong(newPtr + 16), vns = m.readLong(newPtr + 24);
        if (is < 0 || ins < 0 || ins >= NANOS || vs < 0 || vns < 0 || vns >= NANOS) return -Errno.EINVAL;
        long interval = is * NANOS + ins;
        long value = vs * NANOS + vns;
        if ((flags & TIMER_ABSTIME) != 0 && value != 0) {
            // Absolute expiry on the timer's own clock: converted once to a delay (a later step of
            // CLOCK_REALTIME is not followed; documented in ProcessTimers).
            long now = dev.herd.runtime.process.TimeSyscalls.clockNanos(ctx, ctx.process().timers().clock((int) id));
            if (now < 0) return now;
            value = Math.max(1, value - now);
        }
        long[] old = ctx.process().timers().settime((int) id, value, interval);
        if (oldPtr != 0) writeTimespec2(m, oldPtr, old);
        return 0;
    }

    /** struct itimerval {interval, value} from {remaining ns, interval ns}. */
    private static void writeTimeval2(GuestMemory m, long at, long[] remainingAndInterval) {
        m.writeLong(at, remainingAndInterval[1] / NANOS);
        m.writeLong(at + 8, remainingAndInterval[1] % NANOS / MICROS);
        long rem = remainingAndInterval[0];
        long usec = (rem + MICROS - 1) / MICROS; // round up: a live timer never reads as 0
        m.writeLong(at + 16, usec / 1_000_000);
        m.writeLong(at + 24, usec % 1_000_000);
    }

    /** struct itimerspec {interval, value} from {remaining ns, interval ns}. */
    private static void writeTimespec2(GuestMemory m, long at, long[] remainingAndInterval) {
        m.writeLong(at, remainingAndInterval[1] / NANOS);
        m.writeLong(at + 8, remainingAndInterval[1] % NANOS);
        m.writeLong(at + 16, remainingAndInterval[0] / NANOS);
        m.writeLong(at + 24, remainingAndInterval[0] % NANOS);
    }
}
