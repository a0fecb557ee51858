/* proxy_probe: small socket actions for the kernel-proxy API tests.
 *   tcp PORT   connect to 127.0.0.1:PORT; prints "connected" or "error NAME"
 *   accept     listen on loopback, print "listening", block in accept; then print how it ended,
 *              try one more socket call and print how that ended
 *   getppid N  N getppid calls (a forwarded-call round trip to measure) */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const char *name(int e) { return strerrorname_np(e) ? strerrorname_np(e) : "?"; }

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc > 2 && strcmp(argv[1], "tcp") == 0) {
        int s = socket(AF_INET, SOCK_STREAM, 0);
        if (s < 0) { printf("error %s\n", name(errno)); return 0; }
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[2])),
                                .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        if (connect(s, (struct sockaddr *)&a, sizeof a) == 0) printf("connected\n");
        else printf("error %s\n", name(errno));
        return 0;
    }
    if (argc > 1 && strcmp(argv[1], "accept") == 0) {
        int s = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) != 0 || listen(s, 1) != 0) {
            printf("error %s\n", name(errno));
            return 1;
        }
        printf("listening\n");
        int c = accept(s, NULL, NULL);
        printf("accept: %s\n", c >= 0 ? "ok" : name(errno));
        int t = socket(AF_INET, SOCK_STREAM, 0);
        printf("socket: %s\n", t >= 0 ? "ok" : name(errno));
        printf("still running\n");
        return 0;
    }
    if (argc > 2 && strcmp(argv[1], "getppid") == 0) {
        long n = atol(argv[2]);
        long sum = 0;
        for (long i = 0; i < n; i++) sum += getppid();
        printf("%d\n", sum != 0);
        return 0;
    }
    fprintf(stderr, "usage: proxy_probe tcp PORT | accept | getppid N\n");
    return 2;
}
