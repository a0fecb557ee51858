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

/*
 * The store fast path (DESIGN fact 11).
 *
 * libunicorn 2.0.1 marks every writable TLB entry TLB_NOTDIRTY (cpu_physical_memory_is_clean() is
 * a constant true there), so every guest store takes notdirty_write(), which allocates and frees a
 * page collection per store: ~300 ns instead of a few. The fill, tlb_set_page_with_attrs_<arch>,
 * is called through the library's PLT, so Herd rewrites that GOT slot to a wrapper which calls the
 * real fill and then clears the flag with the library's own tlb_set_dirty_<arch> — but only for
 * pages that the engine currently running on this thread may write and cannot execute:
 *  - Unicorn checks region permissions only in the slow path; a store into a read-only page with
 *    the flag cleared would reach the host page (read-only in Herd: a JVM crash).
 *  - Executable pages keep the slow path, which is what notices self-modifying code.
 *  - The fill's prot argument cannot decide it: x86 runs without paging, every page arrives RWX.
 * So the permission comes from Herd's own state: each engine that wants fast stores owns a
 * struct herd_fast_stores holding the ranges its current memory view allows (writable, not
 * executable), written by Java on the engine's own thread whenever the view changes. Which
 * engine a fill belongs to is known from a thread-local set around uc_emu_start
 * (herd_emu_start): fills happen only while an engine runs, on the thread that runs it, and a
 * nested run of another engine (a scratch engine inside a hook) saves and restores it. A fill
 * on a thread with no struct (any engine Herd did not start through herd_emu_start) keeps the
 * flag: the stock behaviour.
 *
 * Reductions need no extra work: uc_mem_protect and uc_mem_unmap flush the engine's TLB
 * (measured), and Herd lowers host protection only after every engine synced its view.
 * herd_fast_stores_flush exists for changes Unicorn does not see (a memory-write hook added, a
 * range dropped from the struct without a region change).
 */
#include <elf.h>
#include <link.h>
#include <sys/mman.h>
#include <unistd.h>

#if defined(__x86_64__)
#define HERD_JUMP_SLOT R_X86_64_JUMP_SLOT
#elif defined(__aarch64__)
#define HERD_JUMP_SLOT R_AARCH64_JUMP_SLOT
#else
#error "unsupported host architecture"
#endif

struct herd_fast_stores {
    const uint64_t *ranges;   /* [start, end) pairs, sorted, disjoint */
    uint32_t count;
    uint32_t disabled;        /* non-zero: keep the slow path (e.g. a memory-write hook is installed) */
    void *cpu;                /* the engine's CPUState, learned at its first fill (for flushes) */
    void (*flush)(void *cpu); /* tlb_flush_<arch> of that CPUState's target */
};

typedef void (*herd_fill_fn)(void *cpu, uint64_t vaddr, uint64_t paddr, uint32_t attrs, int prot,
                             int mmu_idx, uint64_t size);
typedef void (*herd_dirty_fn)(void *cpu, uint64_t vaddr);
typedef void (*herd_flush_fn)(void *cpu);

static __thread struct herd_fast_stores *herd_running;

struct herd_target {
    const char *fill_name;
    herd_fill_fn real_fill;
    herd_dirty_fn set_dirty;
    herd_flush_fn flush;
};

static struct herd_target herd_targets[2] = {
    { "tlb_set_page_with_attrs_x86_64", 0, 0, 0 },
    { "tlb_set_page_with_attrs_aarch64", 0, 0, 0 },
};

static int herd_fast_writable(const struct herd_fast_stores *s, uint64_t start, uint64_t end)
{
    uint32_t lo = 0, hi = s->count;
    while (lo < hi) { /* first range whose end is above start */
        uint32_t mid = lo + (hi - lo) / 2;
        if (s->ranges[2 * mid + 1] > start) hi = mid; else lo = mid + 1;
    }
    return lo < s->count && s->ranges[2 * lo] <= start && end <= s->ranges[2 * lo + 1];
}

static inline void herd_after_fill(struct herd_target *t, void *cpu, uint64_t vaddr, uint64_t size)
{
    struct herd_fast_stores *s = herd_running;
    if (s == NULL) return;
    s->cpu = cpu;
    s->flush = t->flush;
    if (s->disabled || size == 0 || (size & (size - 1)) != 0) return;
    uint64_t page = vaddr & ~(size - 1);
    if (page + size > page && herd_fast_writable(s, page, page + size)) t->set_dirty(cpu, page);
}

static void herd_fill_x86_64(void *cpu, uint64_t vaddr, uint64_t paddr, uint32_t attrs, int prot,
                             int mmu_idx, uint64_t size)
{
    herd_targets[0].real_fill(cpu, vaddr, paddr, attrs, prot, mmu_idx, size);
    herd_after_fill(&herd_targets[0], cpu, vaddr, size);
}

