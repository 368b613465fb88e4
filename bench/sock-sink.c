/* SPDX-License-Identifier: MIT */
/*
 * The input socket limit: nbnetd minus nbnetd for a
 * command that reads its stdin. Listens on a free loopback port, writes the
 * port to PORTFILE, accepts one connection, reads exactly one nbnet frame
 * (not a byte past it) and runs READER... (e.g. cat) directly, no shell,
 * with the connection as its stdin and /dev/null as its stdout; when it
 * exits, writes the status trailer if the frame asked for one, shuts down,
 * drains and closes. The client is nbnet itself, fed by head -c N
 * /dev/zero, timed as it is against nbnetd. Gives up after 120 s without a
 * client.
 *
 *     bench/sock-sink PORTFILE READER [ARG...]
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

/* Flags one byte at a time, 10 digits, the command: 1 when a trailer was
 * asked for ('+'), 0 when not, -1 on a bad frame. */
static int read_frame(int fd) {
        char buf[65536 + 16];
        int want_status = 0;
        long len;

        for (;;) {
                if (read_exact(fd, buf, 1) < 0)
                        return -1;
                if (buf[0] == '+')
                        want_status = 1;
                else if (buf[0] != '<' && buf[0] != '@')
                        break;
        }
        if (read_exact(fd, buf + 1, 9) < 0)
                return -1;
        buf[10] = '\0';
        len = strtol(buf, NULL, 10);
        if (len <= 0 || len > 65536 || read_exact(fd, buf, (size_t) len) < 0)
                return -1;
        return want_status;
}

int main(int argc, char **argv) {
        static const char trailer[] = "\x1eNBNET-STATUS 000\n";
        struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t len = sizeof sin;
        int lfd, fd, status, want_status;
        char drain[4096];
        pid_t pid;
        FILE *f;

        if (argc < 3) {
                fprintf(stderr, "usage: sock-sink PORTFILE READER [ARG...]\n");
                return 2;
        }
        lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (lfd < 0 || bind(lfd, (struct sockaddr *) &sin, sizeof sin) < 0 || listen(lfd, 1) < 0 ||
            getsockname(lfd, (struct sockaddr *) &sin, &len) < 0) {
                perror("sock-sink: socket, bind or listen on 127.0.0.1");
                return 1;
        }
        f = fopen(argv[1], "w");
        if (!f || fprintf(f, "%u\n", ntohs(sin.sin_port)) < 0 || fclose(f) != 0) {
                perror("sock-sink: writing the port file");
                return 1;
        }
        struct pollfd pfd = {.fd = lfd, .events = POLLIN};
        if (poll(&pfd, 1, 120000) != 1) {
                fprintf(stderr, "sock-sink: no client within 120 s\n");
                return 1;
        }
        fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) {
                perror("sock-sink: accept");
                return 1;
        }
        want_status = read_frame(fd);
        if (want_status < 0) {
                fprintf(stderr, "sock-sink: the client sent no whole frame\n");
                return 1;
        }
        pid = fork();
        if (pid < 0) {
                perror("sock-sink: fork");
                return 1;
        }
        if (pid == 0) {
                int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
                if (null < 0 || dup2(fd, STDIN_FILENO) < 0 || dup2(null, STDOUT_FILENO) < 0)
                        _exit(126);
                execvp(argv[2], argv + 2);
                fprintf(stderr, "sock-sink: exec %s: %m\n", argv[2]);
                _exit(127);
        }
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR) {
                        perror("sock-sink: waitpid");
                        return 1;
                }
        status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        if (want_status) {
                char t[sizeof trailer];
                snprintf(t, sizeof t, "\x1eNBNET-STATUS %03d\n", status & 0xff);
                (void) send(fd, t, sizeof t - 1, MSG_NOSIGNAL);
        }
        /* Shut our side, drain, close: no RST over the trailer. */
        (void) shutdown(fd, SHUT_WR);
        while (recv(fd, drain, sizeof drain, 0) > 0)
                ;
        (void) close(fd);
        return status == 0 ? 0 : 1;
}
