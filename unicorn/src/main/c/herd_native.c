/*
 * Exact asynchronous stops for libunicorn 2.0.1.
 *
 * uc_emu_stop() from another thread leaves the engine's PC stale: 2.0.1 checks the exit request
 * after every guest load and store too, and leaves the block there with the PC of the block's
 * start, so the instructions before (and the access itself) run again after the resume.
 * Herd never calls it from another thread. Another thread raises the engine's flag
 * (struct herd_stop_request) and, where the wrappers below are installed, kicks the engine with
 * cpu_exit(): with the per-access exit checks of its translations replaced by checks that a kick does
 * not trigger (herd_exit_check), the running block chain leaves at the next block start, where the
 * PC is exact, and cpu_exec returns; the
 * wrapper, on the engine's own thread, then turns the flag into uc_emu_stop(). That costs nothing
 * per block. Where the wrappers cannot be installed, herd_stop_check, a block hook, turns the flag
 * into a stop at every block start (exact, measured; it costs ~35% of the run time of branchy code
 * such as perl's regex engine). uc_emu_stop is passed in rather than linked, so the helper always
 * calls the libunicorn that Herd loaded (HERD_LIBUNICORN may name another).
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

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/*
 * Host signals meant for the guest (bin/herd's SIGTERM, SIGINT, another guest process's kill...):
 * the handler writes one struct herd_forwarded_signal to a non-blocking pipe, which a Java thread
 * reads and forwards (one write of 32 bytes, below PIPE_BUF, so records never interleave). Each
 * record carries the CLOCK_MONOTONIC time of its arrival: a warm fork spare keeps only the signals
 * that came after a fork handed it its child, however late its reader gets to them.
 * Native, so that the JVM can run with -Xrs (no shutdown handlers of its own): a signal arriving
 * before Herd installs this one has its default action, as for a program that has not yet set a
 * handler, instead of the JVM's shutdown (which printed "Runtime.exit(143) logging failed" when a
 * child Herd was still booting).
 *
 * Not forwarded, because they are the kernel's answers to this JVM's own work: SIGCHLD with a
 * CLD_* code (a child Herd's exit or stop, which Herd learns from its pidfd) and SIGPIPE or SIGXFSZ
 * that the kernel sent this process for its own write (SI_USER from this very pid; Herd raises the
 * guest's own SIGPIPE from the EPIPE). kill(2) from another process is forwarded in every case.
 *
 * Signals the JVM keeps (the fault signals, its suspend signal, glibc's and the JDK's real-time
 * ones) and Herd's interrupt signal cannot be forwarded by number: another Herd process queues them
 * as the interrupt signal (the carrier, HostSignalCarrier.java) whose si_value holds
 * HERD_CARRIER_TAG in bits 48-63, the number in bits 40-47, bit 39 if it was sigqueue'd (else
 * kill), and that sigqueue's int value in bits 0-31; the interrupt handler below forwards it.
 */
struct herd_forwarded_signal {
    int32_t signo, code, pid, uid;
    int64_t value;
    int64_t monotonic_ns;
};

#define HERD_CARRIER_TAG 0x4844000000000000LL /* "HD" in the top 16 bits */
#define HERD_CARRIER_MASK 0xffff000000000000LL
#define HERD_CARRIER_QUEUED (1LL << 39)

static volatile int herd_forward_fd = -1;

static void herd_forward_record(int signo, const siginfo_t *info, int code, int64_t value)
{
    int fd = herd_forward_fd;
    if (fd < 0) return;
    int saved = errno;
    struct timespec now = {0, 0};
    clock_gettime(CLOCK_MONOTONIC, &now); /* async-signal-safe (POSIX) */
    struct herd_forwarded_signal r = {signo, code, info->si_pid, (int32_t)info->si_uid, value,
                                      (int64_t)now.tv_sec * 1000000000LL + now.tv_nsec};
    if (write(fd, &r, sizeof r) < 0) {
        /* a full pipe: that many signals are pending already */
    }
    errno = saved;
}

/*
 * Interrupting a guest thread blocked in a host syscall: Herd sends this thread one reserved host
 * real-time signal whose handler does nothing and is installed without SA_RESTART, so the blocking
 * call returns EINTR and the thread reaches its safe point. The handler must be native: a Java
 * upcall from a signal handler is not async-signal-safe. The same signal, queued with a carrier
 * tag, brings another Herd process's signal that cannot travel by its own number.
 */
static void herd_interrupt_handler(int signo, siginfo_t *info, void *context)
{
    (void)signo;
    (void)context;
    int64_t value = (int64_t)(intptr_t)info->si_value.sival_ptr;
    if (info->si_code == SI_QUEUE && (value & HERD_CARRIER_MASK) == HERD_CARRIER_TAG) {
        int carried = (int)((value >> 40) & 0xff);
        int queued = (value & HERD_CARRIER_QUEUED) != 0;
        if (carried > 0 && carried < 65)
            herd_forward_record(carried, info, queued ? SI_QUEUE : SI_USER, queued ? (int32_t)value : 0);
    }
}

/* Returns 0, or -errno. */
int herd_install_interrupt_handler(int signo)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = herd_interrupt_handler;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_SIGINFO; /* no SA_RESTART: the blocked syscall must return EINTR */
    return sigaction(signo, &sa, NULL) == 0 ? 0 : -1;
}

static void herd_forward_handler(int signo, siginfo_t *info, void *context)
{
    (void)context;
    if (signo == SIGCHLD && info->si_code > 0) return;
    if ((signo == SIGPIPE || signo == SIGXFSZ) && info->si_code == SI_USER && info->si_pid == getpid()) return;
    herd_forward_record(signo, info, info->si_code, (int64_t)(intptr_t)info->si_value.sival_ptr);
}

/* Forwards signo through pipe fd from now on; returns 0 or -errno. */
long herd_forward_signal(long signo, long fd)
{
    struct sigaction sa;
    herd_forward_fd = (int)fd;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = herd_forward_handler;
    sigfillset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART | SA_SIGINFO;
    return sigaction((int)signo, &sa, NULL) == 0 ? 0 : -errno;
}

/*
 * Per-engine state for the two libunicorn wrappers below, and how a wrapper finds it.
 *
 * Both wrappers replace a function that libunicorn calls through its own PLT (the library is
 * BIND_NOW with full RELRO, so Herd rewrites the GOT slot once per process). A wrapper acts only
 * for an engine that Herd started through herd_emu_start, which sets a thread-local pointer to the
 * engine's struct herd_engine_state for the duration of the run: fills and translations happen
 * only while an engine runs, on the thread that runs it, and a nested run of another engine (a
 * scratch engine inside a hook) saves and restores the pointer. For any other engine (no state
 * on this thread) the wrappers just call the real function. Java writes the struct on the
 * engine's own thread, so the wrappers read it without synchronisation.
 */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <sched.h>
#include <sys/syscall.h>
#include <elf.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#if defined(__x86_64__)
#define HERD_JUMP_SLOT R_X86_64_JUMP_SLOT
#elif defined(__aarch64__)
#define HERD_JUMP_SLOT R_AARCH64_JUMP_SLOT
#else
#error "unsupported host architecture"
#endif

struct herd_engine_state {
    const uint64_t *ranges;   /* fast stores: [start, end) pairs, sorted, disjoint */
    uint32_t count;
    uint32_t stores_disabled; /* non-zero: keep the slow path (a memory-write hook is installed) */
    void *cpu;                /* the engine's CPUState, learned at its first fill (for flushes) */
    void (*flush)(void *cpu); /* tlb_flush_<arch> of that CPUState's target */
    void *uc;                 /* the engine (translator atomics check it against the CPUState) */
    uint32_t parallel;        /* translator atomics wanted */
    uint32_t parallel_misses; /* translations where the layout check failed (ran without the flag) */
    uint32_t exclusive;       /* the engine stopped before an instruction it could not make atomic */
    uint32_t guard_atomics;   /* atomic helpers only write inside `ranges` (herd_atomic_guard) */
    atomic_int *stop_flag;    /* the engine's herd_stop_request.requested (for the exact stop) */
    uint64_t pass_pc;         /* translate the block at this PC once without the flag (Herd could not patch it) */
    uint32_t fills;           /* TLB fills since the last growth flush */
    uint32_t growths;         /* growth flushes so far */
    void *_Atomic kick_cpu;   /* the CPUState cpu_exec last ran (herd_kick's target) */
    uint32_t exact_stops;     /* stops by the cpu_exec wrapper and herd_kick (no block hook) */
    uint32_t stop_owed;       /* the flag was taken: stop at every cpu_exec until uc_emu_start returns */
    uint32_t exec_arch;       /* inside the cpu_exec wrapper: 1 x86_64, 2 aarch64; else 0 */
    uint32_t range_hint;      /* the range herd_fast_writable found last (checked first) */
    uint64_t host_base;       /* non-zero: guest address g of `ranges` is host memory at host_base + g (direct atomics) */
    uint64_t exclusive_addr;  /* the operand of the atomic the guard refused (`exclusive` set by it); else 0 */
};

/*
 * Structure offsets private to the library build (translator atomics, exact stops), pinned to its
 * GNU build id, checked at install: Debian bookworm libunicorn2 2.0.1.post1-1+b1, x86_64 host, read
 * with gdb and from the disassembly of the same source.
 */
static const unsigned char herd_pinned_build_id[20] = {
    0xf4, 0x39, 0xd3, 0xd0, 0x9a, 0x3f, 0xef, 0xbc, 0xc7, 0xd4,
    0x01, 0x4b, 0xd3, 0xf6, 0x7c, 0x12, 0xd5, 0x59, 0x57, 0xe6,
};
enum { HERD_OFF_CPU_UC = 33192, HERD_OFF_UC_INVALID_ERROR = 0x530, HERD_OFF_UC_TCG_CTX = 704, HERD_OFF_TCG_TB_CFLAGS = 100, HERD_OFF_TB_CFLAGS = 24 };

/*
 * Herd's thread-locals use the initial-exec model: the default for a shared object (general
 * dynamic) calls __tls_get_addr on every access, and herd_running is read by every TLB fill and
 * every guest atomic (perf of `atomics add 1`: ~2% in __tls_get_addr and the guard's register
 * saves around it). The few bytes come from glibc's static TLS surplus kept for dlopen'd libraries.
 */
#define HERD_TLS __thread __attribute__((tls_model("initial-exec")))

static HERD_TLS struct herd_engine_state *herd_running;

/* The running load/store helper's access (herd_sync_fault_pc); ra 0: none. */
struct herd_note { uintptr_t ra; uint64_t addr; uint32_t size; };
static HERD_TLS struct herd_note herd_note;

/* uc_emu_start(uc, begin, until, timeout, count) with `s` as the running engine's state. */
int herd_emu_start(struct herd_engine_state *s, int (*emu_start)(void *, uint64_t, uint64_t, uint64_t, size_t),
                   void *uc, uint64_t begin, uint64_t until, uint64_t timeout, size_t count)
{
    struct herd_engine_state *outer = herd_running;
    herd_running = s;
    int r = emu_start(uc, begin, until, timeout, count);
    herd_running = outer;
    if (s != NULL) s->stop_owed = 0;
    return r;
}

/*
 * The exact stop (see the top of this file). resume_all_vcpus_<arch> calls cpu_exec_<arch> through
 * the PLT in a loop that ends only on stop_request, an invalid access or HLT; a PC write from a
 * hook (quit_request) clears stop_request and goes round again, so a taken flag stays owed until
 * uc_emu_start returns. EXCP_ATOMIC (herd_mark_exclusive) also returns from cpu_exec, with the PC
 * restored to the instruction, and stops here instead of retrying the block forever.
 */
