/* SPDX-License-Identifier: MIT */
/* The children nbnetd inherits as a subreaper, and their census (orphans.h). */
#include "orphans.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "clock.h"
#include "proc.h"

/* Children looked at in one listing; more are found by a later census. */
#define ORPHANS_MAX_LISTED ((size_t) 4096)
/* Twice the listing: a table stays at most half full. */
#define ORPHANS_KNOWN_SLOTS ((size_t) 2 * ORPHANS_MAX_LISTED)
/* Ended commands whose connections one deferred census looks for, at least. */
#define ORPHANS_MIN_PENDING ((size_t) 1024)
/* Deferred censuses: at most one per this much time, and per 100 times the
 * last one's length: 1% of the time at most, whatever the number of
 * children (a census of 2,000 daemons takes about 2 ms). */
#define ORPHANS_CENSUS_MIN_GAP_USEC (10 * USEC_PER_MSEC)
#define ORPHANS_CENSUS_GAP_FACTOR 100
#define ORPHANS_NEVER UINT64_MAX

enum orphan_state {
        ORPHAN_NEW,       /* its descriptors not looked at yet */
        ORPHAN_NO_SOCKET, /* none: it forks no command of ours, so never will */
        ORPHAN_SOCKETS,   /* other sockets than the connections looked for */
        ORPHAN_CONDEMNED, /* held an ended command's connection: SIGTERM sent */
};

struct orphan_known {
        pid_t pid;       /* 0: empty */
        uint64_t census; /* the census that wrote the slot: of another, empty */
        uint64_t seen;   /* the census that first listed it */
        enum orphan_state state;
        uint64_t kill_usec; /* CONDEMNED: when SIGKILL follows, ORPHANS_NEVER once sent */
};

static int orphans_on_census(sd_event_source *s, uint64_t usec, void *userdata);

int orphans_init(struct orphans *o, size_t max_mains, sd_event *deferred_on, uint64_t grace_usec) {
        size_t max_pending = max_mains > ORPHANS_MIN_PENDING ? max_mains : ORPHANS_MIN_PENDING;
        int r;

        *o = (struct orphans){
                .max_mains = max_mains, .max_pending = max_pending, .grace_usec = grace_usec};
        o->mains = calloc(max_mains, sizeof *o->mains);
        o->scratch = calloc(ORPHANS_MAX_LISTED, sizeof *o->scratch);
        o->known = calloc(ORPHANS_KNOWN_SLOTS, sizeof *o->known);
        o->next = calloc(ORPHANS_KNOWN_SLOTS, sizeof *o->next);
        o->pending = calloc(max_pending, sizeof *o->pending);
        o->inos = calloc(max_pending, sizeof *o->inos);
        if (!o->mains || !o->scratch || !o->known || !o->next || !o->pending || !o->inos) {
                orphans_release(o);
                return -ENOMEM;
        }
        if (deferred_on) {
                r = sd_event_add_time(deferred_on, &o->census_src, CLOCK_MONOTONIC, 0,
                                      USEC_PER_MSEC, orphans_on_census, o);
                if (r >= 0)
                        r = sd_event_source_set_enabled(o->census_src, SD_EVENT_OFF);
                if (r < 0) {
                        orphans_release(o);
                        return r;
                }
        }
        /* Kept open, read once per listing. */
        return proc_open();
}

void orphans_release(struct orphans *o) {
        o->census_src = sd_event_source_disable_unref(o->census_src);
        free(o->mains);
        free(o->scratch);
        free(o->known);
        free(o->next);
        free(o->pending);
        free(o->inos);
        o->mains = o->scratch = NULL;
        o->known = o->next = NULL;
        o->pending = NULL;
        o->inos = NULL;
        o->n_mains = o->n_pending = 0;
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

void orphans_reap(struct orphans *o) {
        for (;;) {
                siginfo_t si = {0};
                if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) < 0 || si.si_pid == 0 ||
                    orphans_is_main(o, si.si_pid))
                        return;
                (void) waitid(P_PID, (id_t) si.si_pid, &si, WEXITED | WNOHANG);
        }
}

uint64_t orphans_generation(const struct orphans *o) {
        return o->gen;
}

/* pid's slot in a table written by census: where it is, or the empty one where it would go. */
static struct orphan_known *orphans_slot(struct orphan_known *table, pid_t pid, uint64_t census) {
        size_t i = (size_t) pid * 2654435761u % ORPHANS_KNOWN_SLOTS;

        while (table[i].pid != 0 && table[i].census == census && table[i].pid != pid)
                i = (i + 1) % ORPHANS_KNOWN_SLOTS;
        return &table[i];
}

/* Looks at what a child holds, if it may hold one of the pending
 * connections: one whose command started before the child was first
 * listed. Signals a holder; 1 if it was one. */
