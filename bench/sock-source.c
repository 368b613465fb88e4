/* SPDX-License-Identifier: MIT */
/*
 * The server half of the socket limit (bench/socket-limit): nbnetd minus
 * everything but the socket. Listens on a free loopback port, writes the
 * port to PORTFILE, accepts one connection, reads one nbnet frame and drops
 * it, then runs WRITER... (e.g. head -c N /dev/zero) directly, no shell, with
 * the connection as its stdout, and closes the connection when it exits.
 * The reader is nbnet-load --raw itself, so that the limit is read exactly
 * as nbnetd's output is: same client, same buffer, same clock. Gives up
 * after 120 s without a client.
 *
 *     bench/sock-source PORTFILE WRITER [ARG...]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/* '+' (optional), 10 digits of length, the command: read it all, drop it. */
static int read_frame(int fd) {
        char buf[4096];
        size_t have = 0, want = 0;
        long len;

        for (;;) {
                ssize_t n = recv(fd, buf + have, sizeof buf - have, 0);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return -1;
                have += (size_t) n;
                if (want == 0) {
                        size_t skip = buf[0] == '+' ? 1 : 0;
                        if (have < skip + 10)
                                continue;
                        len = strtol(buf + skip, NULL, 10);
                        want = skip + 10 + (size_t) len;
                        if (len < 0 || want > sizeof buf)
                                return -1;
                }
                if (have >= want)
                        return 0;
        }
}

int main(int argc, char **argv) {
        struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t len = sizeof sin;
        int lfd, fd, status;
        pid_t pid;
        FILE *f;

        if (argc < 3) {
                fprintf(stderr, "usage: sock-source PORTFILE WRITER [ARG...]\n");
                return 2;
        }
        lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (lfd < 0 || bind(lfd, (struct sockaddr *) &sin, sizeof sin) < 0 || listen(lfd, 1) < 0 ||
            getsockname(lfd, (struct sockaddr *) &sin, &len) < 0) {
                perror("sock-source: socket, bind or listen on 127.0.0.1");
                return 1;
        }
        f = fopen(argv[1], "w");
        if (!f || fprintf(f, "%u\n", ntohs(sin.sin_port)) < 0 || fclose(f) != 0) {
                perror("sock-source: writing the port file");
                return 1;
        }
        struct pollfd pfd = {.fd = lfd, .events = POLLIN};
        if (poll(&pfd, 1, 120000) != 1) {
                fprintf(stderr, "sock-source: no client within 120 s\n");
                return 1;
        }
        fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) {
                perror("sock-source: accept");
                return 1;
        }
        if (read_frame(fd) < 0) {
                fprintf(stderr, "sock-source: the client sent no whole frame\n");
                return 1;
        }
        pid = fork();
        if (pid < 0) {
                perror("sock-source: fork");
                return 1;
        }
        if (pid == 0) {
                if (dup2(fd, STDOUT_FILENO) < 0)
                        _exit(126);
                execvp(argv[2], argv + 2);
                fprintf(stderr, "sock-source: exec %s: %m\n", argv[2]);
                _exit(127);
        }
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR) {
                        perror("sock-source: waitpid");
                        return 1;
                }
        /* The client reads to EOF: shut our side, drain, close (no RST). */
        (void) shutdown(fd, SHUT_WR);
        while (recv(fd, &len, sizeof len, 0) > 0)
                ;
        (void) close(fd);
        return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