#define HERD_EXCP_INTERRUPT 0x10000
typedef int (*herd_cpu_exec_fn)(void *uc, void *cpu);
static herd_cpu_exec_fn herd_real_cpu_exec[2];
static int (*herd_uc_emu_stop)(void *uc);
static void (*herd_cpu_exit)(void *cpu);

static inline int herd_stop_due(struct herd_engine_state *s)
{
    if (s->stop_owed) return 1;
    if (atomic_load_explicit(s->stop_flag, memory_order_relaxed)
            && atomic_exchange_explicit(s->stop_flag, 0, memory_order_acquire)) {
        s->stop_owed = 1;
        return 1;
    }
    return 0;
}

/*
 * The PC after a kick, when the engine has a code hook anywhere. A kick leaves the running chain at
 * the next block start with TB_EXIT_REQUESTED, and cpu_tb_exec then restores the PC from the block
 * (synchronize_from_tb) -- except, in 2.0.1, whenever any code hook exists: it assumes the hook
 * helper stored the PC before every instruction. That holds only inside the hook's range; a
 * chained jump does not store the PC, so an engine with a code hook on one function, kicked at a
 * block start elsewhere, resumed at whatever block it last left through the epilogue and ran code
 * again (ExactStopTest measured lost and repeated increments; a guest with a Java code hook on one
 * function crashed on a repeated push/ret). The translated code is entered through
 * tcg_ctx->code_gen_prologue, read at every entry: for the duration of each cpu_exec of an engine
 * with exact stops, herd_tb_exec stands there and does the restore the library skipped, under the
 * library's own other conditions (no quit_request, no invalid-access error) and only when no stop
 * was requested (a stop from a hook leaves through the check after the hook, with the PC stored).
 * A bracket per cpu_exec on this thread's stack (a hook may run another engine inside) holds the
 * real prologue.
 */
enum { HERD_OFF_TCG_PROLOGUE = 0x90, HERD_OFF_UC_HOOK_CODE_HEAD = 0x328, HERD_OFF_UC_STOP_REQUEST = 0x50d, HERD_OFF_UC_QUIT_REQUEST = 0x50e,
       HERD_OFF_CPU_CC = 0x81b0, HERD_OFF_CC_SYNC_FROM_TB = 0x40, HERD_TB_EXIT_REQUESTED = 3 };
/* uc_err values of invalid accesses, for which the library keeps the PC its fault path set. */
#define HERD_UC_ERR_ACCESS_MASK 0x771c0u

typedef uintptr_t (*herd_prologue_fn)(void *env, void *tb_ptr);
struct herd_tb_bracket {
    struct herd_tb_bracket *outer;
    void **slot;           /* the engine's tcg_ctx->code_gen_prologue */
    herd_prologue_fn real; /* what it held before herd_tb_exec */
    int swapped;           /* this bracket put herd_tb_exec there (an outer one of the same engine may have) */
    const char *uc;
    void *cpu;
    atomic_int *stop_flag;
};
static HERD_TLS struct herd_tb_bracket *herd_tb_brackets;

static uintptr_t herd_tb_exec(void *env, void *tb_ptr)
{
    const struct herd_tb_bracket *b = herd_tb_brackets; /* translated code runs in the innermost cpu_exec */
    /*
     * A kick must not be lost. cpu_exec clears the word the block starts test
     * (icount_decr.u16.high = 0) and then reads exit_request, with a plain store where QEMU has
     * atomic_mb_set: the store may still sit in this CPU's store buffer when cpu_exit on the
     * kicking thread sets exit_request and the word, and then land after them, so the kick is
     * gone and a self-chained loop never reaches a block-start exit (SpinStopTest lost one in
     * ~44,000 round trips). The kicker raised the flag before cpu_exit, so after a full fence
     * behind that store, a raised flag here is either one this kick already reached, or one whose
     * kick may have been lost: kick again, from here. One fence per entry from cpu_exec's loop,
     * not per block (chained blocks and indirect jumps do not come back here).
     */
    atomic_thread_fence(memory_order_seq_cst);
    if (atomic_load_explicit(b->stop_flag, memory_order_relaxed)) herd_cpu_exit(b->cpu);
    uintptr_t ret = b->real(env, tb_ptr);
    if ((ret & 3) == HERD_TB_EXIT_REQUESTED) {
        const char *uc = b->uc;
        uint32_t error = *(const uint32_t *)(uc + HERD_OFF_UC_INVALID_ERROR);
        int access_error = error < 32 && ((HERD_UC_ERR_ACCESS_MASK >> error) & 1);
        if (*(void *const *)(uc + HERD_OFF_UC_HOOK_CODE_HEAD) != NULL && !uc[HERD_OFF_UC_STOP_REQUEST]
                && !uc[HERD_OFF_UC_QUIT_REQUEST] && !access_error) {
            const char *cc = *(const char *const *)((const char *)b->cpu + HERD_OFF_CPU_CC);
            void (*sync)(const void *cpu, void *tb) = *(void (*const *)(const void *, void *))(cc + HERD_OFF_CC_SYNC_FROM_TB);
            if (sync != NULL) sync(b->cpu, (void *)(ret & ~(uintptr_t)3));
        }
    }
    return ret;
}

static void herd_tb_bracket_enter(struct herd_tb_bracket *b, void *uc, void *cpu, atomic_int *stop_flag)
{
    char *tcg = *(char **)((char *)uc + HERD_OFF_UC_TCG_CTX);
    b->outer = herd_tb_brackets;
    b->slot = (void **)(tcg + HERD_OFF_TCG_PROLOGUE);
    b->uc = uc;
    b->cpu = cpu;
    b->stop_flag = stop_flag;
    b->swapped = *b->slot != (void *)herd_tb_exec;
    if (b->swapped) {
        b->real = (herd_prologue_fn)*b->slot;
        *b->slot = (void *)herd_tb_exec;
    } else { /* the same engine run again from inside one of its own hooks */
        const struct herd_tb_bracket *o = b->outer;
        while (o->slot != b->slot) o = o->outer;
        b->real = o->real;
    }
    herd_tb_brackets = b;
}

static void herd_tb_bracket_leave(struct herd_tb_bracket *b)
{
    herd_tb_brackets = b->outer;
    if (b->swapped) *b->slot = (void *)b->real;
}

static inline int herd_cpu_exec(int t, void *uc, void *cpu)
{
    struct herd_engine_state *s = herd_running;
    if (s == NULL || !s->exact_stops || s->stop_flag == NULL) return herd_real_cpu_exec[t](uc, cpu);
    atomic_store_explicit(&s->kick_cpu, cpu, memory_order_release);
    if (herd_stop_due(s)) { /* raised before this run began: do not start it */
        herd_uc_emu_stop(uc);
        return HERD_EXCP_INTERRUPT;
    }
    uint32_t outer = s->exec_arch;
    s->exec_arch = (uint32_t)t + 1;
    herd_note.ra = 0; /* one a helper left by cpu_loop_exit does not belong to this run */
    struct herd_tb_bracket b;
    herd_tb_bracket_enter(&b, uc, cpu, s->stop_flag);
    int r = herd_real_cpu_exec[t](uc, cpu);
    herd_tb_bracket_leave(&b);
    s->exec_arch = outer;
    if (herd_stop_due(s)) herd_uc_emu_stop(uc);
    return r;
}

static int herd_cpu_exec_x86_64(void *uc, void *cpu) { return herd_cpu_exec(0, uc, cpu); }
static int herd_cpu_exec_aarch64(void *uc, void *cpu) { return herd_cpu_exec(1, uc, cpu); }

/*
 * 2.0.1 also checks the exit request after every guest load and store (check_exit_request_<arch>,
 * called through the PLT by tcg_gen_qemu_ld/st_*), and leaves the block there with the PC set to the
 * block's start: after a kick the instructions before the access, and the access itself, run again
 * (the stale PC: ExactStopTest measured about one extra increment per stop). For an engine with
 * exact stops by kick the wrapper emits no check for those callers (it wraps them too, to know; the
 * check is their tail call), so a kick takes effect only at block starts, where the PC is exact; it
 * also saves a load and a branch (and TCG's spill of every cached guest register at a branch) per
 * memory access. The one other caller, the check after a code hook, gets a check of its own (below).
 * What the per-access check is for besides kicks: an invalid load leaves the block by itself
 * (cpu_loop_exit in load_helper), but an invalid store only skips the store and calls cpu_exit, and
 * relies on the check to leave before the rest of the instruction runs. herd_cpu_exit_wrapper makes
 * it leave at once, as the load does. And a stop or PC write from a memory hook (a Java API user's)
 * is taken at the next block start instead of after the access.
 */
typedef void (*herd_exit_check_fn)(void *tcg_ctx);
static herd_exit_check_fn herd_real_exit_check[2];

/* tcg_gen_qemu_{ld,st}_{i32,i64}_<arch> (all called through the PLT), wrapped to mark their calls. */
typedef void (*herd_ldst_fn)(void *tcg_ctx, intptr_t val, intptr_t addr, uintptr_t idx, int memop);
static herd_ldst_fn herd_real_ldst[2][4];
static HERD_TLS int herd_in_ldst;

/*
 * The check after a code hook, for an engine with exact stops: it is there so that a stop or a PC
 * write from the hook (both uc_emu_stop: uc->stop_request) takes effect before the instruction
 * runs; but it reads the word a kick sets, and a kick taken there would run the hook of the
 * instruction again after the resume. So it is emitted as a test of stop_request alone: one byte
 * load from the engine's uc_struct and a branch to the block's exit (gen_tb_start's label). The
 * generator functions and offsets are those check_exit_request_<arch> of the pinned build uses.
 */
enum { HERD_OFF_TCG_EXITREQ_LABEL = 0x100, HERD_OFF_UC_NO_EXIT_REQUEST = 0x78a };
static const size_t herd_off_tcg_uc[2] = { 0x9970, 0xa970 };
enum { HERD_TCG_TYPE_I32 = 0, HERD_OP_LD8U_I32 = 9, HERD_COND_NE = 9 };

struct herd_tcg_gen {
    intptr_t (*const_i64)(void *ctx, int64_t value);                  /* returns a TCGv (offset from ctx) */
    void *(*temp_new)(void *ctx, int type, int local);                /* returns a TCGTemp * */
    void (*temp_free)(void *ctx, void *temp);
    void (*op3)(void *ctx, int opc, uintptr_t a1, uintptr_t a2, uintptr_t a3);
    void (*brcondi_i32)(void *ctx, int cond, intptr_t arg, int32_t value, void *label);
};
static struct herd_tcg_gen herd_tcg[2];

static void herd_emit_stop_check(int t, char *ctx, const char *uc)
{
    const struct herd_tcg_gen *g = &herd_tcg[t];
    intptr_t base = g->const_i64(ctx, (int64_t)(uintptr_t)(uc + HERD_OFF_UC_STOP_REQUEST));
    char *value = g->temp_new(ctx, HERD_TCG_TYPE_I32, 0);
    g->op3(ctx, HERD_OP_LD8U_I32, (uintptr_t)value, (uintptr_t)(ctx + base), 0);
    g->brcondi_i32(ctx, HERD_COND_NE, (intptr_t)(value - ctx), 0, *(void **)(ctx + HERD_OFF_TCG_EXITREQ_LABEL));
    g->temp_free(ctx, value);
    g->temp_free(ctx, ctx + base);
}

static inline void herd_exit_check(int t, void *tcg_ctx)
{
    struct herd_engine_state *s = herd_running;
    char *ctx = tcg_ctx;
    const char *uc = *(char *const *)(ctx + herd_off_tcg_uc[t]);
    if (s == NULL || !s->exact_stops || uc != s->uc) {
        herd_real_exit_check[t](tcg_ctx);
    } else if (!herd_in_ldst && !uc[HERD_OFF_UC_NO_EXIT_REQUEST]) { /* as the real one: ARM IT blocks */
        herd_emit_stop_check(t, ctx, uc);
    }
}

