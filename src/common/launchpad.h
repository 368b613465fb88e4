/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The launch pads spawn.c's children start on, so that the server need not
 * wait for one to exec before it goes on. A pad is a stack (a guard page
 * below it) and a data area for copies of what the child reads until it
 * execs, since the server rewrites its own for the next command at once; and
 * a word, non-zero until the child is done with the pad: the kernel clears a
 * clone(CLONE_VM) child's (in the pad) at its exec or death
 * (CLONE_CHILD_CLEARTID), a fork clears its own (on a page shared with the
 * forks: a fork has its own copy of the rest) once it is set up. A pad is
 * free again at the next launchpad_take() after that; a start that failed
 * (its error in the word, or killed by us) is kept apart for its caller's
 * launchpad_collect(), in a record as big as the children that may wait to
 * be collected (launchpad_expect). A child still starting is looked at by
 * the next launchpad_take() or launchpad_watch(): killed if stopped (ptrace, SIGSTOP), or once
 * LAUNCHPAD_START_DEADLINE_SEC have passed since its clone whatever its
 * state (a freeze, a hang); with every pad busy, the take waits for the
 * oldest under the same rules. Never logs.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Children starting at once; one more waits for the oldest to be done. */
#define LAUNCHPAD_MAX 32
/* Each pad's stack. */
#define LAUNCHPAD_STACK_SIZE ((size_t) 64 * 1024)
/* A child that has not started its program this long after its clone is
 * killed (-ETIMEDOUT); one seen stopped before, at once (-ECANCELED). */
#define LAUNCHPAD_START_DEADLINE_SEC 5

/* Where a child says it is done with its pad: pending goes 0 once err holds
 * its setup's error (or 0). */
struct pad_word {
        pid_t pending;
        int err;
};

struct pad {
        char *map;             /* guard page, stack, data; NULL until first taken */
        char *stack_top;       /* where the child's stack starts (it grows down) */
        void *data;            /* data_size bytes for the caller's copies */
        struct pad_word *word; /* own, or the shared page's for a fork */
        struct pad_word own;
        pid_t pid;          /* its child; 0: free */
        int64_t since_nsec; /* its clone, CLOCK_MONOTONIC */
        int killed;         /* -ECANCELED, -ETIMEDOUT, -ESRCH: known by us, not by its word */
        bool shares_mm;     /* a CLONE_VM child: our mm is its until it execs */
        bool switches;      /* ... and it changes users, which makes our mm non-dumpable */
        bool collect;       /* a failed start is kept for launchpad_collect() */
};

/* A start that failed, until collected: its pid and why. */
struct pad_failure {
        pid_t pid;
        int err;
};

struct launchpad {
        struct pad pad[LAUNCHPAD_MAX];
        struct pad_word *words; /* LAUNCHPAD_MAX, on a MAP_SHARED page */
        size_t data_size;
        unsigned switching;         /* pads whose child switches users and shares our mm */
        int dumpable;               /* PR_GET_DUMPABLE at launchpad_init, to put back */
        struct pad_failure *failed; /* n_slots; pid 0: an empty slot */
        size_t n_slots, n_failed, failed_next;
};

/* Pads with data_size bytes of data each (mapped when first taken): 0 or -errno. */
int launchpad_init(struct launchpad *lp, size_t data_size);

/* At most n children of launchpad_take() for a fork or a CLONE_VM child
 * that its caller collects are not collected yet at any time (the
 * commands that may run at once): 0 or -ENOMEM. Without it, 2 *
 * LAUNCHPAD_MAX. Past it, a failed start may be forgotten (collected as
 * started). */
int launchpad_expect(struct launchpad *lp, size_t n);

/* Waits for every child still starting (killing as above), then unmaps. */
void launchpad_release(struct launchpad *lp);

/* A free pad, for a fork or for a CLONE_VM child (its word pending, its
 * data the caller's to fill): pads whose child is done are freed first;
 * with none free, the oldest starting one is waited for. NULL with errno
 * ENOMEM (mmap). */
struct pad *launchpad_take(struct launchpad *lp, bool fork);

/* The clone of pid on p is made (pid < 0: failed, p is free again), every
 * signal of ours still blocked. shares_mm: a CLONE_VM child; switches: it
 * changes users; collect: its caller will ask how its start went. */
void launchpad_started(struct launchpad *lp, struct pad *p, pid_t pid, bool shares_mm,
                       bool switches, bool collect);

/* Looks at the children still starting, as launchpad_take() does (frees
 * the pads of those done, kills those stopped or past the deadline):
 * whether any is still starting. */
bool launchpad_watch(struct launchpad *lp);

/* Waits until p's child is done with it, as a vfork parent would (killing
 * it as above), and frees p: 0 if it started, else why not (-errno of its
 * setup, -ECANCELED, -ETIMEDOUT, -ESRCH: it died without a word). */
int launchpad_wait(struct launchpad *lp, struct pad *p);

/* Once pid, started on pad index i, has exited, before it is reaped (or at
 * least before the next launchpad_take(): its pid may be reused after): 0
 * if it started its program, else why not, as launchpad_wait. Once per
 * child. */
int launchpad_collect(struct launchpad *lp, int i, pid_t pid);

/* The index of p, for launchpad_collect. */
int launchpad_index(const struct launchpad *lp, const struct pad *p);
