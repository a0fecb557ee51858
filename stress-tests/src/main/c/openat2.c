/* openat2 and chroot: the open_how checks (size, trailing bytes, flags, mode, resolve bits), each
 * RESOLVE_* flag on a small tree in a scratch directory (a file, a subdirectory, a relative
 * symlink, an absolute one, symlinks leading above the directory, a magic link), then chroot into
 * the scratch directory: "/" is that directory, ".." at the root stays there, and an fd opened
 * before the chroot leads back out (as on Linux); execve in a chroot finds the program there and
 * the new image keeps the root. Without CAP_SYS_CHROOT, chroot is EPERM. Every
 * line is the same natively and under Herd; nothing printed names the random scratch path. */
#include "guest.h"
#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static char dir[64];  /* the scratch directory */
static int dfd = -1;  /* an fd of it */

static long o2size(int at, const char *path, uint64_t flags, uint64_t mode, uint64_t resolve, size_t size) {
    char buf[64] = {0};
    struct open_how how = {.flags = flags, .mode = mode, .resolve = resolve};
    memcpy(buf, &how, sizeof how);
    return syscall(SYS_openat2, at, path, buf, size);
}

static long o2(int at, const char *path, uint64_t flags, uint64_t mode, uint64_t resolve) {
    struct open_how how = {.flags = flags, .mode = mode, .resolve = resolve};
    return syscall(SYS_openat2, at, path, &how, sizeof how);
}

/* One line: what an open returned. A file: "reg" and its first line; a directory: "dir"; a
 * symlink (O_PATH|O_NOFOLLOW): "lnk"; an error: its name. The fd is closed. */
static void show(const char *what, long fd) {
    if (fd < 0) {
        printf("%s: %s\n", what, strerrorname_np(errno));
        return;
    }
    struct stat st;
    if (fstat((int)fd, &st) != 0) {
        printf("%s: fstat %s\n", what, strerrorname_np(errno));
    } else if (S_ISREG(st.st_mode)) {
        char buf[32] = {0};
        ssize_t n = read((int)fd, buf, sizeof buf - 1);
        if (n < 0) {
            printf("%s: reg (read %s)\n", what, strerrorname_np(errno));
        } else {
            char *nl = strchr(buf, '\n');
            if (nl) *nl = 0;
            printf("%s: reg \"%s\"\n", what, buf);
        }
    } else {
        printf("%s: %s\n", what, S_ISDIR(st.st_mode) ? "dir" : S_ISLNK(st.st_mode) ? "lnk" : "other");
    }
    close((int)fd);
}

/* RESOLVE_CACHED may answer EAGAIN when the lookup is not in the dcache: both are fine. */
static void show_cached(const char *what, long fd) {
    if (fd < 0 && errno == EAGAIN) {
        printf("%s: reg-or-EAGAIN\n", what);
        return;
    }
    if (fd >= 0) {
        close((int)fd);
        printf("%s: reg-or-EAGAIN\n", what);
        return;
    }
    printf("%s: %s\n", what, strerrorname_np(errno));
}

static void put(const char *name, const char *text) {
    int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0, "create %s", name);
    if (fd >= 0) {
        CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text), "write %s", name);
        close(fd);
    }
}

static void build_tree(void) {
    char p[256];
    put("file", "inside\n");
    CHECK(mkdirat(dfd, "sub", 0755) == 0, "mkdir sub");
    put("sub/f2", "sub\n");
    CHECK(symlinkat("sub/f2", dfd, "rel") == 0, "symlink rel -> sub/f2");
    snprintf(p, sizeof p, "%s/file", dir);
    CHECK(symlinkat(p, dfd, "abs") == 0, "symlink abs -> DIR/file");
    CHECK(symlinkat("../file", dfd, "sub/up") == 0, "symlink sub/up -> ../file");
    const char *base = strrchr(dir, '/') + 1;
    snprintf(p, sizeof p, "../%s/file", base);
    CHECK(symlinkat(p, dfd, "above") == 0, "symlink above -> ../DIRNAME/file");
    CHECK(symlinkat("../../../../../..", dfd, "toroot") == 0, "symlink toroot -> ../../..");
    CHECK(symlinkat("sub", dfd, "sublink") == 0, "symlink sublink -> sub");
    CHECK(mkdirat(dfd, "locked", 0) == 0, "mkdir locked (mode 0)");
}