static void herd_exit_check_x86_64(void *tcg_ctx) { herd_exit_check(0, tcg_ctx); }
static void herd_exit_check_aarch64(void *tcg_ctx) { herd_exit_check(1, tcg_ctx); }

#define HERD_LDST(T, I, NAME)                                                                        \
    static void NAME(void *tcg_ctx, intptr_t val, intptr_t addr, uintptr_t idx, int memop)          \
    {                                                                                                \
        herd_in_ldst++;                                                                              \
        herd_real_ldst[T][I](tcg_ctx, val, addr, idx, memop);                                        \
        herd_in_ldst--;                                                                              \
    }
HERD_LDST(0, 0, herd_ld_i32_x86_64)
HERD_LDST(0, 1, herd_ld_i64_x86_64)
HERD_LDST(0, 2, herd_st_i32_x86_64)
HERD_LDST(0, 3, herd_st_i64_x86_64)
HERD_LDST(1, 0, herd_ld_i32_aarch64)
HERD_LDST(1, 1, herd_ld_i64_aarch64)
HERD_LDST(1, 2, herd_st_i32_aarch64)
HERD_LDST(1, 3, herd_st_i64_aarch64)
static const herd_ldst_fn herd_ldst_wrappers[2][4] = {
    { herd_ld_i32_x86_64, herd_ld_i64_x86_64, herd_st_i32_x86_64, herd_st_i64_x86_64 },
    { herd_ld_i32_aarch64, herd_ld_i64_aarch64, herd_st_i32_aarch64, herd_st_i64_aarch64 },
};

/*
 * cpu_exit, as libunicorn calls it (through the PLT): after an invalid store of an engine with exact
 * stops, leave the block at once (cpu_loop_exit_<arch>, as load_helper does after an invalid load;
 * the translator synced the PC to the instruction before the access, and TCG synced the guest
 * registers, as for any access that may fault). Only on the engine's own thread, inside its
 * cpu_exec and with uc->invalid_error set, which is only so after every hook of the access returned
 * (a longjmp must never cross a Java upcall).
 */
static void (*herd_cpu_loop_exit[2])(void *cpu);

static void herd_cpu_exit_wrapper(void *cpu)
{
    herd_cpu_exit(cpu);
    struct herd_engine_state *s = herd_running;
    if (s == NULL || !s->exact_stops || s->exec_arch == 0 || s->uc == NULL) return;
    if (*(void *const *)((const char *)cpu + HERD_OFF_CPU_UC) != s->uc) return;
    if (*(const int *)((const char *)s->uc + HERD_OFF_UC_INVALID_ERROR) == 0) return;
    herd_cpu_loop_exit[s->exec_arch - 1](cpu);
}

/*
 * From any thread, after raising the engine's flag: makes the running block chain leave at its next
 * block start (cpu_exit: exit_request and the icount word every block checks; the same call
 * uc_emu_stop makes, without its stop_request). Harmless when the engine is not running: its next
 * run leaves its first block once and goes on. The caller guarantees the engine is not closed.
 */
void herd_kick(struct herd_engine_state *s)
{
    void *cpu = atomic_load_explicit(&s->kick_cpu, memory_order_acquire);
    if (cpu != NULL && herd_cpu_exit != NULL) herd_cpu_exit(cpu);
}

/*
 * The store fast path (DESIGN fact 11).
 *
 * libunicorn 2.0.1 marks every writable TLB entry TLB_NOTDIRTY (cpu_physical_memory_is_clean() is
 * a constant true there), so every guest store takes notdirty_write(), which allocates and frees a
 * page collection per store: ~300 ns instead of a few. The wrapper around the TLB fill
 * (tlb_set_page_with_attrs_<arch>) calls the real fill and then clears the flag with the library's
 * own tlb_set_dirty_<arch> — only for pages the running engine may write and cannot execute:
 *  - Unicorn checks region permissions in the slow path (a read-only region measured to refuse
 *    stores even with the flag cleared, but the host page behind it is read-only, so Herd does
 *    not rely on that);
 *  - executable pages keep the slow path, which is what notices self-modifying code;
 *  - the fill's prot argument cannot decide it: x86 runs without paging, every page arrives RWX.
 * The ranges come from the engine's own memory view (Java). Reductions need no extra work:
 * uc_mem_protect and uc_mem_unmap flush the engine's TLB (measured), and Herd lowers host
 * protection only after every engine synced its view. herd_engine_flush_tlb exists for changes
 * Unicorn does not see (a memory-write hook added, ranges dropped without a region change).
 */
typedef void (*herd_fill_fn)(void *cpu, uint64_t vaddr, uint64_t paddr, uint32_t attrs, int prot,
                             int mmu_idx, uint64_t size);
typedef void (*herd_dirty_fn)(void *cpu, uint64_t vaddr);
typedef void (*herd_flush_fn)(void *cpu);

struct herd_fill_target {
    herd_fill_fn real_fill;
    herd_dirty_fn set_dirty;
    herd_flush_fn flush;
};

static struct herd_fill_target herd_fill_targets[2];

/*
 * Whether [start, end) lies in one of the engine's fast-store ranges. The range found last is tried
 * first: a guest's atomics mostly hit the same few words (a lock, a counter), and each atomic helper
 * asks (herd_atomic_guard), so the binary search was on every guest atomic.
 */
static inline __attribute__((always_inline)) int herd_in_range_hint(const struct herd_engine_state *s, uint64_t start, uint64_t end)
{
    uint32_t h = s->range_hint;
    return h < s->count && s->ranges[2 * h] <= start && end <= s->ranges[2 * h + 1];
}

__attribute__((noinline)) static int herd_fast_writable_search(struct herd_engine_state *s, uint64_t start, uint64_t end)
{
    uint32_t lo = 0, hi = s->count;
    while (lo < hi) { /* first range whose end is above start */
        uint32_t mid = lo + (hi - lo) / 2;
        if (s->ranges[2 * mid + 1] > start) hi = mid; else lo = mid + 1;
    }
    if (lo < s->count && s->ranges[2 * lo] <= start && end <= s->ranges[2 * lo + 1]) {
        s->range_hint = lo;
        return 1;
    }
    return 0;
}

static inline int herd_fast_writable(struct herd_engine_state *s, uint64_t start, uint64_t end)
{
    return herd_in_range_hint(s, start, end) || herd_fast_writable_search(s, start, end);
}

static inline void herd_after_fill(struct herd_fill_target *t, void *cpu, uint64_t vaddr, uint64_t size)
{
    struct herd_engine_state *s = herd_running;
    if (s == NULL) return;
    s->cpu = cpu;
    s->flush = t->flush;
    if (s->stores_disabled || size == 0 || (size & (size - 1)) != 0) return;
    uint64_t page = vaddr & ~(size - 1);
    if (page + size > page && herd_fast_writable(s, page, page + size)) t->set_dirty(cpu, page);
}

/*
 * TLB growth. 2.0.1 keeps QEMU's dynamic TLB sizing: a flush doubles a TLB that was more than 70%
 * full (from 256 entries). But nothing flushes an engine's TLB while a program runs, so it stays at
 * 256 entries, and a program that cycles through more pages refills an entry on nearly every page
 * change (~300 ns each; a sieve over 20 MB made 1.9 million fills). So the fill wrapper flushes the
 * TLB itself after a budget of fills, before the fill (every caller looks its entry up again after
 * tlb_fill, which may resize the table). The budget doubles with each such flush, so the refills a
 * flush causes stay a small part of the fills that led to it, and after HERD_TLB_GROWTHS flushes the
 * engine is left alone (a table of at most 256 << HERD_TLB_GROWTHS entries, 32 bytes each, plus QEMU's
 * own resizing at flushes Unicorn makes).
 */
#define HERD_TLB_FILL_BUDGET 4096u
#define HERD_TLB_GROWTHS 8u

static inline void herd_before_fill(struct herd_fill_target *t, void *cpu)
{
    struct herd_engine_state *s = herd_running;
    if (s == NULL || s->growths >= HERD_TLB_GROWTHS) return;
    if (++s->fills >= HERD_TLB_FILL_BUDGET << s->growths) {
        s->fills = 0;
        s->growths++;
        t->flush(cpu);
    }
}

static void herd_fill_x86_64(void *cpu, uint64_t vaddr, uint64_t paddr, uint32_t attrs, int prot,
                             int mmu_idx, uint64_t size)
{
    herd_before_fill(&herd_fill_targets[0], cpu);
    herd_fill_targets[0].real_fill(cpu, vaddr, paddr, attrs, prot, mmu_idx, size);
    herd_after_fill(&herd_fill_targets[0], cpu, vaddr, size);
}

static void herd_fill_aarch64(void *cpu, uint64_t vaddr, uint64_t paddr, uint32_t attrs, int prot,
                              int mmu_idx, uint64_t size)
{
    herd_before_fill(&herd_fill_targets[1], cpu);
    herd_fill_targets[1].real_fill(cpu, vaddr, paddr, attrs, prot, mmu_idx, size);
    herd_after_fill(&herd_fill_targets[1], cpu, vaddr, size);
}

/* Drops every TLB entry of the engine (so the next fills decide again). On the engine's thread, stopped or in a hook. */
void herd_engine_flush_tlb(struct herd_engine_state *s)
{
    if (s->cpu != NULL && s->flush != NULL) s->flush(s->cpu);
}

/*
 * Translator atomics (DESIGN fact 13).
 *
 * 2.0.1's translator emits host atomics for lock-prefixed instructions, xchg, cmpxchg8b/16b, LSE
 * and exclusive pairs, and barriers for mfence/dmb, only when tcg_ctx->tb_cflags has CF_PARALLEL;
 * Unicorn never sets it, so guest atomics are torn across engines. The wrapper around
 * gen_intermediate_code_<arch> sets the flag for the duration of one translation and restores it
 * (the TB's own cflags, used for lookup, stay as they are). The structure offsets are private to
 * the library build, so they are pinned to its GNU build id (checked at install) and checked again
 * at every translation: CPUState.uc must be the running engine, and tcg_ctx->tb_cflags must equal
 * the TB's cflags (as it does on entry for every translation measured). A failed check translates
 * without the flag and counts a miss; Herd's atomic self-test then decides.
 */
#define HERD_CF_PARALLEL 0x00080000u

typedef void (*herd_gen_fn)(void *cpu, void *tb, int max_insns);
static herd_gen_fn herd_real_gen[2];

static inline void herd_translate(int t, void *cpu, void *tb, int max_insns)
{
    struct herd_engine_state *s = herd_running;
    if (s != NULL && s->parallel && s->pass_pc != 0 && *(const uint64_t *)tb == s->pass_pc) {
        s->pass_pc = 0; /* TB.pc is the first field */
    } else if (s != NULL && s->parallel && s->uc != NULL
            && *(void *const *)((const char *)cpu + HERD_OFF_CPU_UC) == s->uc) {
        char *tcg = *(char *const *)((const char *)s->uc + HERD_OFF_UC_TCG_CTX);
        uint32_t *flags = tcg == NULL ? NULL : (uint32_t *)(tcg + HERD_OFF_TCG_TB_CFLAGS);
        uint32_t *tb_flags = (uint32_t *)((char *)tb + HERD_OFF_TB_CFLAGS);
        if (flags != NULL && *flags == *tb_flags) {
            /*
             * The generic atomic ops read tcg_ctx->tb_cflags; a few translator decisions read the
             * TB's own cflags instead (aarch64: LDXP/STXP and CASP pairs, YIELD/WFE; x86: lock
             * cmpxchg8b/16b), and without the flag there they emit plain load-compare-store
             * sequences (the aarch64 atomics guest lost pair updates). Both carry it during the
             * translation; the TB's is restored before tb_gen_code hashes and links the block, so
             * lookups still match curr_cflags().
             */
            uint32_t saved = *flags, saved_tb = *tb_flags;
            *flags = saved | HERD_CF_PARALLEL;
            *tb_flags = saved_tb | HERD_CF_PARALLEL;
            herd_real_gen[t](cpu, tb, max_insns);
            *tb_flags = saved_tb;
            *flags = saved;
            return;
        }
        s->parallel_misses++;
    }
    herd_real_gen[t](cpu, tb, max_insns);
}

