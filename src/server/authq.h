/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * MUNGE credentials decoded off the event loop, by one worker thread. A
 * decode is a blocking round trip to munged (auth.h), and a stalled munged
 * holds it for libmunge's timeout (about 10 s): on the loop, every connection
 * would wait. So is the look-up of the credential's uid that follows it
 * (userdb.h: NSS may be LDAP). The loop submits a job (a copy of the
 * credential); the worker decodes the jobs in order, one at a time, with
 * auth_decode() and, for a valid one, userdb_lookup() alone (no log, no
 * policy, no connection), and the loop hears of each through an eventfd and
 * hands the job's outcome to its callback. A job can be cancelled at any time
 * before that: its callback is then never called.
 */

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <systemd/sd-event.h>

#include "auth.h"
#include "list.h"

/* Called on the loop with the decode of the job's credential; the outcome's
 * payload is the callback's to take (what it leaves is freed after it). */
typedef void (*authq_done_fn)(void *userdata, struct auth_decoded *d);

struct authq_job;

/* Descriptors authq_init keeps open: the eventfd. */
#define AUTHQ_FDS 1

struct authq {
        sd_event_source *done_src; /* the eventfd, readable when jobs are done */
        int efd;
        const char *socket_path; /* munged's; NULL: libmunge's default */
        bool user_groups;        /* the look-up gets the uid's groups too (--run-as-requester) */
        char user_buf[16384];    /* the worker's: getpwuid_r's scratch space */
        bool ready;              /* lock, wake and the eventfd are made */
        bool started;            /* the worker runs: from the first job until authq_release */
        pthread_t thread;
        /* Under lock: */
        pthread_mutex_t lock;
        pthread_cond_t wake;
        LIST_HEAD(struct authq_job) todo; /* to decode, oldest first */
        LIST_HEAD(struct authq_job) done; /* decoded, for the loop */
        bool decoding;                    /* the worker is inside auth_decode */
        bool quit;
};

/* The eventfd and its source on event; the thread starts with the first job.
 * user_groups: the look-up after a decode gets the uid's groups, home and
 * shell for a command run as it (else its name, for the log). authq_release
 * undoes it, failed or not. */
int authq_init(struct authq *q, sd_event *event, const char *socket_path, bool user_groups);

/* Queues the credential cred (length bytes) for decoding, as *ret (the handle
 * for authq_cancel); done(userdata, d) is called on the loop once it is
 * decoded, unless the job is cancelled first. The first job starts the
 * worker. 0, or -errno (no memory, or the thread would not start). */
int authq_submit(struct authq *q, const char *cred, size_t length, authq_done_fn done,
                 void *userdata, struct authq_job **ret);

/* The job's requester is gone: its callback is never called. Freed now if the
 * worker has not taken it, else by the loop once the worker is through. */
void authq_cancel(struct authq *q, struct authq_job *job);

/* Whether the worker is inside a decode now (what authq_release would wait for). */
bool authq_decoding(struct authq *q);

/* Stops the worker, waiting for a decode in progress (a stalled munged: up to
 * libmunge's timeout), and frees every job left. */
void authq_release(struct authq *q);
