/*
 * Confinement probe: run under `herd run --rootfs ROOT` (ConfinementTest), it tries every way out
 * of the root it knows against a directory OUT outside the root, whose host path it is given:
 * OUT/secret holds "SECRET-OUTSIDE\n", OUT/sock is a listening AF_UNIX socket, OUT/evil and OUT/ld.so are
 * programs that print "ESCAPED" when they run. Each probe prints one line, "NAME: blocked ..." or
 * "NAME: ESCAPED ..."; the test fails on any ESCAPED line and checks the host side itself (no file
 * created in OUT, no secret in the output).
 *
 *   confine OUT            every probe in this process
 *   confine OUT envprobe   (re-executed by the execve-environment probe) prints what it got
 *   confine OUT exec PATH  execve(PATH) (a program whose PT_INTERP points out of the root)
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <stdint.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

static const char *out;      /* host path of OUT */
static char root_host[4096]; /* host path of the root: OUT's sibling "root" */
static int escaped;

static void verdict(const char *name, int escaped_now, const char *detail) {
    printf("%s: %s%s%s\n", name, escaped_now ? "ESCAPED" : "blocked", detail[0] ? " " : "", detail);
    if (escaped_now) escaped = 1;
}

/* True if fd reads the outside secret. */
static int reads_secret(int fd) {
    char buf[64] = {0};
    ssize_t n = read(fd, buf, sizeof buf - 1);
    return n > 0 && strstr(buf, "SECRET") != NULL;
}

/* Opens path (relative to dirfd) and reports whether it reached the secret. */
static void probe_open(const char *name, int dirfd, const char *path, int flags) {
    int fd = openat(dirfd, path, flags);
    if (fd < 0) {
        verdict(name, 0, strerror(errno));
        return;
    }
    if (flags & O_PATH) {
        /* Re-open the O_PATH fd through /proc/self/fd, as an attacker would. */
        char p[64];
        snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
        int fd2 = open(p, O_RDONLY);
        verdict(name, fd2 >= 0 && reads_secret(fd2), fd2 >= 0 ? "(opened something inside)" : strerror(errno));
        if (fd2 >= 0) close(fd2);
    } else {
        verdict(name, reads_secret(fd), "(opened something inside)");
    }
    close(fd);
}

/* openat2 with RESOLVE_* flags: the same, for the lookups Herd builds on its confined one. */
static void probe_openat2(const char *name, int dirfd, const char *path, uint64_t flags, uint64_t resolve) {
    struct open_how how = {.flags = flags, .mode = (flags & O_CREAT) ? 0644 : 0, .resolve = resolve};
    int fd = (int)syscall(SYS_openat2, dirfd, path, &how, sizeof how);
    if (fd < 0) {
        verdict(name, 0, strerror(errno));
        return;
    }
    verdict(name, reads_secret(fd), "(opened something inside)");
    close(fd);
}