/*
 * Chained block ends (x86_64). 2.0.1's x86 translator ends a block that reached its instruction
 * limit (512, DISAS_TOO_MANY: long straight-line code such as unrolled hash rounds), and every
 * instruction that may change the translation state (syscall, popf, segment loads, ...), with
 * gen_eob: exit_tb(NULL, 0), a return to cpu_exec's loop, which then looks the next block up by the
 * current state. Measured on sha256sum of 20 MB: 1.88 million such returns, six per 64-byte block.
 * QEMU linux-user has no interrupts to take between two blocks, and neither has a Herd engine: a stop
 * or a kick is seen at the next block's start (the icount word, Herd's stop check), which every
 * translated block tests. So during a Herd engine's translation that exit becomes
 * lookup_and_goto_ptr, the same lookup by the current state (pc, cs_base, flags) done by the helper
 * the block calls, without leaving the translated code; a miss still returns to cpu_exec, which
 * translates.
 */
typedef void (*herd_exit_tb_fn)(void *tcg_ctx, void *tb, unsigned idx);
static herd_exit_tb_fn herd_real_exit_tb_x86_64;
static void (*herd_goto_ptr_x86_64)(void *tcg_ctx);
static HERD_TLS int herd_chaining_translation;

static void herd_exit_tb_x86_64(void *tcg_ctx, void *tb, unsigned idx)
{
    if (tb == NULL && idx == 0 && herd_chaining_translation) herd_goto_ptr_x86_64(tcg_ctx);
    else herd_real_exit_tb_x86_64(tcg_ctx, tb, idx);
}

static void herd_gen_x86_64(void *cpu, void *tb, int max_insns)
{
    struct herd_engine_state *s = herd_running;
    int chain = s != NULL && s->uc != NULL && herd_goto_ptr_x86_64 != NULL
            && *(void *const *)((const char *)cpu + HERD_OFF_CPU_UC) == s->uc;
    herd_chaining_translation = chain;
    herd_translate(0, cpu, tb, max_insns);
    herd_chaining_translation = 0;
}
static void herd_gen_aarch64(void *cpu, void *tb, int max_insns) { herd_translate(1, cpu, tb, max_insns); }

/*
 * An instruction that has no host atomic form in translated code (a misaligned operand, ...) makes
 * the parallel block call cpu_loop_exit_atomic(), which QEMU answers with cpu_exec_step_atomic():
 * the instruction alone, with the other vCPUs stopped. 2.0.1 has no such step: its loop just runs
 * the block again, forever (measured: a misaligned lock add took ~0.1 s per execution, spinning in
 * cpu_exec). So the wrapper marks the engine and raises its exact-stop flag; the state restore in
 * the real function puts the PC on the instruction, and the exact stop (the cpu_exec wrapper, or
 * the block hook at the next block start) stops the engine before it runs. Herd then patches the
 * instruction to its trap (a host atomic in the handler) and drops the block.
 */
typedef void (*herd_exit_atomic_fn)(void *cpu, uintptr_t retaddr);
static herd_exit_atomic_fn herd_real_exit_atomic[2];

static inline void herd_mark_exclusive(uint64_t operand)
{
    struct herd_engine_state *s = herd_running;
    if (s != NULL && s->parallel && s->stop_flag != NULL) {
        s->exclusive = 1;
        s->exclusive_addr = operand;
        atomic_store_explicit(s->stop_flag, 1, memory_order_release);
    }
}

static void herd_exit_atomic_x86_64(void *cpu, uintptr_t retaddr)
{
    herd_mark_exclusive(0);
    herd_real_exit_atomic[0](cpu, retaddr);
}

static void herd_exit_atomic_aarch64(void *cpu, uintptr_t retaddr)
{
    herd_mark_exclusive(0);
    herd_real_exit_atomic[1](cpu, retaddr);
}

/* ---------------------------------------------------------------- installing the wrappers */

struct herd_module {
    uintptr_t inside;          /* an address inside the wanted module */
    const char *name;          /* its path, as the dynamic loader has it */
    uintptr_t base;
    const ElfW(Dyn) *dynamic;
    const ElfW(Phdr) *phdr;
    int phnum;
};

static int herd_find_module(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    struct herd_module *m = data;
    int contains = 0;
    const ElfW(Dyn) *dynamic = NULL;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *p = &info->dlpi_phdr[i];
        uintptr_t start = info->dlpi_addr + p->p_vaddr;
        if (p->p_type == PT_LOAD && m->inside >= start && m->inside < start + p->p_memsz) contains = 1;
        if (p->p_type == PT_DYNAMIC) dynamic = (const ElfW(Dyn) *)start;
    }
    if (!contains) return 0;
    m->base = info->dlpi_addr;
    m->name = info->dlpi_name;
    m->dynamic = dynamic;
    m->phdr = info->dlpi_phdr;
    m->phnum = info->dlpi_phnum;
    return 1;
}

/* A dynamic-section address: glibc relocates most of them in place, but not on every target. */
static uintptr_t herd_dyn_ptr(uintptr_t base, uintptr_t p) { return p < base ? p + base : p; }

/* The GOT slot of `name`'s JUMP_SLOT relocation in module m, or NULL. */
static void **herd_plt_slot(const struct herd_module *m, const char *name)
{
    const ElfW(Rela) *jmprel = NULL;
    size_t relsz = 0;
    const ElfW(Sym) *symtab = NULL;
    const char *strtab = NULL;
    for (const ElfW(Dyn) *d = m->dynamic; d->d_tag != DT_NULL; d++) {
        if (d->d_tag == DT_JMPREL) jmprel = (const void *)herd_dyn_ptr(m->base, d->d_un.d_ptr);
        else if (d->d_tag == DT_PLTRELSZ) relsz = d->d_un.d_val;
        else if (d->d_tag == DT_SYMTAB) symtab = (const void *)herd_dyn_ptr(m->base, d->d_un.d_ptr);
        else if (d->d_tag == DT_STRTAB) strtab = (const void *)herd_dyn_ptr(m->base, d->d_un.d_ptr);
    }
    if (jmprel == NULL || symtab == NULL || strtab == NULL) return NULL;
    for (size_t i = 0; i < relsz / sizeof *jmprel; i++) {
        const ElfW(Rela) *r = &jmprel[i];
        if (ELF64_R_TYPE(r->r_info) != HERD_JUMP_SLOT) continue;
        if (strcmp(strtab + symtab[ELF64_R_SYM(r->r_info)].st_name, name) == 0) return (void **)(m->base + r->r_offset);
    }
    return NULL;
}

/* The module's RELRO pages while herd_wrappers_install has them writable (one mprotect each way
 * for the ~1,000 slots it rewrites, instead of two per slot: ~20 ms in a JVM, measured). */
static uintptr_t herd_relro_open_lo, herd_relro_open_hi;

/* Stores `value` in a RELRO slot (read-only after relocation): opens its page for the one store. */
static int herd_write_slot(void **slot, void *value)
{
    if ((uintptr_t)slot >= herd_relro_open_lo && (uintptr_t)slot + sizeof *slot <= herd_relro_open_hi) {
        __atomic_store_n(slot, value, __ATOMIC_RELEASE);
        return 1;
    }
    long pagesize = sysconf(_SC_PAGESIZE);
    uintptr_t page = (uintptr_t)slot & ~(uintptr_t)(pagesize - 1);
    if (mprotect((void *)page, (size_t)pagesize, PROT_READ | PROT_WRITE) != 0) return 0;
    __atomic_store_n(slot, value, __ATOMIC_RELEASE);
    mprotect((void *)page, (size_t)pagesize, PROT_READ);
    return 1;
}

/*
 * Points the slot at `wrapper`, after saving the function it pointed at in *real (so a concurrent
 * call through the slot never finds *real unset). Returns 1 when the wrapper is installed.
 */
static int herd_redirect(void **slot, void *wrapper, void **real)
{
    void *current = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
    if (current == wrapper) return *real != NULL; /* installed before: idempotent */
    __atomic_store_n(real, current, __ATOMIC_RELEASE);
    return herd_write_slot(slot, wrapper);
}

static int herd_build_id_matches(const struct herd_module *m)
{
    for (int i = 0; i < m->phnum; i++) {
        const ElfW(Phdr) *p = &m->phdr[i];
        if (p->p_type != PT_NOTE) continue;
        const unsigned char *at = (const unsigned char *)(m->base + p->p_vaddr), *end = at + p->p_memsz;
        while (at + sizeof(ElfW(Nhdr)) <= end) {
            const ElfW(Nhdr) *n = (const ElfW(Nhdr) *)at;
            const unsigned char *desc = at + sizeof *n + ((n->n_namesz + 3) & ~3u);
            if (n->n_type == NT_GNU_BUILD_ID && n->n_descsz == sizeof herd_pinned_build_id && desc + n->n_descsz <= end)
                return memcmp(desc, herd_pinned_build_id, sizeof herd_pinned_build_id) == 0;
            at = desc + ((n->n_descsz + 3) & ~3u);
        }
    }
    return 0;
}

/*
 * 2.0.1's atomic helpers (helper_atomic_*, called by parallel blocks) reach guest memory through
 * atomic_mmu_lookup, which skips Unicorn's page-permission check: a locked read-modify-write on a
 * read-only guest page wrote the host page, which Herd keeps read-only, and the JVM died of
 * SIGSEGV (ELF fuzz seed 1 case 3763; guest ro_atomic). So every helper first asks whether the
 * access lies in the running engine's writable, non-executable ranges (the store fast path's, kept
 * by Herd from its own mapping state); if not (read-only, unmapped, executable, or ranges not
 * published yet), the engine leaves through cpu_loop_exit_atomic like an instruction without a
 * host atomic form, and Herd performs the instruction itself (its site trap checks the protection
 * and raises the exact SIGSEGV). The size is the operand's, from the helper's name.
 */
__attribute__((noinline)) static void herd_atomic_guard_slow(struct herd_engine_state *s, int t, uint64_t addr,
                                                              uint64_t size, uintptr_t ra)
{
    if (!s->parallel || !s->guard_atomics || herd_real_exit_atomic[t] == NULL || s->cpu == NULL) return;
    if (addr + size > addr && herd_fast_writable_search(s, addr, addr + size)) return;
    herd_mark_exclusive(addr); /* Herd may only have to map its region in this engine (lazy data regions) */
    herd_real_exit_atomic[t](s->cpu, ra); /* does not return */
}

/* Inlined into every wrapper: the word's range is nearly always the one found last. */
static inline __attribute__((always_inline)) void herd_atomic_guard(int t, uint64_t addr, uint64_t size, uintptr_t ra)
{
    struct herd_engine_state *s = herd_running;
    if (s == NULL || (addr + size > addr && herd_in_range_hint(s, addr, addr + size))) return;
    herd_atomic_guard_slow(s, t, addr, size, ra);
}