static void how_checks(void) {
    char big[8192] = {0};
    struct open_how *h = (struct open_how *)big;
    h->flags = O_RDONLY;
    show("size 23", o2size(dfd, "file", O_RDONLY, 0, 0, 23));
    show("size 24", o2size(dfd, "file", O_RDONLY, 0, 0, 24));
    show("size 32, zero tail", o2size(dfd, "file", O_RDONLY, 0, 0, 32));
    char buf[40] = {0};
    struct open_how how = {.flags = O_RDONLY};
    memcpy(buf, &how, sizeof how);
    buf[30] = 1;
    show("size 32, non-zero tail", syscall(SYS_openat2, dfd, "file", buf, 32));
    show("size 4096, zero tail", syscall(SYS_openat2, dfd, "file", big, 4096));
    show("size 4097", syscall(SYS_openat2, dfd, "file", big, 4097));
    big[4000] = 1;
    show("size 4096, non-zero at 4000", syscall(SYS_openat2, dfd, "file", big, 4096));
    show("how NULL", syscall(SYS_openat2, dfd, "file", NULL, sizeof how));
    show("how bad pointer", syscall(SYS_openat2, dfd, "file", guest_bad_ptr(16), sizeof how));
    show("path bad pointer", o2(dfd, guest_bad_ptr(16), O_RDONLY, 0, 0));
    show("path bad pointer, bad flags", o2(dfd, guest_bad_ptr(16), 1ULL << 40, 0, 0));
    show("flags bit 40", o2(dfd, "file", O_RDONLY | (1ULL << 40), 0, 0));
    show("flags bit 31", o2(dfd, "file", O_RDONLY | (1ULL << 31), 0, 0));
    show("flags O_CLOEXEC", o2(dfd, "file", O_RDONLY | O_CLOEXEC, 0, 0));
    show("resolve 0x40", o2(dfd, "file", O_RDONLY, 0, 0x40));
    show("resolve bit 63", o2(dfd, "file", O_RDONLY, 0, 1ULL << 63));
    show("BENEATH|IN_ROOT", o2(dfd, "file", O_RDONLY, 0, RESOLVE_BENEATH | RESOLVE_IN_ROOT));
    show("mode without O_CREAT", o2(dfd, "file", O_RDONLY, 0644, 0));
    show("mode 010000 with O_CREAT", o2(dfd, "new", O_RDWR | O_CREAT, 010000, 0));
    show("mode bit 40 with O_CREAT", o2(dfd, "new", O_RDWR | O_CREAT, 1ULL << 40, 0));
    show("O_PATH|O_RDWR", o2(dfd, "file", O_PATH | O_RDWR, 0, 0));
    show("O_PATH|O_NOFOLLOW on a symlink", o2(dfd, "rel", O_PATH | O_NOFOLLOW, 0, 0));
    show("O_TMPFILE read-only", o2(dfd, "sub", O_TMPFILE | O_RDONLY, 0600, 0));
    show("O_TMPFILE|O_CREAT", o2(dfd, "sub", O_TMPFILE | O_CREAT | O_RDWR, 0600, 0));
    show("O_DIRECTORY on a file", o2(dfd, "file", O_DIRECTORY, 0, 0));
    show("missing", o2(dfd, "nope", O_RDONLY, 0, 0));
    show("empty path", o2(dfd, "", O_RDONLY, 0, 0));
    show("bad dirfd", o2(1000, "file", O_RDONLY, 0, 0));
    show("bad dirfd, BENEATH", o2(1000, "file", O_RDONLY, 0, RESOLVE_BENEATH));
    show("bad dirfd, absolute, BENEATH", o2(1000, "/file", O_RDONLY, 0, RESOLVE_BENEATH));
    show("bad dirfd, absolute, IN_ROOT", o2(1000, "/file", O_RDONLY, 0, RESOLVE_IN_ROOT));
    int f = openat(dfd, "file", O_RDONLY);
    show("dirfd is a file, BENEATH", o2(f, "x", O_RDONLY, 0, RESOLVE_BENEATH));
    show("dirfd is a file, IN_ROOT", o2(f, "x", O_RDONLY, 0, RESOLVE_IN_ROOT));
    show("dirfd is a file, NO_XDEV", o2(f, "x", O_RDONLY, 0, RESOLVE_NO_XDEV));
    close(f);
    int pp[2];
    CHECK(pipe(pp) == 0, "pipe");
    show("dirfd is a pipe, BENEATH", o2(pp[0], "x", O_RDONLY, 0, RESOLVE_BENEATH));
    show("dirfd is a pipe, NO_SYMLINKS", o2(pp[0], "x", O_RDONLY, 0, RESOLVE_NO_SYMLINKS));
    close(pp[0]);
    close(pp[1]);

    /* O_CREAT with a mode (umask 022) under RESOLVE_BENEATH; O_EXCL on it again */
    umask(022);
    long fd = o2(dfd, "sub/new", O_RDWR | O_CREAT | O_EXCL, 0666, RESOLVE_BENEATH);
    struct stat st;
    CHECK(fd >= 0 && fstat((int)fd, &st) == 0 && (st.st_mode & 07777) == 0644, "O_CREAT 0666 under umask 022 is 0644");
    if (fd >= 0) close((int)fd);
    show("O_CREAT|O_EXCL again", o2(dfd, "sub/new", O_RDWR | O_CREAT | O_EXCL, 0666, RESOLVE_BENEATH));
    show("O_CREAT through ../ under BENEATH", o2(dfd, "../x-openat2-new", O_RDWR | O_CREAT, 0644, RESOLVE_BENEATH));
    fd = o2(dfd, "sub", O_TMPFILE | O_RDWR, 0600, RESOLVE_BENEATH);
    CHECK(fd >= 0 && fstat((int)fd, &st) == 0 && (st.st_mode & 07777) == 0600, "O_TMPFILE 0600 under BENEATH");
    if (fd >= 0) close((int)fd);
}

