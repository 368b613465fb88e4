/* SPDX-License-Identifier: MIT */
/* A TMPDIR of its own for each command, and its removal (tmpdir.h). */
#include "tmpdir.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"

#define TMPDIR_NAME_BYTES 8 /* 16 hex digits: no command can guess another's */
#define TMPDIR_POLL_USEC (10 * USEC_PER_MSEC)

static struct tmpdir_job *tmpdir_ring_push(struct tmpdir_ring *q) {
        return &q->jobs[(q->head + q->count++) % TMPDIR_QUEUE];
}

static void tmpdir_ring_pop(struct tmpdir_ring *q, struct tmpdir_job *out) {
        *out = q->jobs[q->head];
        q->head = (q->head + 1) % TMPDIR_QUEUE;
        q->count--;
}

/* rmdir, as the loop or the worker does it: 0 when the directory is gone. */
static int tmpdir_rmdir(const char *path) {
        /* The base is ours and sticky: an empty directory of another user's goes. */
        return rmdir(path) == 0 || errno == ENOENT ? 0 : -errno;
}

/* What rmdir could not remove: a remover for what is left in it, else a word. */
static int tmpdir_follow_up(struct tmpdir_base *b, const struct spawn_creds *creds,
                            const char *path, int err) {
        int r;

        if (err != -ENOTEMPTY && err != -EEXIST)
                return err;
        tmpdir_reap(b);
        if (b->n_removers == TMPDIR_MAX_REMOVERS)
                return -EBUSY;
        r = spawn_remove_tree(b->env, creds, path, &b->removers[b->n_removers]);
        if (r < 0)
                return r;
        b->n_removers++;
        return 0;
}

static void tmpdir_follow_up_job(struct tmpdir_base *b, const struct tmpdir_job *job) {
        int r = tmpdir_follow_up(b, job->own_creds ? &job->creds : NULL, job->path, job->err);

        if (r < 0 && b->warn)
                b->warn(job->path, r);
}

/* The worker: rmdir of each job in todo, oldest first, until told to quit
 * with todo empty; what stays goes to back, and the eventfd wakes the loop.
 * Nothing else: no log, no process started. */
static void *tmpdir_worker(void *arg) {
        struct tmpdir_base *b = arg;
        const uint64_t one = 1;
        struct tmpdir_job job;

        (void) pthread_mutex_lock(&b->lock);
        for (;;) {
                while (!b->quit && b->todo.count == 0)
                        (void) pthread_cond_wait(&b->wake, &b->lock);
                if (b->todo.count == 0)
                        break;
                tmpdir_ring_pop(&b->todo, &job);
                b->doing = 1;
                (void) pthread_mutex_unlock(&b->lock);
                job.err = tmpdir_rmdir(job.path);
                (void) pthread_mutex_lock(&b->lock);
                b->doing = 0;
                if (job.err < 0) {
                        /* Room: a job is admitted only while todo, back and
                         * this one are fewer than TMPDIR_QUEUE. */
                        *tmpdir_ring_push(&b->back) = job;
                        (void) !write(b->efd, &one, sizeof one);
                }
        }
        (void) pthread_mutex_unlock(&b->lock);
        return NULL;
}

/* What the worker sends back, one job at a time: a remover may take a while to start. */
static void tmpdir_drain_back(struct tmpdir_base *b) {
        struct tmpdir_job job;

        for (;;) {
                (void) pthread_mutex_lock(&b->lock);
                if (b->back.count == 0) {
                        (void) pthread_mutex_unlock(&b->lock);
                        return;
                }
                tmpdir_ring_pop(&b->back, &job);
                (void) pthread_mutex_unlock(&b->lock);
                tmpdir_follow_up_job(b, &job);
        }
}

/* The eventfd is read before back is taken: a job sent back later comes
 * with a write of its own. */
static int tmpdir_on_back(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        uint64_t count;

        (void) s;
        (void) revents;
        (void) !read(fd, &count, sizeof count);
        tmpdir_drain_back(userdata);
        return 0;
}

/* Every signal stays blocked in the worker: sd-event reads the server's
 * through a signalfd, and one the worker did not block could be delivered
 * to it instead. */