/*
 * Direct atomics. With the guard's answer in hand (the access lies in the engine's writable,
 * non-executable ranges, which Herd maps at host_base + guest address), a little-endian helper
 * need not go through libunicorn at all: the wrapper performs the operation on the host memory
 * itself, as QEMU linux-user does after its g2h(). That skips atomic_mmu_lookup's TLB walk and
 * the call into the library (`atomics add 1`: ~10 → ~6 ns per op). Misaligned accesses (the
 * library leaves through cpu_loop_exit_atomic for them), big-endian helpers and engines with a
 * memory-write hook (stores_disabled) take the library's helper as before. The operations are
 * QEMU's: fetch_op returns the old value, op_fetch the new one, min/max are compare-and-swap
 * loops that always store, cmpxchg returns the value found; results are zero-extended.
 */
enum {
    HERD_OP_FETCH_ADD, HERD_OP_FETCH_AND, HERD_OP_FETCH_OR, HERD_OP_FETCH_XOR, HERD_OP_FETCH_SMIN, HERD_OP_FETCH_SMAX,
    HERD_OP_FETCH_UMIN, HERD_OP_FETCH_UMAX, HERD_OP_ADD_FETCH, HERD_OP_AND_FETCH, HERD_OP_OR_FETCH, HERD_OP_XOR_FETCH,
    HERD_OP_SMIN_FETCH, HERD_OP_SMAX_FETCH, HERD_OP_UMIN_FETCH, HERD_OP_UMAX_FETCH, HERD_OP_CMPXCHG, HERD_OP_COUNT
};

/* The host address for a direct atomic of `size` bytes at guest `addr`, or NULL (take the library's helper). */
static inline __attribute__((always_inline)) void *herd_direct_atomic_addr(struct herd_engine_state *s, uint64_t addr, unsigned size)
{
    if (s == NULL || s->host_base == 0 || s->stores_disabled || (addr & (size - 1)) != 0) return NULL;
    if (!herd_in_range_hint(s, addr, addr + size)) return NULL; /* the guard's slow path decides */
    return (void *)(uintptr_t)(s->host_base + addr);
}

#define HERD_MINMAX(T, CMP_T, PICK_NEW, RET_NEW)                                                 \
    do {                                                                                         \
        T old_ = __atomic_load_n((T *)h, __ATOMIC_RELAXED), v_ = (T)a, new_;                     \
        do {                                                                                     \
            new_ = ((CMP_T)v_ PICK_NEW (CMP_T)old_) ? v_ : old_;                                 \
        } while (!__atomic_compare_exchange_n((T *)h, &old_, new_, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)); \
        return RET_NEW ? new_ : old_;                                                            \
    } while (0)

#define HERD_ATOMIC_OPS(T, ST)                                                                   \
    switch (op) {                                                                                \
    case HERD_OP_FETCH_ADD: return __atomic_fetch_add((T *)h, (T)a, __ATOMIC_SEQ_CST);          \
    case HERD_OP_FETCH_AND: return __atomic_fetch_and((T *)h, (T)a, __ATOMIC_SEQ_CST);          \
    case HERD_OP_FETCH_OR: return __atomic_fetch_or((T *)h, (T)a, __ATOMIC_SEQ_CST);            \
    case HERD_OP_FETCH_XOR: return __atomic_fetch_xor((T *)h, (T)a, __ATOMIC_SEQ_CST);          \
    case HERD_OP_ADD_FETCH: return __atomic_add_fetch((T *)h, (T)a, __ATOMIC_SEQ_CST);          \
    case HERD_OP_AND_FETCH: return __atomic_and_fetch((T *)h, (T)a, __ATOMIC_SEQ_CST);          \
    case HERD_OP_OR_FETCH: return __atomic_or_fetch((T *)h, (T)a, __ATOMIC_SEQ_CST);            \
    case HERD_OP_XOR_FETCH: return __atomic_xor_fetch((T *)h, (T)a, __ATOMIC_SEQ_CST);          \
    case HERD_OP_FETCH_SMIN: HERD_MINMAX(T, ST, <, 0);                                           \
    case HERD_OP_FETCH_SMAX: HERD_MINMAX(T, ST, >, 0);                                           \
    case HERD_OP_FETCH_UMIN: HERD_MINMAX(T, T, <, 0);                                            \
    case HERD_OP_FETCH_UMAX: HERD_MINMAX(T, T, >, 0);                                            \
    case HERD_OP_SMIN_FETCH: HERD_MINMAX(T, ST, <, 1);                                           \
    case HERD_OP_SMAX_FETCH: HERD_MINMAX(T, ST, >, 1);                                           \
    case HERD_OP_UMIN_FETCH: HERD_MINMAX(T, T, <, 1);                                            \
    case HERD_OP_UMAX_FETCH: HERD_MINMAX(T, T, >, 1);                                            \
    default: {                                                                                   \
        T expected_ = (T)a;                                                                      \
        __atomic_compare_exchange_n((T *)h, &expected_, (T)b, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST); \
        return expected_;                                                                        \
    }                                                                                            \
    }

/* Always inlined with constant op and size (the wrappers below), so both switches fold away. */
static inline __attribute__((always_inline)) uint64_t herd_direct_atomic(unsigned op, unsigned size, void *h, uint64_t a, uint64_t b)
{
    switch (size) {
    case 1: HERD_ATOMIC_OPS(uint8_t, int8_t)
    case 2: HERD_ATOMIC_OPS(uint16_t, int16_t)
    case 4: HERD_ATOMIC_OPS(uint32_t, int32_t)
    default: HERD_ATOMIC_OPS(uint64_t, int64_t)
    }
}

typedef uint64_t (*herd_atomic_fn)(void *env, uint64_t addr, uint64_t a, uint64_t b, uint64_t c);
/* The helper variants by size, in the library's naming; the _be ones have no direct form. */
#define HERD_AW_SIZES 7
static const char *const herd_aw_size_names[HERD_AW_SIZES] = { "b", "w_le", "w_be", "l_le", "l_be", "q_le", "q_be" };
#define HERD_AW_BYTES(Z) ((Z) == 0 ? 1 : (Z) <= 2 ? 2 : (Z) <= 4 ? 4 : 8)
#define HERD_AW_BE(Z) ((Z) == 2 || (Z) == 4 || (Z) == 6)
/* The library's helper for target T, operation O (HERD_OP_*), size variant Z. */
static herd_atomic_fn herd_aw_real[2][HERD_OP_COUNT][HERD_AW_SIZES];

/* One wrapper per (target, operation, size variant), each knowing its own original, with the
 * operation and size as constants (measured: `atomics add 1` spent a third of its time in a
 * generic wrapper's table loads and in herd_direct_atomic's two jump tables). Every helper of
 * these families takes at most five integer arguments in registers, so one shape forwards them all.
 * The library's helper must be reached by tail jumps only: it finds its translated block by its
 * own return address (GETPC), and a wrapper frame in between breaks its exits (measured:
 * thr_atomic's misaligned and contended cases went wrong). So the direct path (no register saved)
 * and the guarded path (herd_aw_slow_*, whose call is a sibling call with the same arguments)
 * are separate functions. */
#define HERD_AW(T, O, Z)                                                                             \
    __attribute__((noinline)) static uint64_t herd_aw_slow_##T##_##O##_##Z(void *env, uint64_t addr, \
                                                                          uint64_t a, uint64_t b, uint64_t c) \
    {                                                                                                \
        herd_atomic_guard(T, addr, HERD_AW_BYTES(Z), (uintptr_t)__builtin_return_address(0));       \
        return herd_aw_real[T][O][Z](env, addr, a, b, c);                                           \
    }                                                                                                \
    __attribute__((noinline)) static uint64_t herd_aw_##T##_##O##_##Z(void *env, uint64_t addr, uint64_t a, \
                                                                     uint64_t b, uint64_t c)         \
    {                                                                                                \
        if (!HERD_AW_BE(Z)) {                                                                        \
            void *h = herd_direct_atomic_addr(herd_running, addr, HERD_AW_BYTES(Z));                 \
            if (__builtin_expect(h != NULL, 1)) return herd_direct_atomic(O, HERD_AW_BYTES(Z), h, a, b); \
        }                                                                                            \
        return herd_aw_slow_##T##_##O##_##Z(env, addr, a, b, c);                                     \
    }
#define HERD_AW_Z(T, O) HERD_AW(T, O, 0) HERD_AW(T, O, 1) HERD_AW(T, O, 2) HERD_AW(T, O, 3) HERD_AW(T, O, 4) \
                        HERD_AW(T, O, 5) HERD_AW(T, O, 6)
#define HERD_AW_O(T) HERD_AW_Z(T, 0) HERD_AW_Z(T, 1) HERD_AW_Z(T, 2) HERD_AW_Z(T, 3) HERD_AW_Z(T, 4) HERD_AW_Z(T, 5) \
                     HERD_AW_Z(T, 6) HERD_AW_Z(T, 7) HERD_AW_Z(T, 8) HERD_AW_Z(T, 9) HERD_AW_Z(T, 10) HERD_AW_Z(T, 11) \
                     HERD_AW_Z(T, 12) HERD_AW_Z(T, 13) HERD_AW_Z(T, 14) HERD_AW_Z(T, 15) HERD_AW_Z(T, 16)
HERD_AW_O(0)
HERD_AW_O(1)
#define HERD_AW_REF_Z(T, O) { herd_aw_##T##_##O##_0, herd_aw_##T##_##O##_1, herd_aw_##T##_##O##_2, herd_aw_##T##_##O##_3, \
                              herd_aw_##T##_##O##_4, herd_aw_##T##_##O##_5, herd_aw_##T##_##O##_6 }
#define HERD_AW_REF_O(T) { HERD_AW_REF_Z(T, 0), HERD_AW_REF_Z(T, 1), HERD_AW_REF_Z(T, 2), HERD_AW_REF_Z(T, 3), \
                           HERD_AW_REF_Z(T, 4), HERD_AW_REF_Z(T, 5), HERD_AW_REF_Z(T, 6), HERD_AW_REF_Z(T, 7), \
                           HERD_AW_REF_Z(T, 8), HERD_AW_REF_Z(T, 9), HERD_AW_REF_Z(T, 10), HERD_AW_REF_Z(T, 11), \
                           HERD_AW_REF_Z(T, 12), HERD_AW_REF_Z(T, 13), HERD_AW_REF_Z(T, 14), HERD_AW_REF_Z(T, 15), \
                           HERD_AW_REF_Z(T, 16) }
static const herd_atomic_fn herd_aw[2][HERD_OP_COUNT][HERD_AW_SIZES] = { HERD_AW_REF_O(0), HERD_AW_REF_O(1) };

/*
 * 2.0.1's xchg helpers are not atomic. Under CF_PARALLEL the translator calls
 * helper_atomic_xchg{b,w_le,l_le,q_le}_<arch> for x86 xchg with memory and AArch64 SWP, and in
 * this build they compile to a plain load and a plain store (objdump: `mov (%rax),%rdx;
 * mov %rbx,(%rax)`; measured: a token passed between two engines by xchg got lost), while the
 * cmpxchg helpers use `lock cmpxchg`. So Herd replaces them, in the library's GOT and in its
 * helper table (both are relocations against the helper's symbol, rewritten before any engine is
 * opened: each engine indexes its helper table at uc_open), by a compare-and-swap loop over the
 * library's own helper_atomic_cmpxchg*_mmu_<arch>, which takes the guest return address
 * explicitly (this wrapper's caller is the translated block, as for the original's GETPC()).
 */
typedef uint32_t (*herd_cas32_fn)(void *env, uint64_t addr, uint32_t cmpv, uint32_t newv, uint32_t oi, uintptr_t ra);
typedef uint64_t (*herd_cas64_fn)(void *env, uint64_t addr, uint64_t cmpv, uint64_t newv, uint32_t oi, uintptr_t ra);
static herd_cas32_fn herd_cas8[2], herd_cas16[2], herd_cas32[2];
static herd_cas64_fn herd_cas64[2];

