/* SPDX-License-Identifier: MIT */
/* What /proc says of our children and their descriptors (proc.h). */
#include "proc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* The main thread's list of children, kept open: the file is generated
 * afresh by every read from offset 0, so one scan is one pread. */
static int proc_children_fd = -1;

/* A pid and its separator take at most 11 bytes: a read that leaves more
 * room than that in the kernel's page-sized buffer reached the end. */
#define PROC_RECORD_MAX 16

int proc_open(void) {
        char path[64];

        if (proc_children_fd >= 0)
                return 0;
        snprintf(path, sizeof path, "/proc/self/task/%ld/children", (long) getpid());
        proc_children_fd = open(path, O_RDONLY | O_CLOEXEC);
        return proc_children_fd < 0 ? -errno : 0;
}

void proc_close(void) {
        if (proc_children_fd >= 0)
                (void) close(proc_children_fd);
        proc_children_fd = -1;
}

/* Only the main thread forks (nbnetd's decoding thread never does), and the
 * kernel hands orphans to a subreaper's first living thread, the main one:
 * all the children hang off the main thread's list; read in pieces without
 * allocating. */
size_t proc_children(pid_t *pids, size_t max) {
        char buf[4096];
        long pid = 0;
        bool in_number = false;
        size_t n = 0;
        off_t off = 0;
        ssize_t len;

        if (proc_open() < 0)
                return 0;
        while (n < max && (len = pread(proc_children_fd, buf, sizeof buf, off)) > 0) {
                off += len;
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
                if ((size_t) len < sizeof buf - PROC_RECORD_MAX)
                        break;
        }
        if (in_number && n < max)
                pids[n++] = (pid_t) pid;
        return n;
}

/* The inode of a "socket:[N]" link target, or 0 for anything else. */
static ino_t proc_socket_ino(const char *target) {
        unsigned long long ino = 0;

        if (strncmp(target, "socket:[", 8) != 0)
                return 0;
        for (const char *p = target + 8; *p >= '0' && *p <= '9'; p++)
                ino = ino * 10 + (unsigned long long) (*p - '0');
        return (ino_t) ino;
}

enum proc_sockets proc_socket_use(pid_t pid, const ino_t *inos, size_t n_inos) {
        enum proc_sockets use = PROC_NO_SOCKET;
        char dir[64], target[64];
        struct dirent *de;
        DIR *d;

        snprintf(dir, sizeof dir, "/proc/%ld/fd", (long) pid);
        d = opendir(dir);
        if (!d)
                return PROC_NO_SOCKET;
        while (use != PROC_HOLDS_SOCKET && (de = readdir(d))) {
                ssize_t n;
                ino_t ino;
                if (de->d_name[0] == '.')
                        continue;
                n = readlinkat(dirfd(d), de->d_name, target, sizeof target - 1);
                if (n <= 0)
                        continue;
                target[n] = '\0';
                ino = proc_socket_ino(target);
                if (ino == 0)
                        continue;
                use = PROC_OTHER_SOCKETS;
                for (size_t i = 0; i < n_inos; i++)
                        if (inos[i] == ino)
                                use = PROC_HOLDS_SOCKET;
        }
        closedir(d);
        return use;
}
