/* pid: relations between process and thread ids (never the values). */
#include "guest.h"
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
    return guest_done();
}