#define HERD_XCHG(NAME, TYPE, CAS, T)                                                        \
    __attribute__((noinline)) static TYPE NAME(void *env, uint64_t addr, TYPE val, uint32_t oi) \
    {                                                                                        \
        uintptr_t ra = (uintptr_t)__builtin_return_address(0);                               \
        unsigned size_ = sizeof(TYPE) == 8 ? 8 : 1u << (oi >> 4 & 3);                        \
        void *h = herd_direct_atomic_addr(herd_running, addr, size_); /* le helpers only */   \
        if (h != NULL) {                                                                     \
            switch (size_) {                                                                 \
            case 1: return __atomic_exchange_n((uint8_t *)h, (uint8_t)val, __ATOMIC_SEQ_CST);  \
            case 2: return __atomic_exchange_n((uint16_t *)h, (uint16_t)val, __ATOMIC_SEQ_CST); \
            case 4: return __atomic_exchange_n((uint32_t *)h, (uint32_t)val, __ATOMIC_SEQ_CST); \
            default: return __atomic_exchange_n((uint64_t *)h, (uint64_t)val, __ATOMIC_SEQ_CST); \
            }                                                                                \
        }                                                                                    \
        herd_atomic_guard(T, addr, size_, ra);                                               \
        TYPE old = CAS[T](env, addr, 0, 0, oi, ra); /* reads; stores 0 only over 0 */        \
        for (;;) {                                                                           \
            TYPE prev = CAS[T](env, addr, old, val, oi, ra);                                 \
            if (prev == old) return old;                                                     \
            old = prev;                                                                      \
        }                                                                                    \
    }

HERD_XCHG(herd_xchgb_x86_64, uint32_t, herd_cas8, 0)
HERD_XCHG(herd_xchgw_x86_64, uint32_t, herd_cas16, 0)
HERD_XCHG(herd_xchgl_x86_64, uint32_t, herd_cas32, 0)
HERD_XCHG(herd_xchgq_x86_64, uint64_t, herd_cas64, 0)
HERD_XCHG(herd_xchgb_aarch64, uint32_t, herd_cas8, 1)
HERD_XCHG(herd_xchgw_aarch64, uint32_t, herd_cas16, 1)
HERD_XCHG(herd_xchgl_aarch64, uint32_t, herd_cas32, 1)
HERD_XCHG(herd_xchgq_aarch64, uint64_t, herd_cas64, 1)

/*
 * The relocations (GLOB_DAT, 64, and the PLT's JUMP_SLOT) against the helpers Herd retargets
 * (helper_atomic_*, the guest load/store helpers helper_{ret,le,be}_*_mmu_*), sorted by name: they
 * are retargeted one name at a time (~300 names), and a scan of the library's ~100,000 relocations
 * with a strcmp each per name took ~135 ms of every start-up, and of its ~5,000 PLT slots ~10 ms
 * (measured).
 */
struct herd_named_rela { const char *name; const ElfW(Rela) *rela; };
static struct herd_named_rela *herd_atomic_relas;
static size_t herd_atomic_rela_count;
#define HERD_ATOMIC_PREFIX "helper_atomic_"

/* Names herd_retarget_symbol may rewrite: the atomic helpers and the guest load/store helpers. */
static int herd_retargetable(const char *name)
{
    if (strncmp(name, HERD_ATOMIC_PREFIX, sizeof HERD_ATOMIC_PREFIX - 1) == 0) return 1;
    return strncmp(name, "helper_", 7) == 0 && strstr(name, "_mmu_") != NULL
            && (strncmp(name + 7, "ret_", 4) == 0 || strncmp(name + 7, "le_", 3) == 0 || strncmp(name + 7, "be_", 3) == 0);
}

static int herd_named_rela_order(const void *a, const void *b)
{
    return strcmp(((const struct herd_named_rela *)a)->name, ((const struct herd_named_rela *)b)->name);
}

static int herd_index_atomic_relas(const struct herd_module *m)
{
    if (herd_atomic_relas != NULL) return 1;
    const ElfW(Rela) *rela = NULL, *jmprel = NULL;
    size_t relasz = 0, jmprelsz = 0;
    const ElfW(Sym) *symtab = NULL;
    const char *strtab = NULL;
    for (const ElfW(Dyn) *d = m->dynamic; d->d_tag != DT_NULL; d++) {
        if (d->d_tag == DT_RELA) rela = (const void *)herd_dyn_ptr(m->base, d->d_un.d_ptr);
        else if (d->d_tag == DT_RELASZ) relasz = d->d_un.d_val;
        else if (d->d_tag == DT_JMPREL) jmprel = (const void *)herd_dyn_ptr(m->base, d->d_un.d_ptr);
        else if (d->d_tag == DT_PLTRELSZ) jmprelsz = d->d_un.d_val;
        else if (d->d_tag == DT_SYMTAB) symtab = (const void *)herd_dyn_ptr(m->base, d->d_un.d_ptr);
        else if (d->d_tag == DT_STRTAB) strtab = (const void *)herd_dyn_ptr(m->base, d->d_un.d_ptr);
    }
    if (rela == NULL || symtab == NULL || strtab == NULL) return 0;
    if (jmprel == NULL) jmprelsz = 0;
    size_t n = 0, cap = 64;
    struct herd_named_rela *index = malloc(cap * sizeof *index);
    if (index == NULL) return 0;
    size_t nrela = relasz / sizeof *rela, total = nrela + jmprelsz / sizeof *rela;
    for (size_t i = 0; i < total; i++) {
        const ElfW(Rela) *r = i < nrela ? &rela[i] : &jmprel[i - nrela];
        unsigned type = ELF64_R_TYPE(r->r_info);
        if (ELF64_R_SYM(r->r_info) == 0 || (type != R_X86_64_GLOB_DAT && type != R_X86_64_64 && type != HERD_JUMP_SLOT)) continue;
        const char *name = strtab + symtab[ELF64_R_SYM(r->r_info)].st_name;
        if (!herd_retargetable(name)) continue;
        if (n == cap) {
            struct herd_named_rela *grown = realloc(index, 2 * cap * sizeof *index);
            if (grown == NULL) { free(index); return 0; }
            index = grown;
            cap *= 2;
        }
        index[n].name = name;
        index[n].rela = r;
        n++;
    }
    qsort(index, n, sizeof *index, herd_named_rela_order);
    herd_atomic_rela_count = n;
    herd_atomic_relas = index;
    return 1;
}

/*
 * Rewrites every GLOB_DAT, 64-bit and JUMP_SLOT relocation against `name` (a helper_atomic_* or
 * guest load/store helper) in m to `to`; returns how many, or -1 when a slot cannot be written.
 */
static int herd_retarget_symbol(const struct herd_module *m, const char *name, void *to)
{
    if (!herd_retargetable(name) || !herd_index_atomic_relas(m)) return 0;
    int n = 0;
    size_t lo = 0, hi = herd_atomic_rela_count; /* the first entry not below name */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(herd_atomic_relas[mid].name, name) < 0) lo = mid + 1; else hi = mid;
    }
    for (size_t i = lo; i < herd_atomic_rela_count && strcmp(herd_atomic_relas[i].name, name) == 0; i++) {
        if (!herd_write_slot((void **)(m->base + herd_atomic_relas[i].rela->r_offset), to)) return -1;
        n++;
    }
    return n;
}

/* Replaces the xchg helpers of both targets; returns 1 if every one was replaced. */
static int herd_fix_xchg(const struct herd_module *m)
{
    static const char *targets[2] = { "x86_64", "aarch64" };
    static const char *sizes[4] = { "b", "w_le", "l_le", "q_le" };
    void *replacements[2][4] = {
        { (void *)herd_xchgb_x86_64, (void *)herd_xchgw_x86_64, (void *)herd_xchgl_x86_64, (void *)herd_xchgq_x86_64 },
        { (void *)herd_xchgb_aarch64, (void *)herd_xchgw_aarch64, (void *)herd_xchgl_aarch64, (void *)herd_xchgq_aarch64 },
    };
    void *lib = dlopen(m->name, RTLD_NOW | RTLD_NOLOAD);
    if (lib == NULL) return 0;
    int ok = 1;
    char name[64];
    for (int t = 0; t < 2 && ok; t++) {
        for (int z = 0; z < 4; z++) {
            snprintf(name, sizeof name, "helper_atomic_cmpxchg%s_mmu_%s", sizes[z], targets[t]);
            void *cas = dlsym(lib, name);
            if (cas == NULL) { ok = 0; break; }
            if (z == 0) herd_cas8[t] = (herd_cas32_fn)cas;
            else if (z == 1) herd_cas16[t] = (herd_cas32_fn)cas;
            else if (z == 2) herd_cas32[t] = (herd_cas32_fn)cas;
            else herd_cas64[t] = (herd_cas64_fn)cas;
        }
    }
    for (int t = 0; t < 2 && ok; t++) {
        for (int z = 0; z < 4; z++) {
            snprintf(name, sizeof name, "helper_atomic_xchg%s_%s", sizes[z], targets[t]);
            if (herd_retarget_symbol(m, name, replacements[t][z]) <= 0) { ok = 0; break; }
        }
    }
    dlclose(lib);
    return ok;
}

/* Puts herd_atomic_guard in front of every non-xchg atomic helper of target t; returns 1 if all were. */
static int herd_guard_atomics(const struct herd_module *m, int t)
{
    static const char *targets[2] = { "x86_64", "aarch64" };
    static const char *ops[HERD_OP_COUNT] = { "fetch_add", "fetch_and", "fetch_or", "fetch_xor", "fetch_smin", "fetch_smax",
                                 "fetch_umin", "fetch_umax", "add_fetch", "and_fetch", "or_fetch", "xor_fetch",
                                 "smin_fetch", "smax_fetch", "umin_fetch", "umax_fetch", "cmpxchg" }; /* HERD_OP_* order */
    void *lib = dlopen(m->name, RTLD_NOW | RTLD_NOLOAD);
    if (lib == NULL) return 0;
    int ok = 1;
    char name[80];
    for (int o = 0; o < HERD_OP_COUNT && ok; o++) {
        for (int z = 0; z < HERD_AW_SIZES; z++) {
            snprintf(name, sizeof name, "helper_atomic_%s%s_%s", ops[o], herd_aw_size_names[z], targets[t]);
            void *real = dlsym(lib, name);
            if (real == NULL) continue; /* not in this build */
            herd_aw_real[t][o][z] = (herd_atomic_fn)real;
            if (herd_retarget_symbol(m, name, (void *)herd_aw[t][o][z]) < 0) { ok = 0; break; }
        }
    }
    dlclose(lib);
    return ok;
}

/*
 * Region lookup with its cache kept. 2.0.1's memory_mapping(uc, address), which every load_helper
 * and store_helper call (the TLB slow path, also taken for victim-TLB hits) runs before anything
 * else, checks uc->mapped_block_cache_index first but never writes it, so every call is a binary
 * search over the engine's regions, chasing a pointer per step. Two buffers whose pages share a
 * TLB index (1 MiB apart with the initial 256 entries) evict each other on every access, and that
 * search then dominated CPython's asyncio SSL test (perf: 29% of all cycles in memory_mapping).
 * Unicorn 2.1 fixed it (commit 8f2841ec, "Cache index for find_memory_region"); this wrapper is
 * the same lookup with the index written back, over the pinned build's layout. Per engine: only
 * the engine's own thread, or Herd's thread with the engine stopped, looks regions up.
 */
enum { HERD_OFF_UC_MEM_REDIRECT = 0x118, HERD_OFF_UC_MAPPED_BLOCKS = 0x748, HERD_OFF_UC_MAPPED_COUNT = 0x750,
       HERD_OFF_UC_MAPPED_CACHE = 0x754, HERD_OFF_MR_ADDR = 0x40, HERD_OFF_MR_END = 0x90 };
static void *(*herd_real_memory_mapping)(void *uc, uint64_t address);

