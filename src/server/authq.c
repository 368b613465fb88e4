/* SPDX-License-Identifier: MIT */
/* MUNGE credentials decoded off the event loop, by one worker thread (authq.h). */
#include "authq.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "userdb.h"

/* Where a job is: each place has one owner. */
enum authq_place {
        AUTHQ_TODO,     /* in todo: the loop may still take it back */
        AUTHQ_DECODING, /* the worker's, inside auth_decode */
        AUTHQ_DONE,     /* in done, or being handed over: the loop's */
};

struct authq_job {
        LIST_FIELDS(struct authq_job); /* in todo or in done */
        enum authq_place place;
        bool cancelled; /* the loop's alone: its requester went */
        authq_done_fn done;
        void *userdata;
        struct auth_decoded out;
        char cred[]; /* NUL-terminated */
};

static void authq_free_job(struct authq_job *job) {
        auth_credential_release(&job->out.cred);
        free(job);
}

static void authq_free_list(struct authq_job *job) {
        while (job) {
                struct authq_job *next = job->next;
                authq_free_job(job);
                job = next;
        }
}

/* The worker: decodes what todo holds, oldest first, and looks up the uid
 * of each valid credential, until told to quit. It never sees who asked;
 * the eventfd tells the loop that done has more. */
static void *authq_worker(void *arg) {
        struct authq *q = arg;
        const uint64_t one = 1;

        (void) pthread_mutex_lock(&q->lock);
        for (;;) {
                struct authq_job *job;
                while (!q->quit && LIST_IS_EMPTY(q->todo))
                        (void) pthread_cond_wait(&q->wake, &q->lock);
                if (q->quit)
                        break;
                job = q->todo.first;
                LIST_REMOVE(q->todo, job);
                job->place = AUTHQ_DECODING;
                q->decoding = true;
                (void) pthread_mutex_unlock(&q->lock);
                if (auth_decode(q->socket_path, job->cred, &job->out) == AUTH_OK)
                        (void) userdb_lookup(job->out.cred.uid, job->out.cred.gid, q->user_groups,
                                             &job->out.user, q->user_buf, sizeof q->user_buf);
                (void) pthread_mutex_lock(&q->lock);
                q->decoding = false;
                job->place = AUTHQ_DONE;
                LIST_APPEND(q->done, job);
                /* Fails only at a count near 2^64: the loop is awake by then. */
                (void) !write(q->efd, &one, sizeof one);
        }
        (void) pthread_mutex_unlock(&q->lock);
        return NULL;
}

/* The eventfd is read before done is taken: a job the worker adds later
 * comes with a write of its own, and so with another wake-up. */
static int authq_on_done(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        struct authq *q = userdata;
        struct authq_job *job, *next;
        uint64_t count;

        (void) s;
        (void) revents;
        (void) !read(fd, &count, sizeof count);
        (void) pthread_mutex_lock(&q->lock);
        job = q->done.first;
        q->done.first = q->done.last = NULL;
        (void) pthread_mutex_unlock(&q->lock);
        /* A callback may cancel a later job of this batch: it is only marked. */
        for (; job; job = next) {
                next = job->next;
                if (!job->cancelled)
                        job->done(job->userdata, &job->out);
                authq_free_job(job);
        }
        return 0;
}

int authq_init(struct authq *q, sd_event *event, const char *socket_path, bool user_groups) {
        int r;

        *q = (struct authq){.efd = -1, .socket_path = socket_path, .user_groups = user_groups};
        r = -pthread_mutex_init(&q->lock, NULL);
        if (r < 0)
                return r;
        r = -pthread_cond_init(&q->wake, NULL);
        if (r < 0) {
                (void) pthread_mutex_destroy(&q->lock);
                return r;
        }
        q->ready = true;
        q->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (q->efd < 0)
                return -errno;
        return sd_event_add_io(event, &q->done_src, q->efd, EPOLLIN, authq_on_done, q);
}

/* Every signal stays blocked in the worker: sd-event reads nbnetd's through
 * a signalfd, and a signal the worker did not block could be delivered to it
 * instead (SIGTERM's default action would end the server). */
static int authq_start(struct authq *q) {
        sigset_t all, saved;
        int r;

        (void) sigfillset(&all);
        r = pthread_sigmask(SIG_SETMASK, &all, &saved);
        if (r != 0)
                return -r;
        r = pthread_create(&q->thread, NULL, authq_worker, q);
        (void) pthread_sigmask(SIG_SETMASK, &saved, NULL);
        if (r != 0)
                return -r;
        q->started = true;
        return 0;
}

int authq_submit(struct authq *q, const char *cred, size_t length, authq_done_fn done,
                 void *userdata, struct authq_job **ret) {
        struct authq_job *job;
        int r;

        *ret = NULL;
        if (!q->started && (r = authq_start(q)) < 0)
                return r;
        job = malloc(sizeof *job + length + 1);
        if (!job)
                return -ENOMEM;
        *job = (struct authq_job){.place = AUTHQ_TODO, .done = done, .userdata = userdata};
        memcpy(job->cred, cred, length);
        job->cred[length] = '\0';
        (void) pthread_mutex_lock(&q->lock);
        LIST_APPEND(q->todo, job);
        (void) pthread_cond_signal(&q->wake);
        (void) pthread_mutex_unlock(&q->lock);
        *ret = job;
        return 0;
}

void authq_cancel(struct authq *q, struct authq_job *job) {
        bool taken_back;

        (void) pthread_mutex_lock(&q->lock);
        taken_back = job->place == AUTHQ_TODO;
        if (taken_back)
                LIST_REMOVE(q->todo, job);
        else
                job->cancelled = true;
        (void) pthread_mutex_unlock(&q->lock);
        if (taken_back)
                authq_free_job(job);
}

bool authq_decoding(struct authq *q) {
        bool busy;

        if (!q->started)
                return false;
        (void) pthread_mutex_lock(&q->lock);
        busy = q->decoding;
        (void) pthread_mutex_unlock(&q->lock);
        return busy;
}

void authq_release(struct authq *q) {
        if (!q->ready)
                return;
        if (q->started) {
                (void) pthread_mutex_lock(&q->lock);
                q->quit = true;
                (void) pthread_cond_signal(&q->wake);
                (void) pthread_mutex_unlock(&q->lock);
                (void) pthread_join(q->thread, NULL);
                q->started = false;
        }
        authq_free_list(q->todo.first);
        authq_free_list(q->done.first);
        q->todo.first = q->todo.last = q->done.first = q->done.last = NULL;
        q->done_src = sd_event_source_disable_unref(q->done_src);
        if (q->efd >= 0)
                (void) close(q->efd);
        q->efd = -1;
        (void) pthread_cond_destroy(&q->wake);
        (void) pthread_mutex_destroy(&q->lock);
        q->ready = false;
}
