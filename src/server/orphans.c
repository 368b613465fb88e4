/* SPDX-License-Identifier: MIT */
/* The children nbnetd inherits as a subreaper (orphans.h). */
#include "orphans.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "proc.h"

/* Children looked at in one listing; more are found by the next SIGCHLD. */
#define ORPHANS_MAX_LISTED ((size_t) 4096)
/* Twice the listing: the clean set stays at most half full. */
#define ORPHANS_CLEAN_SLOTS ((size_t) 2 * ORPHANS_MAX_LISTED)

int orphans_init(struct orphans *o, size_t max_mains) {
        *o = (struct orphans){.max_mains = max_mains};
        o->mains = calloc(max_mains, sizeof *o->mains);
        o->scratch = calloc(ORPHANS_MAX_LISTED, sizeof *o->scratch);
        o->clean = calloc(ORPHANS_CLEAN_SLOTS, sizeof *o->clean);
        if (!o->mains || !o->scratch || !o->clean) {
                orphans_release(o);
                return -ENOMEM;
        }
        /* Kept open, read once per listing. */
        return proc_open();
}

void orphans_release(struct orphans *o) {
        free(o->mains);
        free(o->scratch);
        free(o->clean);
        o->mains = o->scratch = o->clean = NULL;
        o->n_mains = o->n_clean = 0;
        proc_close();
}

void orphans_add_main(struct orphans *o, pid_t pid) {
        if (o->n_mains < o->max_mains)
                o->mains[o->n_mains++] = pid;
}

void orphans_remove_main(struct orphans *o, pid_t pid) {
        for (size_t i = 0; i < o->n_mains; i++)
                if (o->mains[i] == pid) {
                        o->mains[i] = o->mains[--o->n_mains];
                        return;
                }
}

bool orphans_is_main(const struct orphans *o, pid_t pid) {
        for (size_t i = 0; i < o->n_mains; i++)
                if (o->mains[i] == pid)
                        return true;
        return false;
}

/* The clean set's slot for pid: where it is, or the empty one where it would go. */
static size_t orphans_clean_slot(const struct orphans *o, pid_t pid) {
        size_t i = (size_t) pid * 2654435761u % ORPHANS_CLEAN_SLOTS;

        while (o->clean[i] != 0 && o->clean[i] != pid)
                i = (i + 1) % ORPHANS_CLEAN_SLOTS;
        return i;
}

static bool orphans_is_clean(const struct orphans *o, pid_t pid) {
        return o->clean[orphans_clean_slot(o, pid)] == pid;
}

static void orphans_mark_clean(struct orphans *o, pid_t pid) {
        size_t i;

        if (o->n_clean >= ORPHANS_CLEAN_SLOTS / 2)
                return;
        i = orphans_clean_slot(o, pid);
        if (o->clean[i] == 0) {
                o->clean[i] = pid;
                o->n_clean++;
        }
}

/* A reaped pid may come back as another process: out of the set, and the
 * entries after it moved up so that every lookup still finds its own. */
static void orphans_forget(struct orphans *o, pid_t pid) {
        size_t i = orphans_clean_slot(o, pid), j = i;

        if (o->clean[i] != pid)
                return;
        o->clean[i] = 0;
        o->n_clean--;
        for (;;) {
                j = (j + 1) % ORPHANS_CLEAN_SLOTS;
                if (o->clean[j] == 0)
                        return;
                pid_t moved = o->clean[j];
                o->clean[j] = 0;
                o->clean[orphans_clean_slot(o, moved)] = moved;
        }
}

void orphans_reap(struct orphans *o) {
        for (;;) {
                siginfo_t si = {0};
                pid_t pid;
                if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) < 0 || si.si_pid == 0 ||
                    orphans_is_main(o, si.si_pid))
                        return;
                pid = si.si_pid;
                (void) waitid(P_PID, (id_t) pid, &si, WEXITED | WNOHANG);
                orphans_forget(o, pid);
        }
}

bool orphans_any(struct orphans *o) {
        size_t n;

        orphans_reap(o);
        n = proc_children(o->scratch, ORPHANS_MAX_LISTED);
        /* Each running command's main process is a child: no more, no orphan. */
        return n > o->n_mains || n == ORPHANS_MAX_LISTED;
}

unsigned orphans_signal_holders(struct orphans *o, ino_t ino, int sig) {
        size_t n = proc_children(o->scratch, ORPHANS_MAX_LISTED);
        unsigned found = 0;

        for (size_t i = 0; i < n; i++) {
                pid_t pid = o->scratch[i];
                if (orphans_is_main(o, pid) || orphans_is_clean(o, pid))
                        continue;
                switch (proc_socket_use(pid, ino)) {
                case PROC_HOLDS_SOCKET:
                        (void) kill(pid, sig);
                        found++;
                        break;
                case PROC_NO_SOCKET:
                        /* Sockets come by fork, and it forks no command of ours. */
                        orphans_mark_clean(o, pid);
                        break;
                case PROC_OTHER_SOCKETS:
                        break;
                }
        }
        return found;
}
