/* proc_other: what a process reads of another process in /proc, as ps, pgrep and psutil do. The
 * parent forks a child that execs this program with its own argv and envp and waits; the parent
 * then reads the child's /proc/PID/cmdline, environ, comm, stat and status Name, finds it by
 * listing /proc (the way pgrep -f does), and the child reads its parent's cmdline and comm. */
#include "guest.h"
#include <dirent.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#define TOKEN "proc-other-token"

/* The file's bytes (at most cap - 1), NUL-terminated after them; -1 if it cannot be read. */
static ssize_t slurp(const char *path, char *buf, size_t cap) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) return -1;
    ssize_t n = 0, r;
    while (n < (ssize_t)cap - 1 && (r = read(fd, buf + n, cap - 1 - n)) > 0) n += r;
    close(fd);
    buf[n] = 0;
    return n;
}

static const char *base_name(const char *path) {
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static int same_bytes(const char *a, ssize_t n, const char *b, size_t m) {
    return n == (ssize_t)m && memcmp(a, b, m) == 0;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    char comm[16];
    snprintf(comm, sizeof comm, "%s", base_name(argv[0]));
    char path[320], buf[8192];
    if (argc > 1 && strcmp(argv[1], "child") == 0) {
        pid_t parent = getppid();
        snprintf(path, sizeof path, "/proc/%d/comm", parent);
        ssize_t n = slurp(path, buf, sizeof buf);
        int ok = n > 0 && strncmp(buf, comm, strlen(comm)) == 0 && buf[strlen(comm)] == '\n';
        snprintf(path, sizeof path, "/proc/%d/cmdline", parent);
        n = slurp(path, buf, sizeof buf);
        ok = ok && n > 0 && strcmp(buf, argv[0]) == 0 && n == (ssize_t)strlen(argv[0]) + 1;
        if (write(1, ok ? "parent ok\n" : "parent wrong\n", ok ? 10 : 13) < 0) return 3;
        char c;
        return read(0, &c, 1) == 1 ? 0 : 2; /* until the parent has looked */
    }
    int p[2];
    CHECK(pipe(p) == 0, "pipe");
    int out[2];
    CHECK(pipe(out) == 0, "pipe");
    pid_t pid = fork();
    if (pid == 0) {
        dup2(p[0], 0);
        dup2(out[1], 1);
        close(p[1]);
        close(out[0]);
        char *args[] = {argv[0], "child", "two words", TOKEN, NULL};
        char *env[] = {"PROC_OTHER=1", "SPACED=y z", NULL};
        execve(argv[0], args, env);
        _exit(127);
    }
    CHECK(pid > 0, "fork");
    close(p[0]);
    close(out[1]);
    char line[32] = "";
    ssize_t got = read(out[0], line, sizeof line - 1);
    CHECK(got > 0 && strcmp(line, "parent ok\n") == 0, "the child reads its parent's cmdline and comm (%s)", got > 0 ? line : "nothing");

    char want[256];
    size_t wn = (size_t)snprintf(want, sizeof want, "%s%cchild%ctwo words%c" TOKEN "%c", argv[0], 0, 0, 0, 0);
    snprintf(path, sizeof path, "/proc/%d/cmdline", pid);
    ssize_t n = slurp(path, buf, sizeof buf);
    CHECK(same_bytes(buf, n, want, wn), "the child's /proc/PID/cmdline is its argv (%zd bytes)", n);
    snprintf(path, sizeof path, "/proc/%d/environ", pid);
    n = slurp(path, buf, sizeof buf);
    CHECK(same_bytes(buf, n, "PROC_OTHER=1\0SPACED=y z\0", 24), "its environ is its envp (%zd bytes)", n);
    snprintf(path, sizeof path, "/proc/%d/comm", pid);
    n = slurp(path, buf, sizeof buf);
    CHECK(n == (ssize_t)strlen(comm) + 1 && strncmp(buf, comm, strlen(comm)) == 0, "its comm is the program's name (%s)", buf);
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    n = slurp(path, buf, sizeof buf);
    char named[40];
    snprintf(named, sizeof named, "%d (%s) ", pid, comm);
    int stat_ok = n > 0 && strncmp(buf, named, strlen(named)) == 0;
    if (!stat_ok) printf("stat: %.60s\n", buf); /* (pids and state vary: printed only when wrong) */
    CHECK(stat_ok, "its stat names it");
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    n = slurp(path, buf, sizeof buf);
    char name_line[40];
    snprintf(name_line, sizeof name_line, "Name:\t%s\n", comm);
    CHECK(n > 0 && strncmp(buf, name_line, strlen(name_line)) == 0, "its status names it");

    /* pgrep -f: list /proc and look for the token in every process's cmdline. */
    int found = 0;
    DIR *d = opendir("/proc");
    CHECK(d != NULL, "opendir /proc");
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        if (e->d_name[0] < '1' || e->d_name[0] > '9') continue;
        snprintf(path, sizeof path, "/proc/%s/cmdline", e->d_name);
        n = slurp(path, buf, sizeof buf);
        for (ssize_t i = 0; i < n; i++) if (buf[i] == 0) buf[i] = ' ';
        if (n > 0 && strstr(buf, TOKEN) && strstr(buf, "two words")) found++;
    }
    if (d) closedir(d);
    CHECK(found == 1, "listing /proc finds the child by its command line, once (%d)", found);

    CHECK(write(p[1], "x", 1) == 1, "let the child go");
    int st;
    CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0, "the child's exit");
    return guest_done();
}