static void resolve_checks(void) {
    static const struct { const char *path; } paths[] = {
        {"file"}, {"sub/f2"}, {"sub/../file"}, {"rel"}, {"abs"}, {"sub/up"}, {"above"}, {"toroot"},
        {"sublink/f2"}, {"../"}, {"/file"}, {"/"}, {"../../../../file"}, {"sub/../../file"}, {"."},
    };
    static const struct { const char *name; uint64_t resolve; } modes[] = {
        {"plain", 0},
        {"NO_SYMLINKS", RESOLVE_NO_SYMLINKS},
        {"NO_MAGICLINKS", RESOLVE_NO_MAGICLINKS},
        {"NO_XDEV", RESOLVE_NO_XDEV},
        {"BENEATH", RESOLVE_BENEATH},
        {"IN_ROOT", RESOLVE_IN_ROOT},
        {"BENEATH|NO_SYMLINKS", RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS},
        {"IN_ROOT|NO_SYMLINKS", RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS},
    };
    char what[128];
    for (unsigned m = 0; m < sizeof modes / sizeof *modes; m++) {
        for (unsigned i = 0; i < sizeof paths / sizeof *paths; i++) {
            const char *p = paths[i].path;
            /* "/" and absolute paths without scoping name the real root: only the kind is stable */
            snprintf(what, sizeof what, "%s %s", modes[m].name, p);
            long fd = o2(dfd, p, O_RDONLY, 0, modes[m].resolve);
            if (p[0] == '/' && strcmp(p, "/file") != 0 && fd >= 0) {
                struct stat st;
                fstat((int)fd, &st);
                printf("%s: %s\n", what, S_ISDIR(st.st_mode) ? "dir" : "not a dir");
                close((int)fd);
            } else if (strcmp(p, "../") == 0 || strcmp(p, "toroot") == 0 || (p[0] == '/' && fd >= 0)) {
                /* outside the scratch directory: only whether it opened */
                printf("%s: %s\n", what, fd >= 0 ? "opened" : strerrorname_np(errno));
                if (fd >= 0) close((int)fd);
            } else {
                show(what, fd);
            }
        }
    }
    /* O_NOFOLLOW and O_PATH|O_NOFOLLOW on a final symlink, with NO_SYMLINKS */
    show("NO_SYMLINKS O_NOFOLLOW rel", o2(dfd, "rel", O_RDONLY | O_NOFOLLOW, 0, RESOLVE_NO_SYMLINKS));
    show("NO_SYMLINKS O_PATH|O_NOFOLLOW rel", o2(dfd, "rel", O_PATH | O_NOFOLLOW, 0, RESOLVE_NO_SYMLINKS));
    show("BENEATH O_PATH|O_NOFOLLOW abs", o2(dfd, "abs", O_PATH | O_NOFOLLOW, 0, RESOLVE_BENEATH));

    /* the magic link /proc/self/fd/N */
    int f = openat(dfd, "file", O_RDONLY);
    char p[64];
    snprintf(p, sizeof p, "/proc/self/fd/%d", f);
    show("magic link, plain", o2(AT_FDCWD, p, O_RDONLY, 0, 0));
    show("magic link, NO_MAGICLINKS", o2(AT_FDCWD, p, O_RDONLY, 0, RESOLVE_NO_MAGICLINKS));
    show("magic link, NO_SYMLINKS", o2(AT_FDCWD, p, O_RDONLY, 0, RESOLVE_NO_SYMLINKS));
    show("magic link, NO_XDEV", o2(AT_FDCWD, p, O_RDONLY, 0, RESOLVE_NO_XDEV));
    show("magic link, BENEATH", o2(dfd, p, O_RDONLY, 0, RESOLVE_BENEATH));
    show("magic link, IN_ROOT", o2(dfd, p, O_RDONLY, 0, RESOLVE_IN_ROOT));
    close(f);

    /* NO_XDEV: /proc is a mount of its own */
    printf("NO_XDEV /proc/self/status: %s\n",
           o2(AT_FDCWD, "/proc/self/status", O_RDONLY, 0, RESOLVE_NO_XDEV) >= 0 ? "opened" : strerrorname_np(errno));

    /* relative to the cwd */
    int here = open(".", O_RDONLY | O_DIRECTORY);
    CHECK(fchdir(dfd) == 0 || chdir(dir) == 0, "chdir to the scratch directory");
    show("cwd BENEATH file", o2(AT_FDCWD, "file", O_RDONLY, 0, RESOLVE_BENEATH));
    show("cwd BENEATH ../", o2(AT_FDCWD, "../", O_RDONLY, 0, RESOLVE_BENEATH));
    show("cwd IN_ROOT /file", o2(AT_FDCWD, "/file", O_RDONLY, 0, RESOLVE_IN_ROOT));
    show("cwd IN_ROOT ../../sub/f2", o2(AT_FDCWD, "../../sub/f2", O_RDONLY, 0, RESOLVE_IN_ROOT));
    show("cwd NO_XDEV rel", o2(AT_FDCWD, "rel", O_RDONLY, 0, RESOLVE_NO_XDEV));
    show("cwd NO_SYMLINKS rel", o2(AT_FDCWD, "rel", O_RDONLY, 0, RESOLVE_NO_SYMLINKS));
    int sub = openat(dfd, "sub", O_RDONLY | O_DIRECTORY);
    show("sub NO_XDEV ../file", o2(sub, "../file", O_RDONLY, 0, RESOLVE_NO_XDEV));
    show("sub BENEATH ../file", o2(sub, "../file", O_RDONLY, 0, RESOLVE_BENEATH));
    show("sub IN_ROOT ../file", o2(sub, "../file", O_RDONLY, 0, RESOLVE_IN_ROOT));
    show("sub IN_ROOT up", o2(sub, "up", O_RDONLY, 0, RESOLVE_IN_ROOT));
    close(sub);

    /* RESOLVE_CACHED: a cached lookup or EAGAIN; never for O_CREAT/O_TRUNC */
    show_cached("CACHED file", o2(dfd, "file", O_RDONLY, 0, RESOLVE_CACHED));
    show_cached("CACHED|BENEATH file", o2(dfd, "file", O_RDONLY, 0, RESOLVE_CACHED | RESOLVE_BENEATH));
    show("CACHED O_CREAT", o2(dfd, "file", O_RDWR | O_CREAT, 0644, RESOLVE_CACHED));
    show("CACHED O_TRUNC", o2(dfd, "file", O_RDWR | O_TRUNC, 0, RESOLVE_CACHED));
    CHECK(fchdir(here) == 0, "back to the first cwd");
    close(here);
}