static void herd_fill_aarch64(void *cpu, uint64_t vaddr, uint64_t paddr, uint32_t attrs, int prot,
                              int mmu_idx, uint64_t size)
{
    herd_targets[1].real_fill(cpu, vaddr, paddr, attrs, prot, mmu_idx, size);
    herd_after_fill(&herd_targets[1], cpu, vaddr, size);
}

static const herd_fill_fn herd_wrappers[2] = { herd_fill_x86_64, herd_fill_aarch64 };

struct herd_module_search {
    uintptr_t inside;          /* an address inside the wanted module */
    uintptr_t base;
    const ElfW(Dyn) *dynamic;
};

static int herd_find_module(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    struct herd_module_search *m = data;
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
    m->dynamic = dynamic;
    return 1;
}

/* A dynamic-section address: glibc relocates most of them in place, but not on every target. */
static uintptr_t herd_dyn_ptr(uintptr_t base, uintptr_t p) { return p < base ? p + base : p; }

/*
 * Interposes the TLB fill of each target whose symbols are given (non-NULL set_dirty/flush) in the
 * libunicorn that contains `inside` (any of its functions). Idempotent. Returns a bit mask of the
 * targets now interposed (bit 0 x86_64, bit 1 aarch64), or a negative reason:
 * -1 module not found, -2 no PLT relocations (not a lazily or BIND_NOW-linked PLT), -3 mprotect failed.
 */
int herd_fast_stores_install(void *inside, void *dirty_x86_64, void *flush_x86_64,
                             void *dirty_aarch64, void *flush_aarch64)
{
    void *dirty[2] = { dirty_x86_64, dirty_aarch64 };
    void *flush[2] = { flush_x86_64, flush_aarch64 };
    struct herd_module_search m = { (uintptr_t)inside, 0, NULL };
    if (!dl_iterate_phdr(herd_find_module, &m) || m.dynamic == NULL) return -1;
    const ElfW(Rela) *jmprel = NULL;
    size_t relsz = 0;
    const ElfW(Sym) *symtab = NULL;
    const char *strtab = NULL;
    for (const ElfW(Dyn) *d = m.dynamic; d->d_tag != DT_NULL; d++) {
        if (d->d_tag == DT_JMPREL) jmprel = (const void *)herd_dyn_ptr(m.base, d->d_un.d_ptr);
        else if (d->d_tag == DT_PLTRELSZ) relsz = d->d_un.d_val;
        else if (d->d_tag == DT_SYMTAB) symtab = (const void *)herd_dyn_ptr(m.base, d->d_un.d_ptr);
        else if (d->d_tag == DT_STRTAB) strtab = (const void *)herd_dyn_ptr(m.base, d->d_un.d_ptr);
    }
    if (jmprel == NULL || symtab == NULL || strtab == NULL) return -2;
    long pagesize = sysconf(_SC_PAGESIZE);
    int done = 0;
    for (size_t i = 0; i < relsz / sizeof *jmprel; i++) {
        const ElfW(Rela) *r = &jmprel[i];
        if (ELF64_R_TYPE(r->r_info) != HERD_JUMP_SLOT) continue;
        const char *name = strtab + symtab[ELF64_R_SYM(r->r_info)].st_name;
        for (int t = 0; t < 2; t++) {
            if (dirty[t] == NULL || flush[t] == NULL || strcmp(name, herd_targets[t].fill_name) != 0) continue;
            void **slot = (void **)(m.base + r->r_offset);
            herd_fill_fn current = (herd_fill_fn)__atomic_load_n(slot, __ATOMIC_ACQUIRE);
            if (current != herd_wrappers[t]) {
                herd_targets[t].real_fill = current;
                herd_targets[t].set_dirty = (herd_dirty_fn)dirty[t];
                herd_targets[t].flush = (herd_flush_fn)flush[t];
                uintptr_t page = (uintptr_t)slot & ~(uintptr_t)(pagesize - 1);
                /* The slot is in RELRO (read-only after relocation): open it for the one store. */
                if (mprotect((void *)page, (size_t)pagesize, PROT_READ | PROT_WRITE) != 0) return -3;
                __atomic_store_n(slot, (void *)herd_wrappers[t], __ATOMIC_RELEASE);
                mprotect((void *)page, (size_t)pagesize, PROT_READ);
            }
            done |= 1 << t;
        }
    }
    return done;
}

/* uc_emu_start(uc, begin, until, timeout, count) with `s` as the running engine's fast-store state. */
int herd_emu_start(struct herd_fast_stores *s, int (*emu_start)(void *, uint64_t, uint64_t, uint64_t, size_t),
                   void *uc, uint64_t begin, uint64_t until, uint64_t timeout, size_t count)
{
    struct herd_fast_stores *outer = herd_running;
    herd_running = s;
    int r = emu_start(uc, begin, until, timeout, count);
    herd_running = outer;
    return r;
}

/* Drops every TLB entry of the engine (so the next fills re-decide). On the engine's thread, stopped or in a hook. */
void herd_fast_stores_flush(struct herd_fast_stores *s)
{
    if (s->cpu != NULL && s->flush != NULL) s->flush(s->cpu);
}
