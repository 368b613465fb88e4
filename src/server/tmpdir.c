/* SPDX-License-Identifier: MIT */
/* A TMPDIR of its own for each command, and its removal (tmpdir.h). */
#include "tmpdir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/fsuid.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <sys/xattr.h>
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

        /* ENOTDIR: a file or a link put in its place (rm -rf takes the link, not its target). */
        if (err != -ENOTEMPTY && err != -EEXIST && err != -ENOTDIR)
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

/* The user a command runs as (creds; NULL: env's), who owns its directory. */
static void tmpdir_owner(const struct tmpdir_base *b, const struct spawn_creds *creds, uid_t *uid,
                         gid_t *gid) {
        if (!creds)
                creds = &b->env->creds;
        *uid = creds->change ? creds->uid : b->server_uid;
        *gid = creds->change ? creds->gid : b->server_gid;
}

/* This thread's file system user and group (its alone, unlike the
 * process's uid): whether they are uid and gid now. */
static bool tmpdir_fs_user(uid_t uid, gid_t gid) {
        (void) setfsgid(gid);
        (void) setfsuid(uid);
        /* setfsuid says only what it was: asked again, it says what it is. */
        return (uid_t) setfsuid(uid) == uid && (gid_t) setfsgid(gid) == gid;
}

/* Opened as its owner, who may read it where the server may not: the
 * switch worked at start (tmpdir_learn_fresh), and one that did not now
 * would only fail the open. -errno. */
static int tmpdir_open_as(const struct tmpdir_base *b, const char *path, uid_t uid, gid_t gid) {
        bool as_owner = uid != b->server_uid || gid != b->server_gid;
        int fd;

        if (as_owner) {
                (void) setfsgid(gid);
                (void) setfsuid(uid);
        }
        fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                fd = -errno;
        if (as_owner) {
                (void) setfsuid(b->server_uid);
                (void) setfsgid(b->server_gid);
        }
        return fd;
}

/* How a directory looks, beside its mode and owner: what a command could
 * have changed and a new one would not have. */
static bool tmpdir_look(int fd, struct tmpdir_fresh *look, struct stat *st) {
        struct fsxattr fsx = {0};

        if (fstat(fd, st) < 0 || flistxattr(fd, NULL, 0) != 0)
                return false;
        look->size = st->st_size;
        look->nlink = st->st_nlink;
        look->flags = 0;
        look->flags_err = ioctl(fd, FS_IOC_GETFLAGS, &look->flags) < 0 ? errno : 0;
        look->fsxattr_err = ioctl(fd, FS_IOC_FSGETXATTR, &fsx) < 0 ? errno : 0;
        look->xflags = fsx.fsx_xflags;
        look->projid = fsx.fsx_projid;
        return true;
}

/* Whether a command's directory is as a new one of its user's would be:
 * empty, 0700, its owner's, with no extended attribute (no ACL), and the
 * size, link count and inode flags (chattr) of one made here; and if so,
 * its seal, for the next command's child to check. */
static bool tmpdir_is_fresh(const struct tmpdir_base *b, const char *path, uid_t uid, gid_t gid,
                            struct spawn_tmpdir_seal *seal) {
        struct tmpdir_fresh look;
        struct stat st;
        int fd = tmpdir_open_as(b, path, uid, gid);
        bool fresh;

        if (fd < 0)
                return false;
        fresh = tmpdir_look(fd, &look, &st) && S_ISDIR(st.st_mode) &&
                (st.st_mode & 07777) == 0700 && st.st_uid == uid && st.st_gid == gid &&
                look.size == b->fresh.size && look.nlink == b->fresh.nlink &&
                look.flags_err == b->fresh.flags_err && look.flags == b->fresh.flags &&
                look.fsxattr_err == b->fresh.fsxattr_err && look.xflags == b->fresh.xflags &&
                look.projid == b->fresh.projid && spawn_dir_is_empty(fd) == 1;
        (void) close(fd);
        if (fresh)
                *seal = (struct spawn_tmpdir_seal){.ino = st.st_ino,
                                                   .ctime_sec = st.st_ctim.tv_sec,
                                                   .ctime_nsec = (uint32_t) st.st_ctim.tv_nsec,
                                                   .mode = st.st_mode,
                                                   .uid = st.st_uid,
                                                   .gid = st.st_gid};
        return fresh;
}

