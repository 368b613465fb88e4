/* SPDX-License-Identifier: MIT */
/* nbnetd's pool of per-command cgroups (cgroup.h). */
#include "cgroup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/magic.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/xattr.h>
#include <unistd.h>

/* How deep the cgroups a command makes inside its own are followed to
 * remove them: a command that nests deeper leaves its slot unusable. */
#define CGROUP_NEST_MAX 32
/* At exit, how long a killed slot's processes get to be gone. */
#define CGROUP_EXIT_WAIT_MS 2000

/* Where the cgroup2 hierarchy is mounted: alone, or beside v1 (hybrid). */
static const char *const cgroup_mounts[] = {"/sys/fs/cgroup", "/sys/fs/cgroup/unified"};

static const char *cgroup_mount(void) {
        for (size_t i = 0; i < sizeof cgroup_mounts / sizeof cgroup_mounts[0]; i++) {
                struct statfs sf;
                if (statfs(cgroup_mounts[i], &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC)
                        return cgroup_mounts[i];
        }
        return NULL;
}

/* Our own cgroup v2 path, from /proc/self/cgroup's "0::PATH" line. */
static int cgroup_own_path(char *path, size_t size) {
        char line[4096];
        int r = -ENOENT;
        FILE *f = fopen("/proc/self/cgroup", "re");

        if (!f)
                return -errno;
        while (fgets(line, sizeof line, f)) {
                if (strncmp(line, "0::", 3) != 0)
                        continue;
                line[strcspn(line, "\n")] = '\0';
                r = snprintf(path, size, "%s", line + 3) < (int) size ? 0 : -ENAMETOOLONG;
                break;
        }
        (void) fclose(f);
        return r;
}

/* Writes text to a file of a cgroup directory. */
static int cgroup_write(int dir_fd, const char *file, const char *text) {
        int fd = openat(dir_fd, file, O_WRONLY | O_CLOEXEC), r = 0;
        size_t len = strlen(text);

        if (fd < 0)
                return -errno;
        if (write(fd, text, len) != (ssize_t) len)
                r = -errno;
        close(fd);
        return r;
}

/* Reads a small file through an open fd into buf, from its start. */
static int cgroup_read_fd(int fd, char *buf, size_t size) {
        ssize_t n = pread(fd, buf, size - 1, 0);

        if (n < 0)
                return -errno;
        buf[n] = '\0';
        return 0;
}

/* Reads a small file of a cgroup directory into buf. */
static int cgroup_read(int dir_fd, const char *file, char *buf, size_t size) {
        int fd = openat(dir_fd, file, O_RDONLY | O_CLOEXEC), r;

        if (fd < 0)
                return -errno;
        r = cgroup_read_fd(fd, buf, size);
        (void) close(fd);
        return r;
}

/* FILE of the slot's directory, cmd-INDEX under the pool's, opened. */
static int cgroup_slot_open(const struct cgroup_slot *s, const char *file, int flags) {
        char path[64];

        snprintf(path, sizeof path, "cmd-%u/%s", s->index, file);
        return openat(s->base_fd, path, flags | O_CLOEXEC);
}

/* Reads a small file of the slot into buf. */
static int cgroup_slot_read(const struct cgroup_slot *s, const char *file, char *buf, size_t size) {
        int fd = cgroup_slot_open(s, file, O_RDONLY), r;

        if (fd < 0)
                return -errno;
        r = cgroup_read_fd(fd, buf, size);
        (void) close(fd);
        return r;
}

/* Writes text to a file of the slot. */
static int cgroup_slot_write(const struct cgroup_slot *s, const char *file, const char *text) {
        int fd = cgroup_slot_open(s, file, O_WRONLY), r = 0;
        size_t len = strlen(text);

        if (fd < 0)
                return -errno;
        if (write(fd, text, len) != (ssize_t) len)
                r = -errno;
        (void) close(fd);
        return r;
}

/* A whole decimal number; -EBADMSG for anything else. */
static int cgroup_parse_u64(const char *text, uint64_t *ret) {
        char *end;
        unsigned long long v;

        if (*text < '0' || *text > '9')
                return -EBADMSG;
        errno = 0;
        v = strtoull(text, &end, 10);
        if (errno != 0 || (*end != '\0' && *end != '\n' && *end != ' '))
                return -EBADMSG;
        *ret = v;
        return 0;
}

/* The value of "KEY N" in a flat-keyed file's text. */
static int cgroup_key(const char *text, const char *key, uint64_t *ret) {
        size_t len = strlen(key);

        for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
                if (strncmp(p, key, len) == 0 && p[len] == ' ')
                        return cgroup_parse_u64(p + len + 1, ret);
        return -ENOENT;
}

/* Whether the cgroup of events_fd (its cgroup.events) holds a process: 1, 0, or -errno. */
static int cgroup_events_populated(int events_fd) {
        char text[256] = "";
        uint64_t v;
        int r = cgroup_read_fd(events_fd, text, sizeof text);

        if (r >= 0)
                r = cgroup_key(text, "populated", &v);
        return r < 0 ? r : v != 0;
}

/* systemd marks a cgroup it delegated (Delegate=yes) with this xattr (v251);
 * an unprivileged service's delegated cgroup is also owned by its user. */
static bool cgroup_delegated(const char *path) {
        char value[8];
        struct stat st;

        if (getxattr(path, "trusted.delegate", value, sizeof value) > 0 ||
            getxattr(path, "user.delegate", value, sizeof value) > 0)
                return true;
        return geteuid() != 0 && stat(path, &st) == 0 && st.st_uid == geteuid();
}

/* Delegated: we move into supervisor/ (no process may stay in a cgroup whose
 * children have controllers) and turn on the controllers the limits need. */
static int cgroup_use_delegated(struct cgroup_pool *p, char *why, size_t why_size) {
        int r;

        if (mkdirat(p->base_fd, "supervisor", 0755) < 0 && errno != EEXIST)
                return r = -errno,
                       snprintf(why, why_size, "mkdir %s/supervisor: %s", p->base, strerror(-r)), r;
        r = cgroup_write(p->base_fd, "supervisor/cgroup.procs", "0");
        if (r < 0)
                snprintf(why, why_size, "moving nbnetd into %s/supervisor: %s", p->base,
                         strerror(-r));
        return r;
}

/* Who made a tree nbnetd.PID/: its PID namespace (the inode of
 * /proc/self/ns/pid), its pid there, and its start time (clock ticks after
 * boot), which tells it from a later process of the same pid. */
struct cgroup_owner {
        uint64_t pidns, pid, start;
};

/* The xattr on a tree nbnetd.PID/ that says which nbnetd made it, flat-keyed
 * as a cgroup file: "pidns N\npid N\nstart N\n". */
#define CGROUP_OWNER_XATTR "trusted.nbnet.owner"

/* The start time of process pid ("self" for 0) in clock ticks after boot,
 * field 22 of /proc/PID/stat: 0, -ENOENT when there is no such process, or
 * -errno. */
static int cgroup_start_time(uint64_t pid, uint64_t *ret) {
        char path[64], text[1024];
        const char *p;
        ssize_t n;
        int fd;

        if (pid == 0)
                snprintf(path, sizeof path, "/proc/self/stat");
        else
                snprintf(path, sizeof path, "/proc/%" PRIu64 "/stat", pid);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return errno == ESRCH ? -ENOENT : -errno;
        n = read(fd, text, sizeof text - 1);
        (void) close(fd);
        if (n < 0)
                return errno == ESRCH ? -ENOENT : -errno;
        text[n] = '\0';
        /* The name (field 2) is in parentheses and may hold anything: the
         * fields after its last ')' start at 3. */
        p = strrchr(text, ')');
        for (int field = 2; p && field < 22; field++)
                p = strchr(p + 1, ' ');
        return p ? cgroup_parse_u64(p + 1, ret) : -EBADMSG;
}

/* Who we are, as CGROUP_OWNER_XATTR says it: our PID namespace's inode,
 * our pid and our start time. *proc_ours is whether /proc is our PID
 * namespace's (its "self" is our pid): only then can another pid be looked
 * up in it. */
static int cgroup_self_owner(struct cgroup_owner *ret, bool *proc_ours) {
        char self[32], expect[32];
        struct stat st;
        ssize_t n;
        int r;

        if (stat("/proc/self/ns/pid", &st) < 0)
                return -errno;
        *ret = (struct cgroup_owner){.pidns = (uint64_t) st.st_ino, .pid = (uint64_t) getpid()};
        r = cgroup_start_time(0, &ret->start);
        if (r < 0)
                return r;
        n = readlink("/proc/self", self, sizeof self - 1);
        snprintf(expect, sizeof expect, "%" PRIu64, ret->pid);
        *proc_ours = n > 0 && (self[n] = '\0', strcmp(self, expect) == 0);
        return 0;
}

/* Whether the tree dir_fd was made by an nbnetd of our PID namespace
 * (self's) that is gone: its CGROUP_OWNER_XATTR names our namespace, and
 * its pid is no process now or one that started at another time. A tree
 * without the xattr (an older nbnetd's, or xattrs unsupported), another
 * namespace's, or whatever cannot be read is not. */
static bool cgroup_tree_is_stale(int dir_fd, const struct cgroup_owner *self) {
        struct cgroup_owner owner = {0};
        uint64_t now = 0;
        char value[128];
        ssize_t n;
        int r;

        n = fgetxattr(dir_fd, CGROUP_OWNER_XATTR, value, sizeof value - 1);
        if (n <= 0)
                return false;
        value[n] = '\0';
        if (cgroup_key(value, "pidns", &owner.pidns) < 0 || cgroup_key(value, "pid", &owner.pid) < 0 ||
            cgroup_key(value, "start", &owner.start) < 0 || owner.pid == 0 ||
            owner.pidns != self->pidns)
                return false;
        if (owner.pid == self->pid && owner.start == self->start)
                return false;
        r = cgroup_start_time(owner.pid, &now);
        return r == -ENOENT || (r >= 0 && now != owner.start);
}

/* Whether name is nbnetd.PID, a tree some nbnetd made. */
static bool cgroup_is_base_name(const char *name) {
        if (strncmp(name, "nbnetd.", 7) != 0 || name[7] < '1' || name[7] > '9')
                return false;
        return strspn(name + 7, "0123456789") == strlen(name + 7);
}

static void cgroup_remove_stale(const char *parent, const struct cgroup_owner *self,
                                cgroup_stale_fn report, void *userdata);

/* Root without a delegation: a subtree of our own under our cgroup,
 * nbnetd.PID/, marked with CGROUP_OWNER_XATTR. The trees beside it that an
 * nbnetd of our PID namespace left when it was killed are removed first:
 * one may carry our own PID. */
static int cgroup_make_base(struct cgroup_pool *p, const char *own, cgroup_stale_fn report,
                            void *userdata, char *why, size_t why_size) {
        int n = snprintf(p->base, sizeof p->base, "%s/nbnetd.%ld", own, (long) getpid());
        struct cgroup_owner self = {0};
        bool proc_ours = false, known;
        char value[128];

        if (n < 0 || (size_t) n >= sizeof p->base)
                return -ENAMETOOLONG;
        known = cgroup_self_owner(&self, &proc_ours) >= 0;
        if (known && proc_ours)
                cgroup_remove_stale(own, &self, report, userdata);
        if (mkdir(p->base, 0755) < 0) {
                int r = -errno;
                snprintf(why, why_size, "mkdir %s: %s", p->base, strerror(-r));
                return r;
        }
        p->made_base = true;
        /* Without it (xattrs unsupported), no later nbnetd removes this tree. */
        n = snprintf(value, sizeof value, "pidns %" PRIu64 "\npid %" PRIu64 "\nstart %" PRIu64 "\n",
                     self.pidns, self.pid, self.start);
        if (known && n > 0 && (size_t) n < sizeof value)
                (void) setxattr(p->base, CGROUP_OWNER_XATTR, value, (size_t) n, 0);
        return 0;
}

/* Why the pool's cgroup lacks a controller, and what helps: a parent that
 * has it can delegate it (Delegate=); one that has not cannot, and the
 * option must go. */
static void cgroup_missing_controller(const struct cgroup_pool *p, const char *option,
                                      const char *name, char *why, size_t why_size) {
        char parent[512] = "", padded[sizeof parent + 2], word[32];
        int fd = openat(p->base_fd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        if (fd >= 0) {
                (void) cgroup_read(fd, "cgroup.controllers", parent, sizeof parent);
                (void) close(fd);
        }
        parent[strcspn(parent, "\n")] = '\0';
        snprintf(padded, sizeof padded, " %s ", parent);
        snprintf(word, sizeof word, " %s ", name);
        if (strstr(padded, word))
                snprintf(why, why_size,
                         "%s needs the %s controller, and %s has none: delegate it "
                         "(Delegate=%s in the unit)",
                         option, name, p->base, name);
        else
                snprintf(why, why_size,
                         "%s needs the %s controller, which this host does not offer here "
                         "(neither %s nor its parent has it): drop %s, or enable the "
                         "controller on the host",
                         option, name, p->base, option);
}

/* The controllers that the limits need, enabled for the slots. */
static int cgroup_enable_controllers(struct cgroup_pool *p, char *why, size_t why_size) {
        static const struct {
                const char *name, *option;
                size_t offset;
        } need[] = {
                {"memory", "--limit-memory", offsetof(struct cgroup_limits, memory_max)},
                {"pids", "--limit-tasks", offsetof(struct cgroup_limits, tasks_max)},
        };
        char available[512];
        int r;

        r = cgroup_read(p->base_fd, "cgroup.controllers", available, sizeof available);
        if (r < 0)
                return snprintf(why, why_size, "reading %s/cgroup.controllers: %s", p->base,
                                strerror(-r)),
                       r;
        for (size_t i = 0; i < sizeof need / sizeof need[0]; i++) {
                uint64_t value;
                char word[32];
                memcpy(&value, (const char *) &p->limits + need[i].offset, sizeof value);
                if (value == 0)
                        continue;
                snprintf(word, sizeof word, " %s ", need[i].name);
                available[strcspn(available, "\n")] = '\0';
                char padded[sizeof available + 2];
                snprintf(padded, sizeof padded, " %s ", available);
                if (!strstr(padded, word)) {
                        cgroup_missing_controller(p, need[i].option, need[i].name, why, why_size);
                        return -EOPNOTSUPP;
                }
                snprintf(word, sizeof word, "+%s", need[i].name);
                r = cgroup_write(p->base_fd, "cgroup.subtree_control", word);
                if (r < 0) {
                        snprintf(why, why_size, "%s: enabling %s in %s/cgroup.subtree_control: %s",
                                 need[i].option, need[i].name, p->base, strerror(-r));
                        return -EOPNOTSUPP;
                }
        }
        return 0;
}

int cgroup_pool_init(struct cgroup_pool *p, unsigned max_slots, const struct cgroup_limits *limits,
                     cgroup_stale_fn report, void *userdata, char *why, size_t why_size) {
        char own[2048], path[sizeof p->base];
        const char *mount = cgroup_mount();
        bool delegated;
        int r;

        *p = (struct cgroup_pool){.base_fd = -1, .limits = *limits, .max_slots = max_slots};
        if (!mount)
                return snprintf(why, why_size, "no cgroup2 hierarchy is mounted"), -ENOENT;
        r = cgroup_own_path(own, sizeof own);
        if (r < 0)
                return snprintf(why, why_size, "/proc/self/cgroup: %s", strerror(-r)), r;
        snprintf(path, sizeof path, "%s%s", mount, strcmp(own, "/") == 0 ? "" : own);
        delegated = cgroup_delegated(path);
        if (!delegated && geteuid() != 0)
                return snprintf(why, why_size, "%s is not delegated to nbnetd", path), -EACCES;
        if (delegated)
                snprintf(p->base, sizeof p->base, "%s", path);
        else if ((r = cgroup_make_base(p, path, report, userdata, why, why_size)) < 0)
                return r;
        p->base_fd = open(p->base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (p->base_fd < 0) {
                r = -errno;
                snprintf(why, why_size, "open %s: %s", p->base, strerror(-r));
                cgroup_pool_release(p);
                return r;
        }
        /* The tree we made is held, as long as we live, by a lock on its
         * directory: what tells a later nbnetd that it is in use, from any
         * PID namespace (a PID is not: it may name nothing, or another
         * process, there). */
        if (p->made_base && flock(p->base_fd, LOCK_EX | LOCK_NB) < 0) {
                r = -errno;
                snprintf(why, why_size, "flock %s: %s", p->base, strerror(-r));
                cgroup_pool_release(p);
                return r;
        }
        if (delegated)
                r = cgroup_use_delegated(p, why, why_size);
        if (r >= 0)
                r = cgroup_enable_controllers(p, why, why_size);
        if (r >= 0) {
                p->slots = calloc(max_slots, sizeof *p->slots);
                if (!p->slots)
                        r = -ENOMEM, snprintf(why, why_size, "out of memory");
        }
        if (r < 0)
                cgroup_pool_release(p);
        return r;
}

bool cgroup_pool_on(const struct cgroup_pool *p) {
        return p->base_fd >= 0;
}

static int cgroup_limit(int dir_fd, const char *file, uint64_t value) {
        char text[32] = "";

        if (value == 0)
                return 0;
        snprintf(text, sizeof text, "%" PRIu64, value);
        return cgroup_write(dir_fd, file, text);
}

/* A new slot, cmd-N, with the limits and its descriptors. */
static int cgroup_make_slot(struct cgroup_pool *p, struct cgroup_slot *s, unsigned index) {
        char name[32];
        int dir_fd, r = 0;

        *s = (struct cgroup_slot){
                .base_fd = p->base_fd, .events_fd = -1, .procs_fd = -1, .peak_fd = -1, .index = index};
        snprintf(name, sizeof name, "cmd-%u", index);
        if (mkdirat(p->base_fd, name, 0755) < 0 && errno != EEXIST)
                return -errno;
        dir_fd = openat(p->base_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dir_fd < 0)
                return -errno;
        s->events_fd = openat(dir_fd, "cgroup.events", O_RDONLY | O_CLOEXEC);
        /* Opened once: every command's child joins through it (the kernel
         * checks the opener's rights, ours), no open per spawn. */
        if (s->events_fd >= 0)
                s->procs_fd = openat(dir_fd, "cgroup.procs", O_WRONLY | O_CLOEXEC);
        if (s->events_fd < 0 || s->procs_fd < 0)
                r = -errno;
        if (r >= 0)
                r = cgroup_limit(dir_fd, "memory.max", p->limits.memory_max);
        if (r >= 0)
                r = cgroup_limit(dir_fd, "pids.max", p->limits.tasks_max);
        if (r >= 0 && p->limits.memory_max) {
                /* Writable (Linux 6.12): a write resets the peak for reads on this fd. */
                s->peak_fd = openat(dir_fd, "memory.peak", O_RDWR | O_CLOEXEC);
                if (s->peak_fd < 0)
                        s->peak_fd = openat(dir_fd, "memory.peak", O_RDONLY | O_CLOEXEC);
        }
        (void) close(dir_fd);
        return r;
}

static void cgroup_close_slot(struct cgroup_slot *s) {
        if (s->events_fd >= 0)
                close(s->events_fd);
        if (s->procs_fd >= 0)
                close(s->procs_fd);
        if (s->peak_fd >= 0)
                close(s->peak_fd);
        s->events_fd = s->procs_fd = s->peak_fd = -1;
}

/* The counters a command's figures start from, read again: only for a slot
 * whose leftovers ran on after the command that left them was over. A new or
 * remade slot starts at 0, and one given back empty at the figures its last
 * command ended with (cgroup_cpu_usec, cgroup_oom_killed). */
static void cgroup_reread_bases(struct cgroup_slot *s) {
        char text[1024] = "";

        s->cpu_base = s->oom_base = 0;
        if (cgroup_slot_read(s, "cpu.stat", text, sizeof text) == 0)
                (void) cgroup_key(text, "usage_usec", &s->cpu_base);
        if (s->peak_fd >= 0 && cgroup_slot_read(s, "memory.events", text, sizeof text) == 0)
                (void) cgroup_key(text, "oom_kill", &s->oom_base);
}

/* Removes the cgroup name under parent_fd and every cgroup under it, the
 * deepest first (rmdir refuses a cgroup with children: EBUSY); each must
 * hold no process by then. 0, or -errno (ENOENT is none). */
static int cgroup_remove_tree(int parent_fd, const char *name, unsigned depth) {
        struct dirent *d;
        DIR *dir;
        int fd, r = 0;

        if (depth > CGROUP_NEST_MAX)
                return -ELOOP;
        fd = openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return errno == ENOENT ? 0 : -errno;
        dir = fdopendir(fd);
        if (!dir) {
                r = -errno;
                close(fd);
                return r;
        }
        /* A cgroup's only directories are its child cgroups. */
        while (r == 0 && (errno = 0, d = readdir(dir)))
                if (d->d_type == DT_DIR && strcmp(d->d_name, ".") != 0 && strcmp(d->d_name, "..") != 0)
                        r = cgroup_remove_tree(fd, d->d_name, depth + 1);
        if (r == 0 && errno != 0)
                r = -errno;
        (void) closedir(dir);
        if (r == 0 && unlinkat(parent_fd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
                r = -errno;
        return r;
}

/* Whether the command made cgroups inside its slot: a cgroupfs directory's
 * link count is 2 and one per child cgroup (kernfs counts them). One stat,
 * no file opened. */
static bool cgroup_has_children(const struct cgroup_slot *s) {
        char name[32];
        struct stat st;

        snprintf(name, sizeof name, "cmd-%u", s->index);
        /* Unknown: look, to be sure. */
        return fstatat(s->base_fd, name, &st, 0) < 0 || st.st_nlink != 2;
}

/* A slot to remake, removed once its last process is gone, with any cgroup
 * its command made inside it, and made anew: cgroup.kill leaves a mark on a
 * cgroup (Linux 6.x compares a counter of kills at each fork into it), and a
 * process cloned into it later with CLONE_INTO_CGROUP can be killed at
 * birth; and a command could have changed its slot's own files (its
 * cgroup.subtree_control). 0 when ready. */
static int cgroup_remake_slot(struct cgroup_pool *p, struct cgroup_slot *s) {
        char name[32];

        struct cgroup_slot *next = s->next;
        int r;

        cgroup_close_slot(s);
        snprintf(name, sizeof name, "cmd-%u", s->index);
        r = cgroup_remove_tree(p->base_fd, name, 0);
        if (r < 0)
                return r; /* EBUSY: a process is still there */
        r = cgroup_make_slot(p, s, s->index);
        s->next = next;
        return r;
}

/* Whether a free slot can be taken now: empty, and made anew after a kill. */
static bool cgroup_ready(struct cgroup_pool *p, struct cgroup_slot *s) {
        if (s->dirty && !s->remake) {
                if (cgroup_populated(s) != 0)
                        return false;
                s->remake = cgroup_has_children(s);
                if (!s->remake)
                        cgroup_reread_bases(s);
        }
        if (s->remake) {
                if (cgroup_remake_slot(p, s) < 0) {
                        cgroup_close_slot(s);
                        s->remake = true; /* tried again at the next take */
                        return false;
                }
                return true;
        }
        return true;
}

struct cgroup_slot *cgroup_take(struct cgroup_pool *p) {
        struct cgroup_slot **link = &p->free, *s;
        int r;

        /* A dirty slot is taken once it is empty; one still busy stays back. */
        for (s = p->free; s; link = &s->next, s = s->next)
                if (cgroup_ready(p, s))
                        break;
        if (s) {
                *link = s->next;
                s->dirty = false;
        } else {
                if (p->n_slots == p->max_slots) {
                        errno = EBUSY;
                        return NULL;
                }
                s = &p->slots[p->n_slots];
                r = cgroup_make_slot(p, s, p->n_slots);
                if (r < 0) {
                        cgroup_close_slot(s);
                        errno = -r;
                        return NULL;
                }
                p->n_slots++;
        }
        s->next = NULL;
        /* Writable (Linux 6.12): a write resets the peak for reads on this fd. */
        if (s->peak_fd >= 0)
                (void) !pwrite(s->peak_fd, "0", 1, 0);
        return s;
}

void cgroup_give_back(struct cgroup_pool *p, struct cgroup_slot *s) {
        s->dirty = !s->remake && cgroup_populated(s) != 0;
        /* Empty, but with cgroups the command made: they go with the slot. */
        if (!s->remake && !s->dirty && cgroup_has_children(s))
                s->remake = true;
        /* Made anew now, while nobody waits for it; or at a later take. */
        if (s->remake && cgroup_remake_slot(p, s) < 0) {
                cgroup_close_slot(s);
                s->remake = true;
        }
        s->next = p->free;
        p->free = s;
}

int cgroup_kill(struct cgroup_slot *s) {
        s->remake = true;
        return cgroup_slot_write(s, "cgroup.kill", "1");
}

int cgroup_populated(const struct cgroup_slot *s) {
        return cgroup_events_populated(s->events_fd);
}

int cgroup_cpu_usec(struct cgroup_slot *s, uint64_t *ret) {
        char text[1024] = "";
        uint64_t usage;
        int r = cgroup_slot_read(s, "cpu.stat", text, sizeof text);

        if (r >= 0)
                r = cgroup_key(text, "usage_usec", &usage);
        if (r >= 0) {
                *ret = usage >= s->cpu_base ? usage - s->cpu_base : 0;
                s->cpu_base = usage;
        }
        return r;
}

int cgroup_memory_peak(const struct cgroup_slot *s, uint64_t *ret) {
        char text[64] = "";
        int r;

        if (s->peak_fd < 0)
                return -ENOENT;
        r = cgroup_read_fd(s->peak_fd, text, sizeof text);
        return r < 0 ? r : cgroup_parse_u64(text, ret);
}

bool cgroup_oom_killed(struct cgroup_slot *s) {
        char text[1024] = "";
        uint64_t kills = 0;
        bool killed;

        if (s->peak_fd < 0 || cgroup_slot_read(s, "memory.events", text, sizeof text) < 0 ||
            cgroup_key(text, "oom_kill", &kills) < 0)
                return false;
        killed = kills > s->oom_base;
        s->oom_base = kills;
        return killed;
}

/* A cgroup (dir_fd, its events_fd) that still holds processes, in cgroups
 * of their own inside it too, is killed and given a moment to be empty. */
static void cgroup_empty(int dir_fd, int events_fd) {
        if (events_fd < 0 || cgroup_events_populated(events_fd) == 0)
                return;
        (void) cgroup_write(dir_fd, "cgroup.kill", "1");
        for (int waited = 0; waited < CGROUP_EXIT_WAIT_MS && cgroup_events_populated(events_fd) > 0;
             waited += 100) {
                /* cgroup.events is POLLPRI when "populated" changes. */
                struct pollfd pfd = {.fd = events_fd, .events = POLLPRI};
                (void) poll(&pfd, 1, 100);
        }
}

/* At exit: a slot that still holds processes is killed, and given a moment
 * to be empty. */
static void cgroup_empty_slot(struct cgroup_slot *s) {
        char name[32];
        int dir_fd;

        if (s->events_fd < 0 || cgroup_populated(s) == 0)
                return;
        snprintf(name, sizeof name, "cmd-%u", s->index);
        dir_fd = openat(s->base_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dir_fd < 0)
                return;
        cgroup_empty(dir_fd, s->events_fd);
        (void) close(dir_fd);
}

void cgroup_pool_release(struct cgroup_pool *p) {
        for (unsigned i = 0; p->slots && i < p->n_slots; i++) {
                char name[32];
                cgroup_empty_slot(&p->slots[i]);
                cgroup_close_slot(&p->slots[i]);
                snprintf(name, sizeof name, "cmd-%u", i);
                if (p->base_fd >= 0)
                        (void) cgroup_remove_tree(p->base_fd, name, 0);
        }
        free(p->slots);
        p->slots = NULL;
        p->n_slots = 0;
        p->free = NULL;
        if (p->base_fd >= 0)
                close(p->base_fd);
        p->base_fd = -1;
        if (p->made_base)
                (void) rmdir(p->base);
        p->made_base = false;
}

/* Kills what runs in the tree name under parent_fd, waits for it to be
 * empty, and removes it with every cgroup inside. */
static int cgroup_remove_stale_tree(int parent_fd, const char *name) {
        int dir_fd, events_fd, r;

        dir_fd = openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dir_fd < 0)
                return errno == ENOENT ? 0 : -errno;
        events_fd = openat(dir_fd, "cgroup.events", O_RDONLY | O_CLOEXEC);
        if (events_fd < 0) {
                r = -errno;
                (void) close(dir_fd);
                return r;
        }
        /* cgroup.kill kills the processes of every cgroup inside it too. */
        cgroup_empty(dir_fd, events_fd);
        r = cgroup_events_populated(events_fd) > 0 ? -EBUSY : 0;
        (void) close(events_fd);
        (void) close(dir_fd);
        return r < 0 ? r : cgroup_remove_tree(parent_fd, name, 0);
}

static void cgroup_remove_stale(const char *parent, const struct cgroup_owner *self,
                                cgroup_stale_fn report, void *userdata) {
        char path[PATH_MAX + 1 + NAME_MAX + 1];
        struct dirent *d;
        DIR *dir;
        int fd;

        fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return;
        dir = fdopendir(fd);
        if (!dir) {
                (void) close(fd);
                return;
        }
        while ((d = readdir(dir))) {
                bool stale;
                int tree_fd;
                if (d->d_type != DT_DIR || !cgroup_is_base_name(d->d_name))
                        continue;
                tree_fd = openat(dirfd(dir), d->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (tree_fd < 0)
                        continue;
                /* And not held: a live nbnetd holds a lock on its tree (see
                 * cgroup_pool_init), whatever its xattr says. */
                stale = cgroup_tree_is_stale(tree_fd, self) && flock(tree_fd, LOCK_EX | LOCK_NB) == 0;
                (void) close(tree_fd);
                if (!stale)
                        continue;
                snprintf(path, sizeof path, "%s/%s", parent, d->d_name);
                if (report)
                        report(path, cgroup_remove_stale_tree(dirfd(dir), d->d_name), userdata);
                else
                        (void) cgroup_remove_stale_tree(dirfd(dir), d->d_name);
        }
        (void) closedir(dir);
}