static void openat2_probes(void) {
    char p[8192], dots[512] = "";
    for (int i = 0; i < 40; i++) strcat(dots, "/..");
    int rootfd = open("/", O_RDONLY | O_DIRECTORY);
    static const struct { const char *name; uint64_t resolve; } modes[] = {
        {"NO_XDEV", RESOLVE_NO_XDEV}, {"NO_SYMLINKS", RESOLVE_NO_SYMLINKS}, {"NO_MAGICLINKS", RESOLVE_NO_MAGICLINKS},
        {"IN_ROOT", RESOLVE_IN_ROOT}, {"BENEATH", RESOLVE_BENEATH}, {"CACHED", RESOLVE_CACHED},
    };
    char name[256];
    for (unsigned m = 0; m < sizeof modes / sizeof *modes; m++) {
        snprintf(p, sizeof p, "%s/secret", out);
        snprintf(name, sizeof name, "openat2 %s absolute host path", modes[m].name);
        probe_openat2(name, AT_FDCWD, p, O_RDONLY, modes[m].resolve);
        snprintf(p, sizeof p, "%s%s/secret", dots, out);
        snprintf(name, sizeof name, "openat2 %s dot-dot from /", modes[m].name);
        probe_openat2(name, rootfd, p, O_RDONLY, modes[m].resolve);
        snprintf(p, sizeof p, "..%s%s/secret", dots, out);
        snprintf(name, sizeof name, "openat2 %s dot-dot from a root dirfd", modes[m].name);
        probe_openat2(name, rootfd, p, O_RDONLY, modes[m].resolve);
        snprintf(name, sizeof name, "openat2 %s dot-dot from the cwd", modes[m].name);
        probe_openat2(name, AT_FDCWD, p, O_RDONLY, modes[m].resolve);
        snprintf(name, sizeof name, "openat2 %s absolute symlink, relative", modes[m].name);
        probe_openat2(name, rootfd, "lnk_abs", O_RDONLY, modes[m].resolve);
        snprintf(name, sizeof name, "openat2 %s relative symlink, relative", modes[m].name);
        probe_openat2(name, rootfd, "lnk_rel", O_RDONLY, modes[m].resolve);
        snprintf(p, sizeof p, "lnk_root/..%s%s/secret", dots, out);
        snprintf(name, sizeof name, "openat2 %s symlink to / then ..", modes[m].name);
        probe_openat2(name, rootfd, p, O_RDONLY, modes[m].resolve);
        snprintf(p, sizeof p, "/proc/self/root%s/secret", out);
        snprintf(name, sizeof name, "openat2 %s /proc/self/root", modes[m].name);
        probe_openat2(name, AT_FDCWD, p, O_RDONLY, modes[m].resolve);
        snprintf(p, sizeof p, "/proc/self/fd/%d%s%s/secret", rootfd, dots, out);
        snprintf(name, sizeof name, "openat2 %s /proc/self/fd/N/..", modes[m].name);
        probe_openat2(name, AT_FDCWD, p, O_RDONLY, modes[m].resolve);
        snprintf(p, sizeof p, "..%s%s/pwned", dots, out);
        snprintf(name, sizeof name, "openat2 %s creat(../../OUT/pwned)", modes[m].name);
        probe_openat2(name, rootfd, p, O_WRONLY | O_CREAT, modes[m].resolve & ~(uint64_t)RESOLVE_CACHED);
    }
    close(rootfd);
}

/* chroot into a directory of the root, then the ways out of a chroot (which Linux allows) must
 * still end inside the root. Without CAP_SYS_CHROOT: EPERM, one line. */
static void chroot_probes(void) {
    char p[8192], dots[512] = "";
    for (int i = 0; i < 40; i++) strcat(dots, "/..");
    mkdir("/jail", 0755);
    mkdir("/jail/inner", 0755);
    int outer = open("/", O_RDONLY | O_DIRECTORY), cwd = open(".", O_RDONLY | O_DIRECTORY);
    if (chroot("/jail") != 0) {
        verdict("chroot(/jail)", 0, strerror(errno));
        close(outer);
        close(cwd);
        return;
    }
    snprintf(p, sizeof p, "..%s%s/secret", dots, out);
    probe_open("chroot: dot-dot from a cwd left outside", AT_FDCWD, p, O_RDONLY);
    snprintf(p, sizeof p, "%s%s/secret", dots, out);
    probe_open("chroot: dot-dot from the new /", AT_FDCWD, p, O_RDONLY);
    snprintf(p, sizeof p, "..%s%s/secret", dots, out);
    probe_open("chroot: openat from an fd of before", outer, p, O_RDONLY);
    probe_openat2("chroot: openat2 NO_XDEV from an fd of before", outer, p, O_RDONLY, RESOLVE_NO_XDEV);
    probe_openat2("chroot: openat2 IN_ROOT from an fd of before", outer, p, O_RDONLY, RESOLVE_IN_ROOT);
    (void)chroot("/inner"); /* nested, then back out through the fd */
    (void)!fchdir(outer);
    for (int i = 0; i < 40; i++) (void)!chdir("..");
    int r = chroot(".");
    snprintf(p, sizeof p, "%s/secret", out);
    probe_open(r == 0 ? "chroot: fchdir, chdir .. forty times, chroot ." : "chroot: fchdir (chroot . refused)",
               AT_FDCWD, p, O_RDONLY);
    snprintf(p, sizeof p, "%s%s/secret", dots, out);
    probe_open("chroot: dot-dot after the way out", AT_FDCWD, p, O_RDONLY);
    /* the root the guest started with, again */
    (void)!fchdir(outer);
    (void)chroot(".");
    (void)!fchdir(cwd);
    close(outer);
    close(cwd);
}