static int tmpdir_start_worker(struct tmpdir_base *b, sd_event *event) {
        sigset_t all, saved;
        int r;

        b->todo.jobs = calloc(TMPDIR_QUEUE, sizeof *b->todo.jobs);
        b->back.jobs = calloc(TMPDIR_QUEUE, sizeof *b->back.jobs);
        if (!b->todo.jobs || !b->back.jobs)
                return -ENOMEM;
        b->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (b->efd < 0)
                return -errno;
        r = sd_event_add_io(event, &b->back_src, b->efd, EPOLLIN, tmpdir_on_back, b);
        if (r < 0)
                return r;
        if ((r = pthread_mutex_init(&b->lock, NULL)) != 0)
                return -r;
        if ((r = pthread_cond_init(&b->wake, NULL)) != 0) {
                (void) pthread_mutex_destroy(&b->lock);
                return -r;
        }
        (void) sigfillset(&all);
        r = pthread_sigmask(SIG_SETMASK, &all, &saved);
        if (r == 0) {
                r = pthread_create(&b->thread, NULL, tmpdir_worker, b);
                (void) pthread_sigmask(SIG_SETMASK, &saved, NULL);
        }
        if (r != 0) {
                (void) pthread_cond_destroy(&b->wake);
                (void) pthread_mutex_destroy(&b->lock);
                return -r;
        }
        b->worker = true;
        return 0;
}

static void tmpdir_free_worker(struct tmpdir_base *b) {
        b->back_src = sd_event_source_disable_unref(b->back_src);
        if (b->efd >= 0)
                (void) close(b->efd);
        b->efd = -1;
        free(b->todo.jobs);
        free(b->back.jobs);
        b->todo.jobs = b->back.jobs = NULL;
}

/* The server's own directory: 01733 under /tmp. */
static int tmpdir_make_base(struct tmpdir_base *b, char *err, size_t err_size) {
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

int tmpdir_init(struct tmpdir_base *b, sd_event *event, struct spawn_env *env, tmpdir_warn_fn warn,
                char *err, size_t err_size) {
        int r;

        *b = (struct tmpdir_base){.env = env, .warn = warn, .efd = -1};
        r = tmpdir_make_base(b, err, err_size);
        if (r < 0 || !event)
                return r;
        r = tmpdir_start_worker(b, event);
        if (r < 0) {
                snprintf(err, err_size,
                         "starting the thread that removes the commands' TMPDIRs: %s", strerror(-r));
                tmpdir_free_worker(b);
                (void) rmdir(b->path);
                b->path[0] = '\0';
        }
        return r;
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

/* Into the worker's todo, if it has room: whether it took it. */
static bool tmpdir_hand_over(struct tmpdir_base *b, const struct spawn_creds *creds,
                             const char *path) {
        struct tmpdir_job *job;
        bool room;

        if (!b->worker || strlen(path) >= sizeof job->path)
                return false;
        (void) pthread_mutex_lock(&b->lock);
        room = b->todo.count + b->back.count + b->doing < TMPDIR_QUEUE;
        if (room) {
                job = tmpdir_ring_push(&b->todo);
                memcpy(job->path, path, strlen(path) + 1);
                job->own_creds = creds != NULL;
                if (creds)
                        job->creds = *creds;
                (void) pthread_cond_signal(&b->wake);
        }
        (void) pthread_mutex_unlock(&b->lock);
        return room;
}

int tmpdir_remove(struct tmpdir_base *b, const struct spawn_creds *creds, const char *path) {
        if (tmpdir_hand_over(b, creds, path))
                return 0;
        return tmpdir_follow_up(b, creds, path, tmpdir_rmdir(path));
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

/* The worker's last jobs done, and what it sent back started. */
static void tmpdir_stop_worker(struct tmpdir_base *b) {
        if (!b->worker)
                return;
        (void) pthread_mutex_lock(&b->lock);
        b->quit = true;
        (void) pthread_cond_signal(&b->wake);
        (void) pthread_mutex_unlock(&b->lock);
        (void) pthread_join(b->thread, NULL);
        b->worker = false;
        tmpdir_drain_back(b);
        (void) pthread_cond_destroy(&b->wake);
        (void) pthread_mutex_destroy(&b->lock);
        tmpdir_free_worker(b);
}

int tmpdir_release(struct tmpdir_base *b, uint64_t wait_usec) {
        uint64_t deadline = clock_now_usec() + wait_usec;
        int left = 0;

        tmpdir_stop_worker(b);
        if (!b->path[0])
                return 0;
        for (tmpdir_reap(b); b->n_removers > 0 && clock_now_usec() < deadline; tmpdir_reap(b))
                (void) usleep(TMPDIR_POLL_USEC);
        if (rmdir(b->path) < 0)
                left = errno == ENOTEMPTY || errno == EEXIST ? 1 : -errno;
        b->path[0] = '\0';
        return left;
}
