/* Shared by the soak_*.c guests (scripts/soak.sh): the sampling handshake. A soak guest runs a
 * warm-up round, then soak_pause("READY") prints "SOAK READY" and blocks until a line arrives on
 * stdin (scripts/soak.sh samples the herd process meanwhile); after the measured rounds
 * soak_pause("DONE") does the same, then the guest exits. Run by hand, press Enter twice. */
#ifndef HERD_SOAK_H
#define HERD_SOAK_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static void soak_pause(const char *what) {
    printf("SOAK %s\n", what);
    fflush(stdout);
    char c;
    do {
        if (read(0, &c, 1) != 1) return; /* EOF: go on (not driven by soak.sh) */
    } while (c != '\n');
}

static long soak_arg(int argc, char **argv, int i, long dflt) {
    return argc > i ? atol(argv[i]) : dflt;
}

#endif