static inline int herd_region_has(const char *mr, uint64_t address)
{
    return address >= *(const uint64_t *)(mr + HERD_OFF_MR_ADDR) && address < *(const uint64_t *)(mr + HERD_OFF_MR_END);
}

static void *herd_memory_mapping(void *uc, uint64_t address)
{
    char *u = uc;
    if (*(void **)(u + HERD_OFF_UC_MEM_REDIRECT) != NULL) return herd_real_memory_mapping(uc, address);
    uint32_t count = *(uint32_t *)(u + HERD_OFF_UC_MAPPED_COUNT);
    char **blocks = *(char ***)(u + HERD_OFF_UC_MAPPED_BLOCKS);
    uint32_t *cache = (uint32_t *)(u + HERD_OFF_UC_MAPPED_CACHE);
    uint32_t i = *cache;
    if (i < count && herd_region_has(blocks[i], address)) return blocks[i];
    uint32_t lo = 0, hi = count; /* blocks are sorted and disjoint: the first whose end is above address */
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (*(const uint64_t *)(blocks[mid] + HERD_OFF_MR_END) > address) hi = mid; else lo = mid + 1;
    }
    if (lo < count && herd_region_has(blocks[lo], address)) {
        *cache = lo;
        return blocks[lo];
    }
    return NULL;
}

/*
 * The exact PC of a faulting load or store, without a memory hook.
 *
 * 2.0.1 keeps the guest PC in the CPU state only at block boundaries (and before every access when
 * a UC_HOOK_MEM_READ/WRITE hook exists, which also sends every access down the slow path: 3x slower
 * CPython under faulthandler, measured). The translated code calls the load/store helpers
 * (helper_{ret,le,be}_*_mmu_<arch>, from the backend's qemu_ld/st_helpers tables) with the host
 * return address into the block, and that address is what QEMU's own cpu_restore_state() maps back
 * to the guest instruction (its TB's insn_start records). So each such helper is wrapped to note
 * (return address, guest address, size) for its thread while it runs; the invalid-memory hook,
 * which those helpers call, asks herd_sync_fault_pc to restore the PC from the note when the fault
 * lies in the noted access. Notes nest (an unaligned access recurses through the helpers, and the
 * inner note is the one that faults) and end with the call; one left by a helper that leaves
 * through cpu_loop_exit is dropped at the next cpu_exec. An access made inside another helper (x87
 * 80-bit loads, fxsave, cmpxchg16b) has no note and keeps the block-boundary PC.
 */

typedef uint64_t (*herd_ld_fn)(void *env, uint64_t addr, uint32_t oi, uintptr_t ra);
typedef void (*herd_st_fn)(void *env, uint64_t addr, uint64_t val, uint32_t oi, uintptr_t ra);
#define HERD_LDST_HELPERS 7
static herd_ld_fn herd_real_ld[2][HERD_LDST_HELPERS];
static herd_st_fn herd_real_st[2][HERD_LDST_HELPERS];
static const char *const herd_ld_names[HERD_LDST_HELPERS] = { "ret_ldub", "le_lduw", "le_ldul", "le_ldq", "be_lduw", "be_ldul", "be_ldq" };
static const char *const herd_st_names[HERD_LDST_HELPERS] = { "ret_stb", "le_stw", "le_stl", "le_stq", "be_stw", "be_stl", "be_stq" };
static const uint8_t herd_ldst_size[HERD_LDST_HELPERS] = { 1, 2, 4, 8, 2, 4, 8 };

#define HERD_LD(T, I)                                                                         \
    static uint64_t herd_ld_##T##_##I(void *env, uint64_t addr, uint32_t oi, uintptr_t ra)    \
    {                                                                                         \
        struct herd_note outer = herd_note;                                                   \
        herd_note = (struct herd_note){ ra, addr, herd_ldst_size[I] };                        \
        uint64_t v = herd_real_ld[T][I](env, addr, oi, ra);                                   \
        herd_note = outer;                                                                    \
        return v;                                                                             \
    }
#define HERD_ST(T, I)                                                                                 \
    static void herd_st_##T##_##I(void *env, uint64_t addr, uint64_t val, uint32_t oi, uintptr_t ra)  \
    {                                                                                                 \
        struct herd_note outer = herd_note;                                                           \
        herd_note = (struct herd_note){ ra, addr, herd_ldst_size[I] };                                \
        herd_real_st[T][I](env, addr, val, oi, ra);                                                   \
        herd_note = outer;                                                                            \
    }
#define HERD_LDST_WRAPPERS(T) HERD_LD(T, 0) HERD_LD(T, 1) HERD_LD(T, 2) HERD_LD(T, 3) HERD_LD(T, 4) HERD_LD(T, 5) HERD_LD(T, 6) \
                     HERD_ST(T, 0) HERD_ST(T, 1) HERD_ST(T, 2) HERD_ST(T, 3) HERD_ST(T, 4) HERD_ST(T, 5) HERD_ST(T, 6)
HERD_LDST_WRAPPERS(0)
HERD_LDST_WRAPPERS(1)
static const herd_ld_fn herd_ld_wrappers[2][HERD_LDST_HELPERS] = {
    { herd_ld_0_0, herd_ld_0_1, herd_ld_0_2, herd_ld_0_3, herd_ld_0_4, herd_ld_0_5, herd_ld_0_6 },
    { herd_ld_1_0, herd_ld_1_1, herd_ld_1_2, herd_ld_1_3, herd_ld_1_4, herd_ld_1_5, herd_ld_1_6 },
};
static const herd_st_fn herd_st_wrappers[2][HERD_LDST_HELPERS] = {
    { herd_st_0_0, herd_st_0_1, herd_st_0_2, herd_st_0_3, herd_st_0_4, herd_st_0_5, herd_st_0_6 },
    { herd_st_1_0, herd_st_1_1, herd_st_1_2, herd_st_1_3, herd_st_1_4, herd_st_1_5, herd_st_1_6 },
};
static _Bool (*herd_cpu_restore_state[2])(void *cpu, uintptr_t host_pc, _Bool will_exit);

/* Wraps target t's load/store helpers; returns 1 if all were (none is left half done: a helper
 * without its wrapper only lacks notes, which makes its faults keep the block-boundary PC). */
static int herd_wrap_ldst(const struct herd_module *m, void *lib, int t)
{
    static const char *arch[2] = { "x86_64", "aarch64" };
    char name[64];
    snprintf(name, sizeof name, "cpu_restore_state_%s", arch[t]);
    *(void **)&herd_cpu_restore_state[t] = dlsym(lib, name);
    if (herd_cpu_restore_state[t] == NULL) return 0;
    for (int i = 0; i < HERD_LDST_HELPERS; i++) {
        snprintf(name, sizeof name, "helper_%s_mmu_%s", herd_ld_names[i], arch[t]);
        if ((*(void **)&herd_real_ld[t][i] = dlsym(lib, name)) == NULL) return 0;
        snprintf(name, sizeof name, "helper_%s_mmu_%s", herd_st_names[i], arch[t]);
        if ((*(void **)&herd_real_st[t][i] = dlsym(lib, name)) == NULL) return 0;
    }
    int ok = 1;
    for (int i = 0; i < HERD_LDST_HELPERS && ok; i++) {
        snprintf(name, sizeof name, "helper_%s_mmu_%s", herd_ld_names[i], arch[t]);
        ok = herd_retarget_symbol(m, name, (void *)herd_ld_wrappers[t][i]) > 0;
        snprintf(name, sizeof name, "helper_%s_mmu_%s", herd_st_names[i], arch[t]);
        ok = ok && herd_retarget_symbol(m, name, (void *)herd_st_wrappers[t][i]) > 0;
    }
    return ok;
}

/*
 * Called from the engine's invalid-memory hook for a data access at `address`, on the engine's
 * thread inside cpu_exec: restores the guest PC (and x86 cc_op) to the faulting instruction from
 * this thread's note. Returns 1 if it did, 0 if the note does not belong to this fault.
 */
int herd_sync_fault_pc(struct herd_engine_state *s, uint64_t address)
{
    if (s == NULL || s->exec_arch == 0) return 0;
    void *cpu = atomic_load_explicit(&s->kick_cpu, memory_order_relaxed);
    int t = (int)s->exec_arch - 1;
    if (cpu == NULL || herd_cpu_restore_state[t] == NULL || herd_note.ra == 0) return 0;
    if (address < herd_note.addr || address - herd_note.addr >= herd_note.size) return 0;
    return herd_cpu_restore_state[t](cpu, herd_note.ra, 1) ? 1 : 0;
}

/*
 * A host syscall returning the kernel's result or -errno (the raw ABI), for Java's HostKernel:
 * reading errno in C right after the call needs no errno capture on the Java side, which would be
 * a downcall shape of its own (see dev.herd.ffm.NativeWords).
 */
long herd_syscall(long nr, long a0, long a1, long a2, long a3, long a4, long a5)
{
    long r = syscall(nr, a0, a1, a2, a3, a4, a5);
    return r == -1 ? -(long)errno : r;
}

/*
 * Every thread of process `pid` (0: this one) to scheduling `policy` at priority 0, for a warm fork
 * spare (Java's SpareScheduling): one pass over /proc/PID/task in C. The same pass in Java took
 * 0.7-1.8 ms in the spare on a fork's path (its code interpreted). Returns the number of threads
 * set, or -errno if the task directory cannot be read. A thread gone meanwhile is skipped.
 */
long herd_sched_all_threads(long pid, long policy)
{
    char path[48];
    if (pid == 0) snprintf(path, sizeof path, "/proc/self/task");
    else snprintf(path, sizeof path, "/proc/%ld/task", pid);
    DIR *d = opendir(path);
    if (d == NULL) return -(long)errno;
    struct sched_param param = { .sched_priority = 0 };
    long n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        char *end;
        long tid = strtol(e->d_name, &end, 10);
        if (end == e->d_name || *end != '\0') continue; /* "." and ".." */
        if (syscall(SYS_sched_setscheduler, tid, (int)policy, &param) == 0) n++;
    }
    closedir(d);
    return n;
}

/*
 * Installs the wrappers in the libunicorn containing `inside` (any of its functions). Idempotent.
 * dirty_* and flush_* are that library's tlb_set_dirty_<arch> and tlb_flush_<arch> (NULL: absent).
 * Returns a bit mask: bit 0/1 store fast path for x86_64/aarch64 engines, bit 2/3 translator
 * atomics (translation and atomic-exit wrappers) for x86_64/aarch64 engines, bit 4 the library's build id is not the pinned one (so no
 * translator atomics, nor exact stops), bit 5/6 exact stops (cpu_exec and exit-check wrappers, herd_kick) for x86_64/aarch64 engines, bit 7 the region
 * lookup with its cache kept (herd_memory_mapping), bit 8/9 fault PCs from notes (herd_sync_fault_pc) for
 * x86_64/aarch64 engines; or -1 when the module or its dynamic section is not found.
 */