static void path_probes(void) {
    char p[8192];
    snprintf(p, sizeof p, "%s/secret", out);
    probe_open("absolute host path", AT_FDCWD, p, O_RDONLY);
    probe_open("absolute host path, O_PATH", AT_FDCWD, p, O_PATH);

    char dots[512] = "";
    for (int i = 0; i < 40; i++) strcat(dots, "/..");
    snprintf(p, sizeof p, "%s%s/secret", dots, out);
    probe_open("dot-dot from /", AT_FDCWD, p, O_RDONLY);
    snprintf(p, sizeof p, "..%s%s/secret", dots, out);
    probe_open("dot-dot relative", AT_FDCWD, p, O_RDONLY);

    int rootfd = open("/", O_RDONLY | O_DIRECTORY);
    snprintf(p, sizeof p, "..%s%s/secret", dots, out);
    probe_open("openat from a root dirfd", rootfd, p, O_RDONLY);

    for (int i = 0; i < 40; i++) (void)chdir("..");
    snprintf(p, sizeof p, ".%s/secret", out);
    probe_open("chdir .. forty times", AT_FDCWD, p, O_RDONLY);
    (void)fchdir(rootfd);

    snprintf(p, sizeof p, "/proc/self/root%s/secret", out);
    probe_open("/proc/self/root", AT_FDCWD, p, O_RDONLY);
    snprintf(p, sizeof p, "/proc/self/root/..%s%s/secret", dots, out);
    probe_open("/proc/self/root/..", AT_FDCWD, p, O_RDONLY);
    snprintf(p, sizeof p, "/proc/self/cwd%s%s/secret", dots, out);
    probe_open("/proc/self/cwd/..", AT_FDCWD, p, O_RDONLY);
    snprintf(p, sizeof p, "/proc/self/fd/%d%s%s/secret", rootfd, dots, out);
    probe_open("/proc/self/fd/N/..", AT_FDCWD, p, O_RDONLY);
    snprintf(p, sizeof p, "/proc/%d/root%s%s/secret", getpid(), dots, out);
    probe_open("/proc/PID/root/..", AT_FDCWD, p, O_RDONLY);
    snprintf(p, sizeof p, "/proc/1/root%s/secret", out);
    probe_open("/proc/1/root", AT_FDCWD, p, O_RDONLY);

    /* Symlinks made by the guest: absolute and relative targets, and a link to "/" used as a dir. */
    snprintf(p, sizeof p, "%s/secret", out);
    unlink("/lnk_abs");
    if (symlink(p, "/lnk_abs") == 0) probe_open("absolute symlink", AT_FDCWD, "/lnk_abs", O_RDONLY);
    else verdict("absolute symlink", 0, strerror(errno));
    snprintf(p, sizeof p, "..%s%s/secret", dots, out);
    unlink("/lnk_rel");
    if (symlink(p, "/lnk_rel") == 0) probe_open("relative symlink", AT_FDCWD, "/lnk_rel", O_RDONLY);
    else verdict("relative symlink", 0, strerror(errno));
    unlink("/lnk_root");
    if (symlink("/", "/lnk_root") == 0) {
        snprintf(p, sizeof p, "/lnk_root/..%s%s/secret", dots, out);
        probe_open("symlink to / then ..", AT_FDCWD, p, O_RDONLY);
    }
    snprintf(p, sizeof p, "/lnk_abs");
    probe_open("absolute symlink, O_PATH|O_NOFOLLOW", AT_FDCWD, p, O_PATH | O_NOFOLLOW);

    /* Names that write: link, rename, symlink, mkdir, creat with host paths as sources or targets. */
    snprintf(p, sizeof p, "%s/secret", out);
    int r = link(p, "/hard");
    verdict("link(outside, inside)", r == 0, r == 0 ? "" : strerror(errno));
    r = rename(p, "/stolen");
    verdict("rename(outside, inside)", r == 0, r == 0 ? "" : strerror(errno));
    char q[8192];
    snprintf(q, sizeof q, "%s%s/pwned", dots, out);
    int fd = open(q, O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd >= 0) close(fd);
    /* Created, if at all, inside the root (ConfinementTest checks OUT/pwned does not exist). */
    verdict("creat(../../OUT/pwned)", 0, fd >= 0 ? "(created inside the root)" : strerror(errno));
    snprintf(q, sizeof q, "%s%s/pwned-dir", dots, out);
    r = mkdir(q, 0755);
    verdict("mkdir(../../OUT/pwned-dir)", 0, r == 0 ? "(created inside the root)" : strerror(errno));
    snprintf(q, sizeof q, "%s/pwned-link", out);
    r = symlink("/etc/passwd", q);
    verdict("symlink(x, OUT/pwned-link)", 0, r == 0 ? "(created inside the root)" : strerror(errno));
    close(rootfd);
}

