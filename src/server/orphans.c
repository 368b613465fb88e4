/* SPDX-License-Identifier: MIT */
#include "orphans.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>

#include "proc.h"

/* Children looked at in one listing; more are found by the next SIGCHLD. */
#define ORPHANS_MAX_LISTED 4096

int orphans_init(struct orphans *o, size_t max_mains) {
        *o = (struct orphans){.max_mains = max_mains};
        o->mains = calloc(max_mains, sizeof *o->mains);
        o->scratch = calloc(ORPHANS_MAX_LISTED, sizeof *o->scratch);
        if (!o->mains || !o->scratch) {
                orphans_release(o);
                return -ENOMEM;
        }
        /* Kept open, read once per listing. */
        return proc_open();
}

void orphans_release(struct orphans *o) {
        free(o->mains);
        free(o->scratch);
        o->mains = o->scratch = NULL;
        o->n_mains = 0;
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

/* Our children that are no running command's main, into o->scratch.
 * *complete is false when the listing was cut: some may be missing. */
static size_t orphans_list(struct orphans *o, bool *complete) {
        size_t n = proc_children(o->scratch, ORPHANS_MAX_LISTED), kept = 0;

        *complete = n < ORPHANS_MAX_LISTED;
        /* Each running command's main process is a child: no more, no orphan. */
        if (*complete && n <= o->n_mains)
                return 0;
        for (size_t i = 0; i < n; i++)
                if (!orphans_is_main(o, o->scratch[i]))
                        o->scratch[kept++] = o->scratch[i];
        return kept;
}

bool orphans_any(struct orphans *o) {
        bool complete;
        size_t n = orphans_list(o, &complete);

        /* Found counts the reaped ones too: one that exited after the list was
         * read may have left children of its own, given to us too late to be on it. */
        for (size_t i = 0; i < n; i++)
                (void) proc_reap_if_exited(o->scratch[i]);
        return n > 0 || !complete;
}

unsigned orphans_signal_holders(struct orphans *o, ino_t ino, int sig) {
        bool complete;
        size_t n = orphans_list(o, &complete);
        unsigned found = 0;

        for (size_t i = 0; i < n; i++)
                if (proc_holds_socket(o->scratch[i], ino)) {
                        (void) kill(o->scratch[i], sig);
                        found++;
                }
        return found;
}