int herd_wrappers_install(void *inside, void *dirty_x86_64, void *flush_x86_64, void *dirty_aarch64, void *flush_aarch64)
{
    static const char *fills[2] = { "tlb_set_page_with_attrs_x86_64", "tlb_set_page_with_attrs_aarch64" };
    static const char *gens[2] = { "gen_intermediate_code_x86_64", "gen_intermediate_code_aarch64" };
    static const herd_fill_fn fill_wrappers[2] = { herd_fill_x86_64, herd_fill_aarch64 };
    static const herd_gen_fn gen_wrappers[2] = { herd_gen_x86_64, herd_gen_aarch64 };
    static const char *exits[2] = { "cpu_loop_exit_atomic_x86_64", "cpu_loop_exit_atomic_aarch64" };
    static const herd_exit_atomic_fn exit_wrappers[2] = { herd_exit_atomic_x86_64, herd_exit_atomic_aarch64 };
    static const char *execs[2] = { "cpu_exec_x86_64", "cpu_exec_aarch64" };
    static const herd_cpu_exec_fn exec_wrappers[2] = { herd_cpu_exec_x86_64, herd_cpu_exec_aarch64 };
    static const char *checks[2] = { "check_exit_request_x86_64", "check_exit_request_aarch64" };
    static const herd_exit_check_fn check_wrappers[2] = { herd_exit_check_x86_64, herd_exit_check_aarch64 };
    void *dirty[2] = { dirty_x86_64, dirty_aarch64 };
    void *flush[2] = { flush_x86_64, flush_aarch64 };
    struct herd_module m = { (uintptr_t)inside, NULL, 0, NULL, NULL, 0 };
    if (!dl_iterate_phdr(herd_find_module, &m) || m.dynamic == NULL) return -1;
    int pinned = herd_build_id_matches(&m);
    int done = pinned ? 0 : 16;
    uintptr_t relro_lo = 0, relro_hi = 0;
    long pagesize = sysconf(_SC_PAGESIZE);
    for (int i = 0; i < m.phnum; i++) {
        if (m.phdr[i].p_type != PT_GNU_RELRO) continue;
        relro_lo = (m.base + m.phdr[i].p_vaddr) & ~(uintptr_t)(pagesize - 1);
        relro_hi = (m.base + m.phdr[i].p_vaddr + m.phdr[i].p_memsz + pagesize - 1) & ~(uintptr_t)(pagesize - 1);
        if (mprotect((void *)relro_lo, relro_hi - relro_lo, PROT_READ | PROT_WRITE) == 0) {
            herd_relro_open_lo = relro_lo;
            herd_relro_open_hi = relro_hi;
        }
        break;
    }
    /* Before any translator-atomics wrapper: without atomic xchg helpers they would be wrong. */
    int xchg_fixed = pinned && herd_fix_xchg(&m);
    for (int t = 0; t < 2; t++) {
        void **slot = herd_plt_slot(&m, fills[t]);
        if (slot != NULL && dirty[t] != NULL && flush[t] != NULL) {
            herd_fill_targets[t].set_dirty = (herd_dirty_fn)dirty[t];
            herd_fill_targets[t].flush = (herd_flush_fn)flush[t];
            if (herd_redirect(slot, (void *)fill_wrappers[t], (void **)&herd_fill_targets[t].real_fill)) done |= 1 << t;
        }
        /* Translator atomics need both: the flag, and the exit of what cannot be done with it. */
        slot = xchg_fixed ? herd_plt_slot(&m, gens[t]) : NULL;
        void **exit_slot = xchg_fixed ? herd_plt_slot(&m, exits[t]) : NULL;
        /* The exit first (the guards leave through it), then the guards, then the flag. */
        if (slot != NULL && exit_slot != NULL
                && herd_redirect(exit_slot, (void *)exit_wrappers[t], (void **)&herd_real_exit_atomic[t])
                && herd_guard_atomics(&m, t)
                && herd_redirect(slot, (void *)gen_wrappers[t], (void **)&herd_real_gen[t])) {
            done |= 4 << t;
        }
    }
    /* Chained block ends, with the translation wrapper (x86_64), unless HERD_CHAIN_EOB=0. */
    const char *chain_eob = getenv("HERD_CHAIN_EOB");
    void **exit_tb_slot = (done & 4) && (chain_eob == NULL || strcmp(chain_eob, "0") != 0)
            ? herd_plt_slot(&m, "tcg_gen_exit_tb_x86_64") : NULL;
    void **goto_ptr_slot = exit_tb_slot != NULL ? herd_plt_slot(&m, "tcg_gen_lookup_and_goto_ptr_x86_64") : NULL;
    if (goto_ptr_slot != NULL) {
        *(void **)&herd_goto_ptr_x86_64 = __atomic_load_n(goto_ptr_slot, __ATOMIC_ACQUIRE);
        if (herd_redirect(exit_tb_slot, (void *)herd_exit_tb_x86_64, (void **)&herd_real_exit_tb_x86_64)) done |= 1024;
        else herd_goto_ptr_x86_64 = NULL;
    }
    /* The region lookup (shared by all targets), unless HERD_REGION_CACHE=0. */
    const char *region_cache = getenv("HERD_REGION_CACHE");
    void **mm_slot = pinned && (region_cache == NULL || strcmp(region_cache, "0") != 0) ? herd_plt_slot(&m, "memory_mapping") : NULL;
    if (mm_slot != NULL && herd_redirect(mm_slot, (void *)herd_memory_mapping, (void **)&herd_real_memory_mapping)) done |= 128;
    void *lib = pinned ? dlopen(m.name, RTLD_NOW | RTLD_NOLOAD) : NULL;
    /* Fault PCs from notes. */
    for (int t = 0; t < 2 && lib != NULL; t++) {
        if (herd_wrap_ldst(&m, lib, t)) done |= 256 << t;
    }
    /* Exact stops: cpu_exec_<arch> and check_exit_request_<arch> wrapped, cpu_exit wrapped (its PLT
     * slot, for libunicorn's own calls; herd_kick calls the real one), with the library's own
     * uc_emu_stop, cpu_loop_exit_<arch> and TCG generators; the per-access callers of the check
     * wrapped to mark their calls; offsets of the pinned build. */
    void **exit_slot = lib != NULL ? herd_plt_slot(&m, "cpu_exit") : NULL;
    if (lib != NULL && exit_slot != NULL) {
        static const char *arch[2] = { "x86_64", "aarch64" };
        static const char *ldst[4] = { "tcg_gen_qemu_ld_i32", "tcg_gen_qemu_ld_i64", "tcg_gen_qemu_st_i32", "tcg_gen_qemu_st_i64" };
        herd_uc_emu_stop = (int (*)(void *))dlsym(lib, "uc_emu_stop");
        herd_cpu_exit = (void (*)(void *))dlsym(lib, "cpu_exit");
        int exit_wrapped = 0;
        for (int t = 0; t < 2 && herd_uc_emu_stop != NULL && herd_cpu_exit != NULL; t++) {
            char name[64];
            int found = 1;
            snprintf(name, sizeof name, "cpu_loop_exit_%s", arch[t]);
            *(void **)&herd_cpu_loop_exit[t] = dlsym(lib, name);
            struct herd_tcg_gen *g = &herd_tcg[t];
            snprintf(name, sizeof name, "tcg_const_i64_%s", arch[t]);
            *(void **)&g->const_i64 = dlsym(lib, name);
            snprintf(name, sizeof name, "tcg_temp_new_internal_%s", arch[t]);
            *(void **)&g->temp_new = dlsym(lib, name);
            snprintf(name, sizeof name, "tcg_temp_free_internal_%s", arch[t]);
            *(void **)&g->temp_free = dlsym(lib, name);
            snprintf(name, sizeof name, "tcg_gen_op3_%s", arch[t]);
            *(void **)&g->op3 = dlsym(lib, name);
            snprintf(name, sizeof name, "tcg_gen_brcondi_i32_%s", arch[t]);
            *(void **)&g->brcondi_i32 = dlsym(lib, name);
            if (g->const_i64 == NULL || g->temp_new == NULL || g->temp_free == NULL || g->op3 == NULL
                    || g->brcondi_i32 == NULL) found = 0;
            void **ldst_slots[4];
            for (int i = 0; i < 4; i++) {
                snprintf(name, sizeof name, "%s_%s", ldst[i], arch[t]);
                ldst_slots[i] = herd_plt_slot(&m, name);
                if (ldst_slots[i] == NULL) found = 0;
            }
            void **slot = herd_plt_slot(&m, execs[t]);
            void **check_slot = herd_plt_slot(&m, checks[t]);
            if (!found || herd_cpu_loop_exit[t] == NULL || slot == NULL || check_slot == NULL) continue;
            if (!exit_wrapped) {
                static void *real_cpu_exit; /* herd_cpu_exit, from dlsym, is the one called */
                if (!herd_redirect(exit_slot, (void *)herd_cpu_exit_wrapper, &real_cpu_exit)) break;
                exit_wrapped = 1;
            }
            /* The check first: a marked call finds the real one set. */
            if (!herd_redirect(check_slot, (void *)check_wrappers[t], (void **)&herd_real_exit_check[t])) continue;
            int marked = 1;
            for (int i = 0; i < 4 && marked; i++) {
                marked = herd_redirect(ldst_slots[i], (void *)herd_ldst_wrappers[t][i], (void **)&herd_real_ldst[t][i]);
            }
            if (marked && herd_redirect(slot, (void *)exec_wrappers[t], (void **)&herd_real_cpu_exec[t])) done |= 32 << t;
        }
    }
    if (lib != NULL) dlclose(lib);
    if (herd_relro_open_hi != 0) {
        herd_relro_open_lo = herd_relro_open_hi = 0;
        mprotect((void *)relro_lo, relro_hi - relro_lo, PROT_READ);
    }
    return done;
}

/*
 * The process title other programs read (/proc/PID/cmdline and environ, as ps and pgrep do): a
 * Herd JVM that runs a guest shows the guest's argv and envp instead of java's command line.
 * prctl(PR_SET_MM_MAP) moves the kernel's argument and environment ranges to a copy in anonymous
 * memory (malloc's; the kernel reads these ranges with FOLL_ANON, so a file-backed copy would read
 * as empty). The call sets every field of the map, so the current ones are read from
 * /proc/self/stat (code, data, start_brk, start_stack) and the break from brk(0) just before it:
 * a break another thread moves in between is set back, and glibc's next sbrk then fails and malloc
 * takes mmap instead. No privilege needed, given CONFIG_CHECKPOINT_RESTORE and no executable
 * change. The previous copy is freed (a reader racing with that reads garbage or nothing).
 * Returns 0 or -errno.
 */
#include <fcntl.h>
#include <sys/prctl.h>
#include <linux/prctl.h>

static char *herd_title;

long herd_set_process_title(const char *args, long args_len, const char *env, long env_len)
{
    if (args_len < 0 || env_len < 0) return -EINVAL;
    char stat[4096];
    int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -errno;
    ssize_t n = read(fd, stat, sizeof stat - 1);
    close(fd);
    if (n <= 0) return -EIO;
    stat[n] = 0;
    char *t = strrchr(stat, ')');
    if (!t || t[1] != ' ') return -EIO;
    t += 2;
    unsigned long field[52] = {0}; /* field[k]: proc(5)'s field k */
    for (int k = 3; k < 52 && *t; k++) {
        field[k] = strtoul(t, NULL, 10);
        while (*t && *t != ' ') t++;
        while (*t == ' ') t++;
    }
    char *copy = malloc((size_t)args_len + (size_t)env_len + 1);
    if (!copy) return -ENOMEM;
    memcpy(copy, args, (size_t)args_len);
    memcpy(copy + args_len, env, (size_t)env_len);
    struct prctl_mm_map map;
    memset(&map, 0, sizeof map);
    map.start_code = field[26];
    map.end_code = field[27];
    map.start_stack = field[28];
    map.start_data = field[45];
    map.end_data = field[46];
    map.start_brk = field[47];
    map.arg_start = (unsigned long)copy;
    map.arg_end = (unsigned long)copy + (unsigned long)args_len;
    map.env_start = map.arg_end;
    map.env_end = map.arg_end + (unsigned long)env_len;
    map.exe_fd = (uint32_t)-1;
    map.brk = (unsigned long)syscall(SYS_brk, 0);
    if (prctl(PR_SET_MM, PR_SET_MM_MAP, (unsigned long)&map, sizeof map, 0) != 0) {
        int e = errno;
        free(copy);
        return -e;
    }
    free(herd_title);
    herd_title = copy;
    return 0;
}