static void leak_probes(void) {
    char buf[4096];
    const char *links[] = {"/proc/self/exe", "/proc/self/cwd", "/proc/self/root", "/proc/self/fd/0"};
    for (unsigned i = 0; i < sizeof links / sizeof *links; i++) {
        ssize_t n = readlink(links[i], buf, sizeof buf - 1);
        buf[n < 0 ? 0 : n] = 0;
        char name[64];
        snprintf(name, sizeof name, "readlink %s", links[i]);
        verdict(name, n > 0 && strstr(buf, root_host) != NULL, buf);
    }
    char *cwd = getcwd(buf, sizeof buf);
    verdict("getcwd", cwd && strstr(cwd, root_host) != NULL, cwd ? cwd : strerror(errno));
}

static void socket_probes(void) {
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof a.sun_path, "%s/sock", out);
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    int r = connect(s, (struct sockaddr *)&a, sizeof a);
    verdict("connect(OUT/sock)", r == 0, r == 0 ? "" : strerror(errno));
    close(s);
    char dots[256] = "";
    for (int i = 0; i < 20; i++) strcat(dots, "/..");
    snprintf(a.sun_path, sizeof a.sun_path, "%s%s/sock", dots, out);
    s = socket(AF_UNIX, SOCK_STREAM, 0);
    r = connect(s, (struct sockaddr *)&a, sizeof a);
    verdict("connect(../../OUT/sock)", r == 0, r == 0 ? "" : strerror(errno));
    close(s);
    snprintf(a.sun_path, sizeof a.sun_path, "%s/pwned-sock", out);
    s = socket(AF_UNIX, SOCK_DGRAM, 0);
    r = bind(s, (struct sockaddr *)&a, sizeof a);
    /* A bind can only create the name inside the root (ConfinementTest checks OUT/pwned-sock). */
    verdict("bind(OUT/pwned-sock)", 0, r == 0 ? "(bound inside the root)" : strerror(errno));
    close(s);
}

/* A thread swaps a directory and a symlink pointing outside while the main thread opens through it. */
static atomic_int racing;
static void *swapper(void *arg) {
    while (atomic_load(&racing)) syscall(SYS_renameat2, AT_FDCWD, "/race_a", AT_FDCWD, "/race_b", 2 /* EXCHANGE */);
    return NULL;
}

