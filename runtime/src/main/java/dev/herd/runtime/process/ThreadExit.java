package dev.herd.runtime.process;

import dev.herd.futex.GuestFutex;
import dev.herd.host.ErrnoException;
import dev.herd.memory.GuestMemory;
import dev.herd.memory.Prot;
import dev.herd.runtime.syscall.SyscallContext;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;

/**
 * What the kernel does for a thread that ends (mm_release / exit_robust_list): mark the robust
 * futexes it still holds as owner-died and wake a waiter of each, then clear its
 * CLONE_CHILD_CLEARTID word and wake one waiter on it (which is how pthread_join learns of the
 * exit). Faults while doing so are ignored, as Linux ignores them.
 */
final class ThreadExit {
    private ThreadExit() {}

    private static final int FUTEX_WAITERS = 0x80000000, FUTEX_OWNER_DIED = 0x40000000, FUTEX_TID_MASK = 0x3fffffff;
    /** ROBUST_LIST_LIMIT: bounds the walk of a corrupt (or cyclic) list. */
    private static final int ROBUST_LIST_LIMIT = 2048;
    private static final VarHandle INT = ValueLayout.JAVA_INT.varHandle();

    static void release(SyscallContext ctx) {
        GuestMemory m = ctx.memory();
        try {
            releaseRobustList(ctx, m);
        } catch (ErrnoException ignored) {
            // a bad list is the guest's problem; Linux stops walking too
        }
        long clear = ctx.clearChildTid();
        if (clear != 0) {
            try {
                m.writeInt(clear, 0);
                GuestFutex.wake(m, clear, 1);
            } catch (ErrnoException ignored) {
                // unmapped by now: nothing to wake
            }
        }
    }

    private static void releaseRobustList(SyscallContext ctx, GuestMemory m) {
        long head = ctx.robustListHead();
        if (head == 0) return;
        long entry = m.readLong(head);
        long futexOffset = m.readLong(head + 8);
        long pending = m.readLong(head + 16);
        int tid = ctx.tid();
        for (int n = 0; entry != head && n < ROBUST_LIST_LIMIT; n++) {
            long next = m.readLong(entry & ~1L);
            // The entry being locked or unlocked right now is handled last, like the kernel does.
            if (entry != pending) futexDeath(m, (entry & ~1L) + futexOffset, tid, (entry & 1) != 0);
            entry = next;
        }
        if (pending != 0) futexDeath(m, (pending & ~1L) + futexOffset, tid, (pending & 1) != 0);
    }

    /** handle_futex_death: if the dead thread owns the word, mark it owner-died and wake a waiter. */
    private static void futexDeath(GuestMemory m, long uaddr, int tid, boolean pi) {
        if ((uaddr & 3) != 0) return;
        MemorySegment word = m.segment(uaddr, 4, Prot.READ | Prot.WRITE);
        while (true) {
            int value = (int) INT.getVolatile(word, 0L);
            if ((value & FUTEX_TID_MASK) != tid) return;
            int next = (value & FUTEX_WAITERS) | FUTEX_OWNER_DIED;
            if (INT.compareAndSet(word, 0L, value, next)) {
                // PI futexes are woken through the PI chain by whoever retries the lock.
                if (!pi && (value & FUTEX_WAITERS) != 0) GuestFutex.wake(m, uaddr, 1);
                return;
            }
        }
    }
}
