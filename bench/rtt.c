/* SPDX-License-Identifier: MIT */
/*
 * One loopback TCP round trip, for the latency target (p50 of `true` within
 * 10% of a spawn plus a round trip): a child process echoes, the parent
 * connects once and sends one byte and waits for it back, N times (TCP_NODELAY
 * on both ends), and prints one JSON object with the median and the minimum.
 *
 *     bench/rtt [-n ROUND_TRIPS]     (default 2000)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;

        return x < y ? -1 : x > y;
}

static void nodelay(int fd) {
        int one = 1;

        (void) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/* Echoes one byte at a time until EOF. */
static int echo(int lfd) {
        char b;
        int fd = accept(lfd, NULL, NULL);

        if (fd < 0)
                return 1;
        nodelay(fd);
        for (;;) {
                ssize_t n = recv(fd, &b, 1, 0);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return n == 0 ? 0 : 1;
                if (send(fd, &b, 1, 0) != 1)
                        return 1;
        }
}

int main(int argc, char **argv) {
        struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t len = sizeof sin;
        long n = 2000;
        uint64_t *t;
        int lfd, fd, opt, status;
        pid_t pid;
        char b = 'x';

        while ((opt = getopt(argc, argv, "n:")) != -1) {
                if (opt != 'n') {
                        fprintf(stderr, "usage: rtt [-n ROUND_TRIPS]\n");
                        return 2;
                }
                n = strtol(optarg, NULL, 10);
        }
        if (n < 1 || n > 10000000) {
                fprintf(stderr, "rtt: -n must be 1..10000000\n");
                return 2;
        }
        t = calloc((size_t) n, sizeof *t);
        lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (!t || lfd < 0 || bind(lfd, (struct sockaddr *) &sin, sizeof sin) < 0 ||
            listen(lfd, 1) < 0 || getsockname(lfd, (struct sockaddr *) &sin, &len) < 0) {
                perror("rtt: socket, bind or listen on 127.0.0.1");
                return 1;
        }
        pid = fork();
        if (pid < 0) {
                perror("rtt: fork");
                return 1;
        }
        if (pid == 0)
                _exit(echo(lfd));
        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *) &sin, sizeof sin) < 0) {
                perror("rtt: connect");
                (void) kill(pid, SIGKILL);
                return 1;
        }
        nodelay(fd);
        for (long i = 0; i < n; i++) {
                uint64_t start = now_ns();
                if (send(fd, &b, 1, 0) != 1 || recv(fd, &b, 1, MSG_WAITALL) != 1) {
                        perror("rtt: send or recv");
                        (void) kill(pid, SIGKILL);
                        return 1;
                }
                t[i] = now_ns() - start;
        }
        (void) close(fd);
        if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                fprintf(stderr, "rtt: the echo process failed\n");
                return 1;
        }
        qsort(t, (size_t) n, sizeof *t, cmp_u64);
        printf("{\"round_trips\": %ld, \"rtt_us_p50\": %.1f, \"rtt_us_min\": %.1f}\n", n,
               (double) t[n / 2] / 1e3, (double) t[0] / 1e3);
        free(t);
        return 0;
}
