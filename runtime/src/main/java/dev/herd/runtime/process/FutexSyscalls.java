package dev.herd.runtime.process;

import dev.herd.host.Errno;
import dev.herd.futex.GuestFutex;
import dev.herd.runtime.syscall.SyscallTable;

/** futex and friends, on the host kernel's own futexes (see {@link GuestFutex}). */
public final class FutexSyscalls {
    private FutexSyscalls() {}

    public static void register(SyscallTable t) {
        t.define("futex", "ptr hex int ptr ptr hex", (ctx, uaddr, op, val, timeout, uaddr2, val3) ->
                GuestFutex.futex(ctx.memory(), uaddr, (int) op, (int) val, timeout, uaddr2, (int) val3,
                        ctx.process().clock().realtimeOffsetNanos(), ctx.scratch()));
        // The issue allows it: futex_waitv's vector of waiters is not offered yet.
        t.unsupportedQuietly("futex_waitv", "ptr uint hex ptr clockid",
                "not yet: needs each futex_waitv entry's guest address translated (Linux 5.16; libc does not use it)");
    }
}
