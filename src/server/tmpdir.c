/* SPDX-License-Identifier: MIT */
/* A TMPDIR of its own for each command (tmpdir.h). */
#include "tmpdir.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"

#define TMPDIR_NAME_BYTES 8 /* 16 hex digits: no command can guess another's */
#define TMPDIR_POLL_USEC (10 * USEC_PER_MSEC)

int tmpdir_init(struct tmpdir_base *b, char *err, size_t err_size) {
        *b = (struct tmpdir_base){0};
        snprintf(b->path, sizeof b->path, "/tmp/nbnet.XXXXXX");
        if (!mkdtemp(b->path)) {
                int r = -errno;
                snprintf(err, err_size, "making the commands' TMPDIR under /tmp (%s): %s", b->path,
                         strerror(errno));
                b->path[0] = '\0';
                return r;
        }
        /* mkdtemp made it 0700: open it to every user's entry, not to listing. */
        if (chmod(b->path, 01733) < 0) {
                int r = -errno;
                snprintf(err, err_size, "chmod 1733 %s: %s", b->path, strerror(errno));
                (void) rmdir(b->path);
                b->path[0] = '\0';
                return r;
        }
        return 0;
}

int tmpdir_name(const struct tmpdir_base *b, char *path, size_t size) {
        unsigned char bytes[TMPDIR_NAME_BYTES];
        char hex[2 * TMPDIR_NAME_BYTES + 1];
        int n;

        if (getrandom(bytes, sizeof bytes, 0) != (ssize_t) sizeof bytes)
                return errno ? -errno : -EIO;
        for (size_t i = 0; i < sizeof bytes; i++)
                snprintf(hex + 2 * i, 3, "%02x", bytes[i]);
        n = snprintf(path, size, "%s/%s", b->path, hex);
        return n < 0 || (size_t) n >= size ? -ENAMETOOLONG : 0;
}

int tmpdir_remove(struct tmpdir_base *b, struct spawn_env *env, const struct spawn_creds *creds,
                  const char *path) {
        int r;

        /* The base is ours and sticky: an empty directory of another user's goes. */
        if (rmdir(path) == 0 || errno == ENOENT)
                return 0;
        if (errno != ENOTEMPTY && errno != EEXIST)
                return -errno;
        tmpdir_reap(b);
        if (b->n_removers == TMPDIR_MAX_REMOVERS)
                return -EBUSY;
        r = spawn_remove_tree(env, creds, path, &b->removers[b->n_removers]);
        if (r < 0)
                return r;
        b->n_removers++;
        return 0;
}

void tmpdir_reap(struct tmpdir_base *b) {
        for (size_t i = 0; i < b->n_removers;) {
                pid_t r = waitpid(b->removers[i], NULL, WNOHANG);
                /* ECHILD: a subreaper's sweep of its orphans reaped it first. */
                if (r == 0 || (r < 0 && errno == EINTR)) {
                        i++;
                        continue;
                }
                b->removers[i] = b->removers[--b->n_removers];
        }
}

int tmpdir_release(struct tmpdir_base *b, uint64_t wait_usec) {
        uint64_t deadline = clock_now_usec() + wait_usec;
        int left = 0;

        if (!b->path[0])
                return 0;
        for (tmpdir_reap(b); b->n_removers > 0 && clock_now_usec() < deadline; tmpdir_reap(b))
                (void) usleep(TMPDIR_POLL_USEC);
        if (rmdir(b->path) < 0)
                left = errno == ENOTEMPTY || errno == EEXIST ? 1 : -errno;
        b->path[0] = '\0';
        return left;
}
