/* sysv_shm: System V shared memory (shmget, shmat, shmdt, shmctl), compared with native (issue 8):
 * keys and ids, attachments that share their bytes (also across threads and after mremap),
 * read-only attachments, nattch as Linux counts it (VMAs), shmdt's rule for fragments, IPC_RMID
 * while attached, the errors in Linux's order, and a fork's child using the parent's segments by
 * id. Only values that do not depend on the host's
 * other segments are printed. */
#include "guest.h"
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <unistd.h>

#define R(what, expr) do { errno = 0; long r_ = (long)(expr); int e_ = errno; \
        printf("%-52s ret=%s errno=%s\n", what, r_ < 0 ? "-1" : "ok", r_ < 0 ? strerrorname_np(e_) : "0"); } while (0)

static long page;

static struct shmid_ds stat_of(int id) {
    struct shmid_ds ds;
    memset(&ds, 0, sizeof ds);
    CHECK(shmctl(id, IPC_STAT, &ds) == 0, "IPC_STAT");
    return ds;
}

static int in_maps(const char *needle) {
    FILE *f = fopen("/proc/self/maps", "r");
    char line[512];
    int n = 0;
    while (f && fgets(line, sizeof line, f)) if (strstr(line, needle)) n++;
    if (f) fclose(f);
    return n;
}

static char *shared_byte;
static void *writer(void *arg) {
    (void)arg;
    shared_byte[100] = 'T';
    return NULL;
}

