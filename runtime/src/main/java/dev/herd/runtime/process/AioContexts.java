package dev.herd.runtime.process;

import java.lang.foreign.Arena;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The Linux AIO contexts (io_setup) of one run. Each guest context id is the guest address of a
 * page Herd maps for it (Linux's id is the address of the context's ring), standing for a host
 * AIO context. Requests in flight are keyed by the host address of the iocb copy the host kernel
 * was given, which it hands back as the event's {@code obj}; the copy's memory lives until the
 * event is reaped (or the context is destroyed). Thread-safe.
 */
public final class AioContexts {
    /** One submitted request: the guest's iocb address and the memory of its host copy. */
    public record Request(long guestIocb, Arena memory) {}

    /** One context: guest id (= its page), host id, and its requests in flight. */
    public static final class Context {
        public final long guestId;
        public final long hostId;
        public final Map<Long, Request> inFlight = new ConcurrentHashMap<>();

        Context(long guestId, long hostId) {
            this.guestId = guestId;
            this.hostId = hostId;
        }

        /** Takes the request the host reports as obj out of the table, or null. */
        public Request complete(long hostIocb) {
            Request r = inFlight.remove(hostIocb);
            if (r != null) r.memory().close();
            return r;
        }

        /** The host iocb address of the request submitted from this guest iocb, or 0. */
        public long hostIocbOf(long guestIocb) {
            for (Map.Entry<Long, Request> e : inFlight.entrySet()) {
                if (e.getValue().guestIocb() == guestIocb) return e.getKey();
            }
            return 0;
        }
    }

    private final Map<Long, Context> byGuestId = new ConcurrentHashMap<>();

    public Context add(long guestId, long hostId) {
        Context c = new Context(guestId, hostId);
        byGuestId.put(guestId, c);
        return c;
    }

    public Context get(long guestId) { return byGuestId.get(guestId); }

    /** Whether no context exists. */
    public boolean isEmpty() { return byGuestId.isEmpty(); }

    /** Removes a context; its requests' memory is freed (the host context is destroyed first). */
    public Context remove(long guestId) {
        Context c = byGuestId.remove(guestId);
        if (c != null) {
            for (Request r : c.inFlight.values()) r.memory().close();
            c.inFlight.clear();
        }
        return c;
    }
}