/* A wholly finished command's directory, renamed first (its old path gone,
 * as promised, and a new name no one knows), then looked at: true when it
 * is as a new one, to keep. Either way job->path is its name now. */
static bool tmpdir_renew(const struct tmpdir_base *b, struct tmpdir_job *job) {
        char path[SPAWN_TMPDIR_MAX];

        if (tmpdir_name(b, path, sizeof path) < 0)
                return false;
        /* NOREPLACE: a name drawn twice must not take another's place. */
        if (renameat2(AT_FDCWD, job->path, AT_FDCWD, path, RENAME_NOREPLACE) < 0)
                return false;
        memcpy(job->path, path, sizeof path);
        return tmpdir_is_fresh(b, job->path, job->uid, job->gid, &job->seal);
}

/* The removal of a kept directory, as its user's: what another process of
 * that user put in it since goes as theirs. */
static void tmpdir_ready_job(const struct tmpdir_base *b, const struct tmpdir_ready *ready,
                             struct tmpdir_job *job) {
        *job = (struct tmpdir_job){.uid = ready->seal.uid, .gid = ready->seal.gid};
        memcpy(job->path, ready->path, sizeof job->path);
        job->own_creds = job->uid != b->cmd_uid || job->gid != b->cmd_gid;
        job->creds = (struct spawn_creds){.change = true,
                                          .drop_caps = b->env->creds.drop_caps,
                                          .uid = job->uid,
                                          .gid = job->gid};
}

/* Under lock: the job's directory kept. When full, the one kept longest
 * makes way, and the job becomes its removal (true). */
static bool tmpdir_keep(struct tmpdir_base *b, struct tmpdir_job *job) {
        bool full = b->n_ready == TMPDIR_READY;
        struct tmpdir_ready out = {0};

        if (full) {
                out = b->ready[0];
                memmove(&b->ready[0], &b->ready[1], (TMPDIR_READY - 1) * sizeof *b->ready);
                b->n_ready--;
        }
        memcpy(b->ready[b->n_ready].path, job->path, sizeof job->path);
        b->ready[b->n_ready++].seal = job->seal;
        if (full)
                tmpdir_ready_job(b, &out, job);
        return full;
}

/* One job: the directory kept for the next command (true), or removed
 * (job->err). */
static bool tmpdir_do_job(struct tmpdir_base *b, struct tmpdir_job *job, bool keep) {
        if (keep && job->reuse && tmpdir_renew(b, job))
                return true;
        job->err = tmpdir_rmdir(job->path);
        return false;
}

/* The worker: each job in todo, oldest first, until told to quit with todo
 * empty; what stays goes to back, and the eventfd wakes the loop. Nothing
 * else: no log, no process started. */
