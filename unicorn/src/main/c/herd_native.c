/*
 * Exact asynchronous stops for libunicorn 2.0.1.
 *
 * uc_emu_stop() from another thread leaves the engine's PC stale: cpu_tb_exec() skips
 * synchronize_from_tb() whenever stop_request is set, and chained blocks never store the PC, so
 * resuming re-executes already-executed instructions. A stop requested from inside a block hook
 * is exact (the hook runs with the PC synced to the block start, before the block executes).
 *
 * So another thread only raises a flag; this block hook, running on the engine's own thread at
 * the start of every block, turns the flag into a stop. It is native code because a Java upcall
 * on every block costs ~23 ns; this costs a few. uc_emu_stop is passed in rather than linked, so
 * the helper always calls the libunicorn that Herd loaded (HERD_LIBUNICORN may name another).
 */
#include <stdatomic.h>
#include <stdint.h>

struct herd_stop_request {
    atomic_int requested;
    int (*emu_stop)(void *uc);
};

void herd_stop_check(void *uc, uint64_t address, uint32_t size, void *user_data)
{
    (void)address;
    (void)size;
    struct herd_stop_request *request = user_data;
    if (atomic_load_explicit(&request->requested, memory_order_relaxed)
            && atomic_exchange_explicit(&request->requested, 0, memory_order_acquire)) {
        request->emu_stop(uc);
    }
}

/*
 * Interrupting a guest thread blocked in a host syscall: Herd sends this thread one reserved host
 * real-time signal whose handler does nothing and is installed without SA_RESTART, so the blocking
 * call returns EINTR and the thread reaches its safe point. The handler must be native: a Java
 * upcall from a signal handler is not async-signal-safe.
 */
#include <signal.h>
#include <string.h>

static void herd_interrupt_handler(int signo)
{
    (void)signo;
}

/* Returns 0, or -errno. */
int herd_install_interrupt_handler(int signo)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = herd_interrupt_handler;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: the blocked syscall must return EINTR */
    return sigaction(signo, &sa, NULL) == 0 ? 0 : -1;
}
