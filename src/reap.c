/* SPDX-License-Identifier: MIT */
#include "reap.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* The program is single-threaded, so all its children hang off the main
 * thread's list; read in pieces without allocating. */
size_t reap_children(pid_t *pids, size_t max) {
        char path[64], buf[4096];
        long pid = 0;
        bool in_number = false;
        size_t n = 0;
        ssize_t len;
        int fd;

        snprintf(path, sizeof path, "/proc/self/task/%ld/children", (long) getpid());
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return 0;
        while (n < max && (len = read(fd, buf, sizeof buf)) > 0)
                for (ssize_t i = 0; i < len && n < max; i++) {
                        if (buf[i] >= '0' && buf[i] <= '9') {
                                pid = pid * 10 + (buf[i] - '0');
                                in_number = true;
                        } else if (in_number) {
                                pids[n++] = (pid_t) pid;
                                pid = 0;
                                in_number = false;
                        }
                }
        if (in_number && n < max)
                pids[n++] = (pid_t) pid;
        close(fd);
        return n;
}

void reap_if_exited(pid_t pid) {
        siginfo_t si = {0};

        (void) waitid(P_PID, (id_t) pid, &si, WEXITED | WNOHANG);
}

bool reap_holds_socket(pid_t pid, ino_t ino) {
        char dir[64], want[48], target[64];
        struct dirent *de;
        bool found = false;
        DIR *d;

        snprintf(dir, sizeof dir, "/proc/%ld/fd", (long) pid);
        snprintf(want, sizeof want, "socket:[%llu]", (unsigned long long) ino);
        d = opendir(dir);
        if (!d)
                return false;
        while (!found && (de = readdir(d))) {
                ssize_t n;
                if (de->d_name[0] == '.')
                        continue;
                n = readlinkat(dirfd(d), de->d_name, target, sizeof target - 1);
                if (n > 0) {
                        target[n] = '\0';
                        found = strcmp(target, want) == 0;
                }
        }
        closedir(d);
        return found;
}