int main(void) {
    page = sysconf(_SC_PAGESIZE);
    key_t key = 0x48000000 | (getpid() & 0xffffff);

    /* a private segment, attached twice: one memory */
    int id = shmget(IPC_PRIVATE, 3 * page - 100, IPC_CREAT | 0600);
    CHECK(id >= 0, "shmget(IPC_PRIVATE)");
    char *p = shmat(id, NULL, 0);
    char *q = shmat(id, NULL, SHM_RDONLY);
    CHECK(p != (void *)-1 && q != (void *)-1 && p != q, "shmat twice");
    if (p == (void *)-1 || q == (void *)-1) return guest_done();
    CHECK(p[0] == 0 && p[3 * page - 101] == 0, "a new segment reads as zero");
    strcpy(p, "written through p");
    CHECK(strcmp(q, "written through p") == 0, "the read-only attachment sees the write");
    struct shmid_ds ds = stat_of(id);
    CHECK(ds.shm_segsz == (size_t)(3 * page - 100), "shm_segsz is the size asked for");
    CHECK(ds.shm_nattch == 2, "nattch 2 (got %lu)", (unsigned long)ds.shm_nattch);
    CHECK((ds.shm_perm.mode & 0777) == 0600, "mode 0600");
    CHECK(ds.shm_perm.uid == geteuid() && ds.shm_perm.cuid == geteuid(), "owner and creator are the caller");
    CHECK(ds.shm_cpid == getpid() && ds.shm_lpid == getpid(), "cpid and lpid are the caller");
    CHECK(ds.shm_atime != 0 && ds.shm_ctime != 0 && ds.shm_dtime == 0, "attach and change times set, detach not");
    CHECK(in_maps("/SYSV00000000") == 2, "/proc/self/maps names both attachments /SYSV00000000");
    R("mprotect(read-only attachment, RW)", mprotect(q, page, PROT_READ | PROT_WRITE));
    R("mprotect(attachment, R)", mprotect(p + page, page, PROT_READ));
    printf("nattch after mprotect split an attachment: %lu\n", (unsigned long)stat_of(id).shm_nattch);

    /* another thread writes through the same attachment */
    shared_byte = p;
    pthread_t t;
    pthread_create(&t, NULL, writer, NULL);
    pthread_join(t, NULL);
    CHECK(q[100] == 'T', "a thread's store is seen through the other attachment");

    /* shmdt: exact address only; fragments of one attachment go together */
    R("shmdt(p + 1)", shmdt(p + 1));
    R("shmdt(p + page): no attachment starts there", shmdt(p + page));
    R("shmdt(q)", shmdt(q));
    R("shmdt(q) again", shmdt(q));
    printf("nattch after one shmdt (p is in two pieces): %lu\n", (unsigned long)stat_of(id).shm_nattch);
    CHECK(stat_of(id).shm_dtime != 0, "detach time set");
    R("munmap(middle page of p)", munmap(p + page, page));
    printf("nattch after munmap of p's middle page: %lu\n", (unsigned long)stat_of(id).shm_nattch);
    R("shmdt(p): its last page goes too", shmdt(p));
    CHECK(stat_of(id).shm_nattch == 0, "nattch 0");
    CHECK(in_maps("/SYSV00000000") == 0, "no attachment left in /proc/self/maps");

    /* attach addresses */
    char *hint = mmap(NULL, 4 * page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    R("shmat(unaligned addr)", (long)shmat(id, hint + 10, 0));
    R("shmat(NULL, SHM_REMAP)", (long)shmat(id, NULL, SHM_REMAP));
    R("shmat(over a mapping)", (long)shmat(id, hint, 0));
    char *r = shmat(id, hint + 10, SHM_RND | SHM_REMAP);
    CHECK(r == hint, "SHM_RND|SHM_REMAP rounds down and replaces the mapping");
    CHECK(strcmp(r, "written through p") == 0, "the segment kept its bytes while nothing was attached");
    /* mremap moves an attachment; it stays the segment */
    char *s2 = shmat(id, NULL, 0);
    char *moved = mremap(r, 3 * page, 3 * page, MREMAP_MAYMOVE | MREMAP_FIXED, hint + 4 * page + 16 * page);
    CHECK(moved != MAP_FAILED, "mremap an attachment elsewhere");
    moved[1] = 'M';
    CHECK(s2[1] == 'M', "the moved attachment still shares the segment's bytes");
    CHECK(stat_of(id).shm_nattch == 2, "nattch 2 after the move");
    R("shmdt(moved)", shmdt(moved));
    R("shmdt(s2)", shmdt(s2));

    /* keys */
    int k = shmget(key, page, IPC_CREAT | IPC_EXCL | 0640);
    CHECK(k >= 0 && k != id, "shmget(key, IPC_CREAT|IPC_EXCL) makes a new segment");
    CHECK(shmget(key, page, 0) == k, "shmget(key) finds it");
    CHECK(shmget(key, 10, 0) == k, "a smaller size finds it too");
    R("shmget(key, IPC_CREAT|IPC_EXCL) again", shmget(key, page, IPC_CREAT | IPC_EXCL | 0600));
    R("shmget(key, bigger size)", shmget(key, 2 * page, 0));
    R("shmget(other key, no IPC_CREAT)", shmget(key ^ 0x10000, page, 0));
    R("shmget(IPC_PRIVATE, 0)", shmget(IPC_PRIVATE, 0, 0600));
    R("shmget(IPC_PRIVATE, huge)", shmget(IPC_PRIVATE, (size_t)-1 / 2, 0600));
    R("shmget(SHM_HUGETLB, 1 MiB pages: no such size)", shmget(IPC_PRIVATE, page, SHM_HUGETLB | (20 << 26) | 0600));
    R("shmget(SHM_HUGETLB, all flag bits)", shmget(IPC_PRIVATE, page, -1));
    int huge; /* the host's pool decides, for both */
    R("shmget(SHM_HUGETLB, default size)", huge = shmget(IPC_PRIVATE, page, SHM_HUGETLB | 0600));
    if (huge >= 0) shmctl(huge, IPC_RMID, NULL);
    CHECK(stat_of(k).shm_perm.__key == key, "IPC_STAT shows the key");

    /* IPC_RMID while attached: the segment lives on, its key is gone */
    char *a = shmat(k, NULL, 0);
    CHECK(a != (void *)-1, "attach the keyed segment");
    a[0] = 'k';
    R("IPC_RMID while attached", shmctl(k, IPC_RMID, NULL));
    ds = stat_of(k);
    CHECK((ds.shm_perm.mode & 01000) && ds.shm_perm.__key == 0, "marked SHM_DEST, key now IPC_PRIVATE");
    R("shmget(removed key)", shmget(key, page, 0));
    CHECK(a[0] == 'k', "still readable after IPC_RMID");
    R("shmdt(last attachment)", shmdt(a));
    R("IPC_STAT after the last detach", shmctl(k, IPC_STAT, &ds));

    /* shmctl errors and info */
    R("shmctl(id, 999)", shmctl(id, 999, &ds));
    R("shmctl(-1, IPC_STAT)", shmctl(-1, IPC_STAT, &ds));
    R("shmctl(id, IPC_STAT, bad)", shmctl(id, IPC_STAT, guest_bad_ptr(8)));
    R("shmctl(id, IPC_SET, bad)", shmctl(id, IPC_SET, guest_bad_ptr(8)));
    R("shmat(no such id)", (long)shmat(id + (1 << 20), NULL, 0));
    ds = stat_of(id);
    ds.shm_perm.mode = 0400;
    R("IPC_SET mode 0400", shmctl(id, IPC_SET, &ds));
    CHECK((stat_of(id).shm_perm.mode & 0777) == 0400, "mode is 0400");
    struct shminfo info;
    long hi = shmctl(0, IPC_INFO, (struct shmid_ds *)&info);
    CHECK(hi >= 0 && info.shmmin == 1 && info.shmmni > 0 && info.shmmax > 0, "IPC_INFO");
    struct shm_info sinfo;
    CHECK(shmctl(0, SHM_INFO, (struct shmid_ds *)&sinfo) >= 0 && sinfo.used_ids >= 1, "SHM_INFO counts our segment");
    CHECK(shmctl(id % 32768, SHM_STAT, &ds) == id, "SHM_STAT by index returns the id");
    R("IPC_RMID", shmctl(id, IPC_RMID, NULL));
    R("shmat(removed id)", (long)shmat(id, NULL, 0));

    /* A fork's child knows the segments by id (created before the fork): it attaches one by its
     * id, stats it and writes through it; the parent reads what it wrote. One created but never
     * attached before the fork too, and the child removes that one. */
    int fid = shmget(IPC_PRIVATE, page, IPC_CREAT | 0600), spare_id = shmget(IPC_PRIVATE, 2 * page, IPC_CREAT | 0600);
    CHECK(fid >= 0 && spare_id >= 0, "two segments before the fork");
    volatile int *mine = shmat(fid, NULL, 0);
    CHECK(mine != (void *)-1, "the parent attaches one");
    mine[0] = 11;
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        volatile int *theirs = shmat(fid, NULL, 0);
        struct shmid_ds cds, sds;
        int ok = theirs != (void *)-1 && theirs[0] == 11 && shmctl(fid, IPC_STAT, &cds) == 0
                 && cds.shm_segsz == (size_t) page && shmctl(spare_id, IPC_STAT, &sds) == 0
                 && sds.shm_segsz == (size_t) 2 * page && shmctl(spare_id, IPC_RMID, NULL) == 0;
        if (ok) theirs[0] = 22;
        _exit(ok ? 0 : 1);
    }
    int st = -1;
    CHECK(child > 0 && waitpid(child, &st, 0) == child && WIFEXITED(st) && WEXITSTATUS(st) == 0,
          "the child attached, stated and removed by id");
    CHECK(mine[0] == 22, "the parent reads what the child wrote through its own attachment");
    shmdt((void *) mine);
    shmctl(fid, IPC_RMID, NULL);
    shmctl(spare_id, IPC_RMID, NULL); /* removed by the child natively: EINVAL there, a no-op here */
    return guest_done();
}
