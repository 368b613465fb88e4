/* SPDX-License-Identifier: MIT */
#include "reap.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

static void reap_one(pid_t pid, bool (*tracked)(pid_t, void *), void *userdata) {
        siginfo_t si = {0};

        /* WNOWAIT first: a tracked main process must stay for its own waiter. */
        if (waitid(P_PID, (id_t) pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0 || si.si_pid == 0)
                return;
        if (!tracked(pid, userdata))
                (void) waitid(P_PID, (id_t) pid, &si, WEXITED | WNOHANG);
}

/* The program is single-threaded, so all its children hang off the main
 * thread's list; read in pieces without allocating. */
void reap_orphans(bool (*tracked)(pid_t, void *), void *userdata) {
        char path[64], buf[4096];
        long pid = 0;
        bool in_number = false;
        ssize_t n;
        int fd;

        snprintf(path, sizeof path, "/proc/self/task/%ld/children", (long) getpid());
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return;
        while ((n = read(fd, buf, sizeof buf)) > 0)
                for (ssize_t i = 0; i < n; i++) {
                        if (buf[i] >= '0' && buf[i] <= '9') {
                                pid = pid * 10 + (buf[i] - '0');
                                in_number = true;
                        } else if (in_number) {
                                reap_one((pid_t) pid, tracked, userdata);
                                pid = 0;
                                in_number = false;
                        }
                }
        if (in_number)
                reap_one((pid_t) pid, tracked, userdata);
        close(fd);
}
