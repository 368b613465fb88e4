/* SPDX-License-Identifier: MIT */
/*
 * The reader half of the socket limit (bench/socket-limit): listens on a free
 * loopback port, writes the port to PORTFILE, accepts one connection, reads
 * and discards it with a 1 MiB buffer until EOF, and prints one JSON object:
 * bytes and MB/s (10^6 bytes) from accept to EOF. Gives up after 120 s.
 *
 *     bench/sock-sink PORTFILE LABEL
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BUF_SIZE (1 << 20)

static char buf[BUF_SIZE];

static double now_s(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
        struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t len = sizeof sin;
        uint64_t total = 0;
        double start, elapsed;
        FILE *f;
        int lfd, fd;

        if (argc != 3) {
                fprintf(stderr, "usage: sock-sink PORTFILE LABEL\n");
                return 2;
        }
        lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (lfd < 0 || bind(lfd, (struct sockaddr *) &sin, sizeof sin) < 0 ||
            listen(lfd, 1) < 0 || getsockname(lfd, (struct sockaddr *) &sin, &len) < 0) {
                perror("sock-sink");
                return 1;
        }
        f = fopen(argv[1], "w");
        if (!f || fprintf(f, "%u\n", ntohs(sin.sin_port)) < 0 || fclose(f) != 0) {
                perror("sock-sink: port file");
                return 1;
        }
        struct pollfd pfd = {.fd = lfd, .events = POLLIN};
        if (poll(&pfd, 1, 120000) != 1) {
                fprintf(stderr, "sock-sink: no writer within 120 s\n");
                return 1;
        }
        fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) {
                perror("sock-sink: accept");
                return 1;
        }
        start = now_s();
        for (;;) {
                ssize_t n = read(fd, buf, BUF_SIZE);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        perror("sock-sink: read");
                        return 1;
                }
                if (n == 0)
                        break;
                total += (uint64_t) n;
        }
        elapsed = now_s() - start;
        printf("{\"writer\": \"%s\", \"bytes\": %llu, \"elapsed_s\": %.3f, \"mb_per_s\": %.1f}\n",
               argv[2], (unsigned long long) total, elapsed, (double) total / 1e6 / elapsed);
        return 0;
}
