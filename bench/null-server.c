/* SPDX-License-Identifier: MIT */
/*
 * The ideal server: nbnetd with nothing to run. Each of WORKERS
 * processes loops on the one loopback listener: accept, read exactly one
 * nbnet frame, write the status trailer (status 0) when the frame asks for
 * one, close. No spawn, no event loop, blocking calls: what a request costs a
 * server that cost nothing itself, read by nbnet-load like nbnetd is. With
 * the spawn limit: 1 / (time per spawn + time per null cycle). Runs until
 * killed.
 *
 *     bench/null-server [-w WORKERS] PORT
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static const char trailer[] = "\x1eNBNET-STATUS 000\n";

/* Exactly n bytes, or -1. */
static int read_exact(int fd, char *buf, size_t n) {
        while (n > 0) {
                ssize_t r = recv(fd, buf, n, 0);
                if (r < 0 && errno == EINTR)
                        continue;
                if (r <= 0)
                        return -1;
                buf += r;
                n -= (size_t) r;
        }
        return 0;
}

/* The flags ('+', '<', '@') one byte at a time, then 10 digits and the
 * command, never a byte past the frame. 1 when a trailer was asked for, 0
 * when not, -1 on a bad frame. */
static int read_frame(int fd) {
        char buf[65536 + 16];
        int want_status = 0;
        size_t have = 0;
        long len;

        for (;;) {
                if (read_exact(fd, buf, 1) < 0)
                        return -1;
                if (buf[0] == '+')
                        want_status = 1;
                else if (buf[0] != '<' && buf[0] != '@')
                        break;
        }
        have = 1;
        if (read_exact(fd, buf + have, 10 - have) < 0)
                return -1;
        buf[10] = '\0';
        len = strtol(buf, NULL, 10);
        if (len <= 0 || len > 65536 || read_exact(fd, buf, (size_t) len) < 0)
                return -1;
        return want_status;
}

static void serve(int lfd) {
        for (;;) {
                int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC), status;
                if (fd < 0) {
                        if (errno == EINTR || errno == ECONNABORTED)
                                continue;
                        perror("null-server: accept");
                        _exit(1);
                }
                status = read_frame(fd);
                if (status == 1)
                        (void) send(fd, trailer, sizeof trailer - 1, MSG_NOSIGNAL);
                (void) close(fd);
        }
}

int main(int argc, char **argv) {
        struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        long workers = 1, port;
        int lfd, opt, one = 1;

        while ((opt = getopt(argc, argv, "w:")) != -1) {
                if (opt != 'w') {
                        fprintf(stderr, "usage: null-server [-w WORKERS] PORT\n");
                        return 2;
                }
                workers = strtol(optarg, NULL, 10);
        }
        if (optind != argc - 1 || workers < 1 || workers > 64) {
                fprintf(stderr, "usage: null-server [-w WORKERS (1..64)] PORT\n");
                return 2;
        }
        port = strtol(argv[optind], NULL, 10);
        if (port < 1 || port > 65535) {
                fprintf(stderr, "null-server: PORT must be 1..65535\n");
                return 2;
        }
        sin.sin_port = htons((unsigned short) port);
        (void) signal(SIGPIPE, SIG_IGN);
        lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
            bind(lfd, (struct sockaddr *) &sin, sizeof sin) < 0 || listen(lfd, 1024) < 0) {
                perror("null-server: socket, bind or listen on 127.0.0.1");
                return 1;
        }
        for (long i = 1; i < workers; i++) {
                pid_t pid = fork();
                if (pid < 0) {
                        perror("null-server: fork");
                        return 1;
                }
                if (pid == 0)
                        serve(lfd);
        }
        serve(lfd);
        return 0;
}
