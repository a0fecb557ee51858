package dev.herd;

import dev.herd.threads.GuestThread;
import dev.herd.unicorn.HookHandle;
import dev.herd.unicorn.Unicorn;

import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The engine hooks of one {@link Herd}, and which of them each engine has. An engine gets the hooks
 * it is missing (and loses removed ones) on its own thread with the engine stopped: when a guest
 * thread starts on it (new or pooled engine) and, for threads already running, at a safe point
 * requested when the set changes. Callbacks check {@link Spec#removed} so a removed hook is inert
 * at once, even on an idle pooled engine that keeps it until its next thread.
 */
final class EngineInstrumentation {
    /** One hook to install on every engine. */
    abstract static class Spec {
        volatile boolean removed;

        abstract HookHandle install(Unicorn engine, EngineState state);

        /**
         * Drops translations made before the hook was added or deleted (hooks are compiled into
         * translated blocks). Default: those of all mapped memory (a block of memory the engine
         * no longer maps is dropped when the address space maps code there again).
         */
        void invalidate(Unicorn engine) { engine.dropTranslations(); }
    }

    /** Largest range invalidated page by page; past it, the mapped regions are. */
    static final long MAX_RANGE_INVALIDATION = 64L << 20;

    /** Drops the translations of [start, end) (of every mapped region for huge ranges). */
    static void invalidateRange(Unicorn engine, long start, long end) {
        if (end - start <= MAX_RANGE_INVALIDATION) engine.removeCache(start, end);
        else engine.dropTranslations();
    }

    /** Per engine: the installed hooks (touched only on the engine's thread) and the current thread. */
    static final class EngineState {
        final Unicorn engine;
        final Map<Spec, HookHandle> installed = new HashMap<>();
        volatile GuestThread owner;

        EngineState(Unicorn engine) { this.engine = engine; }
    }

    private final CopyOnWriteArrayList<Spec> specs = new CopyOnWriteArrayList<>();
    private final ConcurrentHashMap<Unicorn, EngineState> engines = new ConcurrentHashMap<>();
    private volatile HerdRun run;

    boolean isEmpty() { return specs.isEmpty(); }

    void attach(HerdRun run) { this.run = run; }

    void add(Spec spec) {
        specs.add(spec);
        refreshLiveThreads();
    }

    void remove(Spec spec) {
        spec.removed = true;
        if (specs.remove(spec)) refreshLiveThreads();
    }

    private void refreshLiveThreads() {
        HerdRun r = run;
        if (r == null) return;
        for (GuestThread t : r.process().threads().threads()) t.runAtSafePoint(() -> apply(t));
    }

    /** On {@code thread}, engine stopped: install missing hooks, delete removed ones. */
    void apply(GuestThread thread) {
        Unicorn engine = thread.engine();
        if (engine.isClosed()) return;
        EngineState state = engines.get(engine);
        // A new engine has translated nothing yet: hooks need no invalidation there.
        boolean fresh = state == null;
        if (fresh) {
            state = new EngineState(engine);
            engines.put(engine, state);
        }
        state.owner = thread;
        if (specs.isEmpty() && state.installed.isEmpty()) return;
        java.util.List<Spec> changed = new java.util.ArrayList<>();
        for (Iterator<Map.Entry<Spec, HookHandle>> it = state.installed.entrySet().iterator(); it.hasNext(); ) {
            Map.Entry<Spec, HookHandle> e = it.next();
            if (e.getKey().removed) {
                engine.hookDel(e.getValue());
                it.remove();
                changed.add(e.getKey());
            }
        }
        for (Spec s : specs) {
            if (!s.removed && !state.installed.containsKey(s)) {
                state.installed.put(s, s.install(engine, state));
                changed.add(s);
            }
        }
        // Hooks are compiled into translated blocks: drop the blocks translated without them.
        if (!fresh) for (Spec s : changed) s.invalidate(engine);
    }

    /** The guest thread currently running on {@code state}'s engine, for callbacks. */
    static int tid(EngineState state) {
        GuestThread t = state.owner;
        return t == null ? 0 : t.tid();
    }
}
