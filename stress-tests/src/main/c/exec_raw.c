/* exec_raw PROGRAM [ARGS...]: a plain execve(2) of PROGRAM, for the ELF fuzzer (not a guest test).
 * Unlike execvp (setpriv, env, shells) it never falls back to running a file the kernel refuses
 * (ENOEXEC) through /bin/sh, so the caller sees exactly whether Linux accepts the file. Core dumps
 * are disabled first (fuzzed programs crash). When execve fails it prints one line
 * "exec_raw: execve failed: errno=N (message)" on stderr and exits 126. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

extern char **environ;

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: exec_raw PROGRAM [ARGS...]\n");
        return 2;
    }
    struct rlimit no_core = {0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
    execve(argv[1], argv + 1, environ);
    int e = errno;
    fprintf(stderr, "exec_raw: execve failed: errno=%d (%s)\n", e, strerror(e));
    return 126;
}
