/* pid: relations between process and thread ids (never the values). */
#include "guest.h"
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void) {
    pid_t pid = getpid(), ppid = getppid();
    CHECK(pid > 0, "getpid > 0");
    CHECK(ppid > 0, "getppid > 0");
    CHECK(pid != ppid, "pid != ppid");
    CHECK(getpid() == pid && getppid() == ppid, "stable across calls");
    CHECK(gettid() == pid, "main thread: gettid == getpid");
    CHECK(syscall(SYS_getpid) == pid, "raw syscall agrees");
    /* 0 is legitimate: a session or group led from outside our pid namespace (containers, CI) */
    CHECK(getpgrp() >= 0 && getsid(0) >= 0, "pgrp and sid not negative");
    CHECK(getpgid(0) == getpgrp() && getsid(getpid()) == getsid(0), "pgrp and sid agree across calls");
    CHECK(getuid() == geteuid() && getgid() == getegid(), "real == effective ids");
    /* a process group of its own: its id is our pid */
    CHECK(setpgid(0, 0) == 0 && getpgrp() == pid && getpgid(0) == pid && getpgid(pid) == pid,
          "setpgid(0, 0): getpgrp() == getpid()");
    errno = 0;
    CHECK(setsid() == -1 && errno == EPERM, "setsid as a group leader: EPERM");
    /* niceness (per thread in Linux; the main thread here) */
    errno = 0;
    int before = getpriority(PRIO_PROCESS, 0);
    CHECK(errno == 0 && setpriority(PRIO_PROCESS, 0, before + 1) == 0, "setpriority(+1)");
    CHECK(getpriority(PRIO_PROCESS, 0) == before + 1 && getpriority(PRIO_PROCESS, pid) == before + 1,
          "getpriority sees it, by 0 and by pid");
    return guest_done();
}