static void *tmpdir_worker(void *arg) {
        struct tmpdir_base *b = arg;
        const uint64_t one = 1;
        struct tmpdir_job job;
        bool keep, kept;

        (void) pthread_mutex_lock(&b->lock);
        for (;;) {
                while (!b->quit && b->todo.count == 0)
                        (void) pthread_cond_wait(&b->wake, &b->lock);
                if (b->todo.count == 0)
                        break;
                tmpdir_ring_pop(&b->todo, &job);
                b->doing = 1;
                keep = b->reuse && !b->quit;
                (void) pthread_mutex_unlock(&b->lock);
                job.err = 0;
                kept = tmpdir_do_job(b, &job, keep);
                (void) pthread_mutex_lock(&b->lock);
                if (kept && tmpdir_keep(b, &job)) {
                        (void) pthread_mutex_unlock(&b->lock);
                        job.err = tmpdir_rmdir(job.path);
                        (void) pthread_mutex_lock(&b->lock);
                }
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

/* What a directory made here looks like, from one made and removed now.
 * Reuse stays off where a mkdir and an rmdir cost less than a rename and a
 * look (a file system in memory: 5 and 4 us on tmpfs here, and keeping
 * made nbnetd 4% slower there), where a fresh one cannot be told (no
 * extended attributes, or one on every new directory), or where the
 * commands' user cannot be taken to look (setfsuid refused: a system call
 * filter). */
static void tmpdir_learn_fresh(struct tmpdir_base *b) {
        char path[SPAWN_TMPDIR_MAX];
        struct statfs fs;
        struct stat st;
        uid_t uid;
        gid_t gid;
        int fd;

        /* Tried on every file system: a refusal says the filter is wrong. */
        tmpdir_owner(b, NULL, &uid, &gid);
        b->cmd_uid = uid;
        b->cmd_gid = gid;
        if (uid != b->server_uid || gid != b->server_gid) {
                b->cannot_look = !tmpdir_fs_user(uid, gid);
                (void) tmpdir_fs_user(b->server_uid, b->server_gid);
        }
        if (b->cannot_look || statfs(b->path, &fs) < 0 || fs.f_type == TMPFS_MAGIC ||
            fs.f_type == RAMFS_MAGIC)
                return;
        if (tmpdir_name(b, path, sizeof path) < 0 || mkdir(path, 0700) < 0)
                return;
        fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        b->reuse = fd >= 0 && tmpdir_look(fd, &b->fresh, &st);
        if (fd >= 0)
                (void) close(fd);
        (void) rmdir(path);
}

/* Every signal stays blocked in the worker: sd-event reads the server's
 * through a signalfd, and one the worker did not block could be delivered
 * to it instead. */
static int tmpdir_start_worker(struct tmpdir_base *b, sd_event *event) {
        sigset_t all, saved;
        int r;

        b->todo.jobs = calloc(TMPDIR_QUEUE, sizeof *b->todo.jobs);
        b->back.jobs = calloc(TMPDIR_QUEUE, sizeof *b->back.jobs);
        b->ready = calloc(TMPDIR_READY, sizeof *b->ready);
        if (!b->todo.jobs || !b->back.jobs || !b->ready)
                return -ENOMEM;
        tmpdir_learn_fresh(b);
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
        free(b->ready);
        b->todo.jobs = b->back.jobs = NULL;
        b->ready = NULL;
        b->n_ready = 0;
        b->reuse = false;
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

        *b = (struct tmpdir_base){
                .env = env, .warn = warn, .efd = -1, .server_uid = geteuid(), .server_gid = getegid()};
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

int tmpdir_take(struct tmpdir_base *b, const struct spawn_creds *creds, char *path, size_t size,
                struct spawn_tmpdir_seal *seal) {
        bool kept = false;
        uid_t uid;
        gid_t gid;
        int r;

        if (!b->reuse)
                return tmpdir_name(b, path, size);
        tmpdir_owner(b, creds, &uid, &gid);
        (void) pthread_mutex_lock(&b->lock);
        for (size_t i = b->n_ready; i-- > 0 && !kept;)
                if (b->ready[i].seal.uid == uid && b->ready[i].seal.gid == gid &&
                    strlen(b->ready[i].path) < size) {
                        memcpy(path, b->ready[i].path, strlen(b->ready[i].path) + 1);
                        *seal = b->ready[i].seal;
                        /* The oldest stay first: the one that waited longest goes when full. */
                        memmove(&b->ready[i], &b->ready[i + 1],
                                (b->n_ready - i - 1) * sizeof *b->ready);
                        b->n_ready--;
                        kept = true;
                }
        (void) pthread_mutex_unlock(&b->lock);
        if (kept)
                return 1;
        r = tmpdir_name(b, path, size);
        return r < 0 ? r : 0;
}

/* Into the worker's todo, if it has room: whether it took it. */
static bool tmpdir_hand_over(struct tmpdir_base *b, const struct spawn_creds *creds,
                             const char *path, bool whole) {
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
                job->reuse = whole;
                tmpdir_owner(b, creds, &job->uid, &job->gid);
                (void) pthread_cond_signal(&b->wake);
        }
        (void) pthread_mutex_unlock(&b->lock);
        return room;
}

int tmpdir_remove(struct tmpdir_base *b, const struct spawn_creds *creds, const char *path,
                  bool whole) {
        if (tmpdir_hand_over(b, creds, path, whole))
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
        b->worker = b->reuse = false;
        tmpdir_drain_back(b);
        /* Kept for commands that will not come: empty unless a process of
         * their user that held one open put something in it since. */
        for (size_t i = 0; i < b->n_ready; i++) {
                struct tmpdir_job job;

                tmpdir_ready_job(b, &b->ready[i], &job);
                job.err = tmpdir_rmdir(job.path);
                if (job.err < 0)
                        tmpdir_follow_up_job(b, &job);
        }
        b->n_ready = 0;
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