static unsigned orphans_look(struct orphans *o, struct orphan_known *e, int sig, uint64_t now) {
        size_t n = 0;

        if (e->state == ORPHAN_CONDEMNED) {
                if (e->kill_usec <= now) {
                        (void) kill(e->pid, SIGKILL);
                        e->kill_usec = ORPHANS_NEVER;
                } else if (e->kill_usec < o->kill_at)
                        o->kill_at = e->kill_usec;
                return 0;
        }
        /* Sockets come by fork, and one that holds none forks no command of ours. */
        if (e->state == ORPHAN_NO_SOCKET)
                return 0;
        for (size_t i = 0; i < o->n_pending; i++)
                if (o->pending[i].start_gen < e->seen)
                        o->inos[n++] = o->pending[i].ino;
        if (n == 0)
                return 0;
        switch (proc_socket_use(e->pid, o->inos, n)) {
        case PROC_HOLDS_SOCKET:
                if (!o->census_src) {
                        (void) kill(e->pid, sig);
                        e->state = ORPHAN_SOCKETS;
                        return 1;
                }
                (void) kill(e->pid, SIGTERM);
                e->state = ORPHAN_CONDEMNED;
                e->kill_usec = now + o->grace_usec;
                if (e->kill_usec < o->kill_at)
                        o->kill_at = e->kill_usec;
                return 1;
        case PROC_NO_SOCKET:
                e->state = ORPHAN_NO_SOCKET;
                return 0;
        case PROC_OTHER_SOCKETS:
                e->state = ORPHAN_SOCKETS;
                return 0;
        }
        return 0;
}

/* Reaps, lists our children, looks at those that may hold a pending
 * connection, and forgets the pending ones; how many holders it signalled. */
static unsigned orphans_census(struct orphans *o, int sig) {
        uint64_t census = o->gen + 1;
        uint64_t now = clock_now_usec();
        struct orphan_known *swap;
        unsigned found = 0;
        size_t n;

        o->kill_at = ORPHANS_NEVER;
        orphans_reap(o);
        n = proc_children(o->scratch, ORPHANS_MAX_LISTED);
        for (size_t i = 0; i < n; i++) {
                pid_t pid = o->scratch[i];
                struct orphan_known *old, *e;
                if (orphans_is_main(o, pid))
                        continue;
                old = orphans_slot(o->known, pid, o->gen);
                e = orphans_slot(o->next, pid, census);
                if (e->pid == pid && e->census == census)
                        continue; /* listed twice: a listing is not atomic */
                *e = old->pid == pid && old->census == o->gen
                             ? *old
                             : (struct orphan_known){.pid = pid, .seen = census};
                e->census = census;
                found += orphans_look(o, e, sig, now);
        }
        swap = o->known;
        o->known = o->next;
        o->next = swap;
        o->gen = census;
        o->n_pending = 0;
        return found;
}

/* The next deferred census at or after at, and no sooner than the gap allows. */
static void orphans_schedule(struct orphans *o, uint64_t at) {
        uint64_t earliest = o->census_last + o->census_gap;

        if (at < earliest)
                at = earliest;
        if (o->census_at != 0 && o->census_at <= at)
                return;
        if (sd_event_source_set_time(o->census_src, at) < 0 ||
            sd_event_source_set_enabled(o->census_src, SD_EVENT_ONESHOT) < 0) {
                /* Cannot wait for it: now, rather than never. */
                (void) orphans_census(o, SIGTERM);
                return;
        }
        o->census_at = at;
}

/* A deferred census, now: the next one waits for the gap, the SIGKILLs it owes for their time. */
static void orphans_census_now(struct orphans *o) {
        uint64_t t0 = clock_now_usec();

        (void) orphans_census(o, SIGTERM);
        o->census_last = clock_now_usec();
        o->census_gap = ORPHANS_CENSUS_GAP_FACTOR * (o->census_last - t0);
        if (o->census_gap < ORPHANS_CENSUS_MIN_GAP_USEC)
                o->census_gap = ORPHANS_CENSUS_MIN_GAP_USEC;
        if (o->kill_at != ORPHANS_NEVER)
                orphans_schedule(o, o->kill_at);
}

static int orphans_on_census(sd_event_source *s, uint64_t usec, void *userdata) {
        struct orphans *o = userdata;

        (void) s;
        (void) usec;
        o->census_at = 0;
        orphans_census_now(o);
        return 0;
}

unsigned orphans_signal_holders(struct orphans *o, ino_t ino, uint64_t gen, int sig) {
        if (!o->census_src) {
                o->pending[0] = (struct orphan_pending){.ino = ino, .start_gen = gen};
                o->n_pending = 1;
                return orphans_census(o, sig);
        }
        for (size_t i = 0; i < o->n_pending; i++)
                if (o->pending[i].ino == ino) {
                        if (gen < o->pending[i].start_gen)
                                o->pending[i].start_gen = gen;
                        orphans_schedule(o, clock_now_usec());
                        return 0;
                }
        /* More commands ended than one census waits for: this one now. */
        if (o->n_pending == o->max_pending)
                orphans_census_now(o);
        o->pending[o->n_pending++] = (struct orphan_pending){.ino = ino, .start_gen = gen};
        orphans_schedule(o, clock_now_usec());
        return 0;
}