static void list_root(const char *what, const char *path) {
    DIR *d = opendir(path);
    if (!d) {
        printf("%s: %s\n", what, strerrorname_np(errno));
        return;
    }
    char names[32][256];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 32) {
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) snprintf(names[n++], 256, "%s", e->d_name);
    }
    closedir(d);
    for (int i = 0; i < n; i++) {
        for (int j = i + 1; j < n; j++) {
            if (strcmp(names[j], names[i]) < 0) {
                char t[256];
                memcpy(t, names[i], 256);
                memcpy(names[i], names[j], 256);
                memcpy(names[j], t, 256);
            }
        }
    }
    printf("%s:", what);
    for (int i = 0; i < n; i++) printf(" %s", names[i]);
    printf("\n");
}

static void chroot_checks(void) {
    char p[256];
    errno = 0;
    printf("chroot bad pointer: %s\n", chroot(guest_bad_ptr(16)) == 0 ? "ok" : strerrorname_np(errno));
    snprintf(p, sizeof p, "%s/nope", dir);
    printf("chroot missing: %s\n", chroot(p) == 0 ? "ok" : strerrorname_np(errno));
    snprintf(p, sizeof p, "%s/file", dir);
    printf("chroot a file: %s\n", chroot(p) == 0 ? "ok" : strerrorname_np(errno));
    snprintf(p, sizeof p, "%s/file/x", dir);
    printf("chroot file/x: %s\n", chroot(p) == 0 ? "ok" : strerrorname_np(errno));

    int oldroot = open("/", O_RDONLY | O_DIRECTORY);
    int oldcwd = open(".", O_RDONLY | O_DIRECTORY);
    CHECK(oldroot >= 0 && oldcwd >= 0, "open / and . before chroot");
    if (chroot(dir) != 0) {
        /* without CAP_SYS_CHROOT: EPERM, after the lookup and permission checks */
        printf("chroot: %s\n", strerrorname_np(errno));
        snprintf(p, sizeof p, "%s/locked", dir);
        int r = chroot(p);
        printf("chroot locked (mode 0): %s\n", r == 0 ? "ok" : strerrorname_np(errno));
        close(oldroot);
        close(oldcwd);
        return;
    }
    printf("chroot: ok\n");
    list_root("ls /", "/");
    list_root("ls /..", "/..");
    list_root("ls /../../..", "/../../..");
    list_root("ls /sub/../..", "/sub/../..");
    struct stat a, b;
    CHECK(stat("/", &a) == 0 && stat("/..", &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev, ".. at the root is the root");
    show("open /file", open("/file", O_RDONLY));
    show("open /../../file", open("/../../file", O_RDONLY));
    show("open /abs (absolute symlink to the old path)", open("/abs", O_RDONLY));
    show("open /above", open("/above", O_RDONLY));
    show("open /rel", open("/rel", O_RDONLY));
    show("openat2 /file", o2(AT_FDCWD, "/file", O_RDONLY, 0, 0));
    show("openat2 NO_XDEV /sub/f2", o2(AT_FDCWD, "/sub/f2", O_RDONLY, 0, RESOLVE_NO_XDEV));
    show("openat2 BENEATH /file", o2(AT_FDCWD, "/file", O_RDONLY, 0, RESOLVE_BENEATH));
    CHECK(chdir("/") == 0, "chdir / in the chroot");
    char cwd[256];
    printf("getcwd: %s\n", getcwd(cwd, sizeof cwd) ? cwd : strerrorname_np(errno));
    show("openat2 BENEATH from cwd file", o2(AT_FDCWD, "file", O_RDONLY, 0, RESOLVE_BENEATH));
    show("openat2 IN_ROOT from cwd ../file", o2(AT_FDCWD, "../file", O_RDONLY, 0, RESOLVE_IN_ROOT));
    CHECK(chdir("sub") == 0, "chdir sub");
    printf("getcwd in sub: %s\n", getcwd(cwd, sizeof cwd) ? cwd : strerrorname_np(errno));
    show("open ../../../file from sub", open("../../../file", O_RDONLY));
    /* a nested chroot, relative to the cwd */
    printf("chroot . (sub): %s\n", chroot(".") == 0 ? "ok" : strerrorname_np(errno));
    list_root("ls / in sub", "/");
    show("open /f2", open("/f2", O_RDONLY));
    show("open /up (../file from the new root)", open("/up", O_RDONLY));

    /* The classic way out: an fd from before the chroot. Linux allows it; under Herd it never
     * leaves --rootfs. fchdir there, then make it the root again. */
    CHECK(fchdir(oldroot) == 0, "fchdir to the old root");
    CHECK(chroot(".") == 0, "chroot . back to the old root");
    CHECK(fchdir(oldcwd) == 0, "fchdir to the old cwd");
    struct stat o;
    CHECK(fstat(oldroot, &o) == 0 && stat("/", &a) == 0 && a.st_ino == o.st_ino && a.st_dev == o.st_dev, "the old root is / again");
    snprintf(p, sizeof p, "%s/file", dir);
    show("open DIR/file after the way back", open(p, O_RDONLY));
    /* chroot through the magic link of a directory fd */
    snprintf(p, sizeof p, "/proc/self/fd/%d", dfd);
    printf("chroot /proc/self/fd/N: %s\n", chroot(p) == 0 ? "ok" : strerrorname_np(errno));
    list_root("ls / after it", "/");
    CHECK(fchdir(oldroot) == 0 && chroot(".") == 0 && fchdir(oldcwd) == 0, "back to the old root again");
    close(oldroot);
    close(oldcwd);
}

/* A copy of this program inside the scratch directory, for the execve in the chroot. */
static int copy_self(void) {
    int in = open("/proc/self/exe", O_RDONLY), o = openat(dfd, "self", O_WRONLY | O_CREAT | O_TRUNC, 0755);
    char buf[65536];
    ssize_t n;
    int ok = in >= 0 && o >= 0;
    while (ok && (n = read(in, buf, sizeof buf)) > 0) ok = write(o, buf, n) == n;
    if (in >= 0) close(in);
    if (o >= 0) close(o);
    return ok;
}

/* execve("/self") inside the chroot; the new image (in_chroot) goes on from there. */
static void exec_in_chroot(void) {
    CHECK(copy_self(), "copy of this program in the scratch directory");
    int oldroot = open("/", O_RDONLY | O_DIRECTORY); /* inherited by the new image */
    if (chroot(dir) != 0) {
        printf("chroot for execve: %s\n", strerrorname_np(errno));
        close(oldroot);
        return;
    }
    CHECK(chdir("/") == 0, "chdir / before execve");
    char fdarg[16];
    snprintf(fdarg, sizeof fdarg, "%d", oldroot);
    char *argv[] = {"openat2", "in-chroot", fdarg, dir, NULL};
    execv("/self", argv);
    printf("execve /self in the chroot: %s\n", strerrorname_np(errno));
    CHECK(fchdir(oldroot) == 0 && chroot(".") == 0, "back to the old root");
    close(oldroot);
}

static void cleanup(void);

/* The new image after execve in the chroot: the root is still the scratch directory. */
static int in_chroot(int oldroot, const char *scratch) {
    snprintf(dir, sizeof dir, "%s", scratch);
    char cwd[256];
    printf("after execve: getcwd %s\n", getcwd(cwd, sizeof cwd) ? cwd : strerrorname_np(errno));
    list_root("after execve: ls /", "/");
    list_root("after execve: ls /..", "/..");
    show("after execve: open /file", open("/file", O_RDONLY));
    char link[256];
    ssize_t n = readlink("/proc/self/root", link, sizeof link - 1);
    /* natively the chroot has no /proc (ENOENT); Herd answers the link itself: "/" */
    if (n >= 0) link[n] = 0;
    printf("after execve: readlink /proc/self/root %s\n",
           (n < 0 && errno == ENOENT) || (n == 1 && link[0] == '/') ? "\"/\" or absent" : n < 0 ? strerrorname_np(errno) : link);
    CHECK(fchdir(oldroot) == 0 && chroot(".") == 0, "after execve: back to the old root");
    close(oldroot);
    dfd = open(dir, O_RDONLY | O_DIRECTORY);
    CHECK(dfd >= 0, "after execve: open the scratch directory");
    cleanup();
    return guest_done();
}

static void cleanup(void) {
    const char *files[] = {"sub/new", "sub/f2", "sub/up", "rel", "abs", "above", "toroot", "sublink", "file", "self"};
    for (unsigned i = 0; i < sizeof files / sizeof *files; i++) unlinkat(dfd, files[i], 0);
    unlinkat(dfd, "sub", AT_REMOVEDIR);
    unlinkat(dfd, "locked", AT_REMOVEDIR);
    CHECK(rmdir(dir) == 0, "scratch directory removed");
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc == 4 && strcmp(argv[1], "in-chroot") == 0) return in_chroot(atoi(argv[2]), argv[3]);
    snprintf(dir, sizeof dir, "/tmp/herd-openat2.XXXXXX");
    if (!mkdtemp(dir)) {
        printf("mkdtemp: %s\n", strerrorname_np(errno));
        return 1;
    }
    dfd = open(dir, O_RDONLY | O_DIRECTORY);
    CHECK(dfd >= 0, "open the scratch directory");
    build_tree();
    how_checks();
    resolve_checks();
    chroot_checks();
    exec_in_chroot();
    cleanup();
    return guest_done();
}