static void race_probe(void) {
    char p[4096];
    mkdir("/race_a", 0755);
    int fd = open("/race_a/secret", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
        (void)!write(fd, "inside\n", 7);
        close(fd);
    }
    unlink("/race_b");
    if (symlink(out, "/race_b") != 0) {
        verdict("symlink swap race", 0, strerror(errno));
        return;
    }
    atomic_store(&racing, 1);
    pthread_t t;
    pthread_create(&t, NULL, swapper, NULL);
    int hits = 0, opened = 0;
    for (int i = 0; i < 20000; i++) {
        const char *via = (i & 1) ? "/race_a/secret" : "/race_b/secret";
        int f = open(via, O_RDONLY);
        if (f >= 0) {
            opened++;
            if (reads_secret(f)) hits++;
            close(f);
        }
        struct stat st; /* the secret is 15 bytes, the inside file 7 */
        if (stat(via, &st) == 0 && st.st_size == 15) hits++;
    }
    atomic_store(&racing, 0);
    pthread_join(t, NULL);
    snprintf(p, sizeof p, "(%d opens inside, %d reached the secret)", opened, hits);
    verdict("symlink swap race", hits > 0, p);
}

static void exec_probe(const char *name, const char *path) {
    char *argv[] = {(char *)path, NULL};
    char *envp[] = {NULL};
    execve(path, argv, envp);
    verdict(name, 0, strerror(errno)); /* still here: refused */
}

static void exec_probes(void) {
    char p[4096];
    snprintf(p, sizeof p, "%s/evil", out);
    exec_probe("execve(OUT/evil)", p);
    snprintf(p, sizeof p, "/proc/self/root%s/evil", out);
    exec_probe("execve(/proc/self/root/OUT/evil)", p);
    exec_probe("execve(/usr/bin/id) of the host", "/usr/bin/id");
    /* A #! script inside the root whose interpreter is outside. */
    int fd = open("/script", O_WRONLY | O_CREAT | O_TRUNC, 0755);
    if (fd >= 0) {
        dprintf(fd, "#!%s/evil\n", out);
        close(fd);
        exec_probe("#! script with an outside interpreter", "/script");
    }
    fd = open("/script2", O_WRONLY | O_CREAT | O_TRUNC, 0755);
    if (fd >= 0) {
        dprintf(fd, "#!/../../../../../../../../../..%s/evil\n", out);
        close(fd);
        exec_probe("#! script with a dot-dot interpreter", "/script2");
    }
}

/* Re-executes itself with an environment aimed at the JVM that would run the new image. */
static void env_probe(void) {
    char flags[4096], xlog[4096];
    snprintf(flags, sizeof flags, "JAVA_TOOL_OPTIONS=-XX:Flags=%s/secret -Xlog:os=info:file=%s/pwned-xlog", out, out);
    snprintf(xlog, sizeof xlog, "JDK_JAVA_OPTIONS=-Xlog:os=info:file=%s/pwned-xlog2", out);
    char *envp[] = {"LD_PRELOAD=./libconfine_preload.so", flags, xlog,
                    "_JAVA_OPTIONS=-XX:+PrintFlagsFinal", "HERD_PROBE=1", NULL};
    char *argv[] = {"/confine", (char *)out, "envprobe", NULL};
    fflush(stdout);
    execve("/confine", argv, envp);
    verdict("execve environment", 1, strerror(errno)); /* the exec itself must work */
}

static void print_env(char **envp) {
    /* The new image gets the guest's environment unchanged, and only it. */
    int n = 0;
    for (char **e = envp; *e; e++, n++) printf("env: %s\n", *e);
    printf("env count: %d\n", n);
}

int main(int argc, char **argv, char **envp) {
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc < 2) {
        fprintf(stderr, "usage: confine OUT [envprobe | exec PATH]\n");
        return 2;
    }
    out = argv[1];
    snprintf(root_host, sizeof root_host, "%.*s/root", (int)(strrchr(out, '/') - out), out);
    if (argc >= 3 && strcmp(argv[2], "envprobe") == 0) {
        print_env(envp);
        return 0;
    }
    if (argc >= 4 && strcmp(argv[2], "exec") == 0) {
        exec_probe("execve of a program with an outside PT_INTERP", argv[3]);
        return 1;
    }
    path_probes();
    openat2_probes();
    chroot_probes();
    leak_probes();
    socket_probes();
    race_probe();
    exec_probes();
    printf("escaped: %d\n", escaped);
    env_probe();
    return 1;
}
