/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * A cgroup v2 of its own for each of nbnetd's commands, from a pool (doc/protocol.md,
 * Closing): the command's child writes itself into its slot's cgroup.procs
 * (a descriptor the slot keeps) before it execs, ends with cgroup.kill, is
 * over when cgroup.events says "populated 0", and its CPU time is read from
 * cpu.stat once it is over. Where nbnetd was given a subtree (systemd's Delegate=yes) it
 * moves itself into a leaf, supervisor/, as delegation requires, and makes
 * the slots beside it; as root elsewhere it makes a subtree of its own
 * under its cgroup in the cgroup2 mount. Slots are made when first needed
 * and reused, never made and removed per request. Never logs: errors come
 * back as negative errno values, and why as text.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What each command may use; 0 leaves a limit off. */
struct cgroup_limits {
        uint64_t memory_max; /* bytes: memory.max (the memory controller) */
        uint64_t tasks_max;  /* pids.max (the pids controller) */
};

/* Descriptors a slot keeps open: its cgroup.events and its cgroup.procs.
 * With the memory controller, memory.peak too (CGROUP_SLOT_PEAK_FDS). Its
 * other files, read once a command is over or written when it is killed,
 * are opened then, by name under the pool's directory. */
#define CGROUP_SLOT_FDS 2
#define CGROUP_SLOT_PEAK_FDS 1

struct cgroup_slot {
        int base_fd;       /* the pool's directory (not the slot's), where it is cmd-INDEX */
        int events_fd;     /* its cgroup.events: EPOLLPRI when "populated" changes */
        int procs_fd;      /* its cgroup.procs, for writing: the child joins through it */
        int peak_fd;       /* its memory.peak, reset at each take where the kernel can, or -1 */
        uint64_t cpu_base; /* cpu.stat usage_usec when the last command ended (0 when
                            * made): it accumulates, and an empty slot adds nothing */
        uint64_t oom_base; /* memory.events oom_kill likewise */
        bool dirty;        /* given back while still populated */
        bool remake;       /* killed (cgroup.kill), or holding cgroups its command made:
                            * removed with them and made anew before reuse */
        unsigned index;    /* its name: cmd-INDEX */
        struct cgroup_slot *next;
};

struct cgroup_pool {
        int base_fd;     /* the subtree's directory; -1: no cgroups */
        char base[4096]; /* its path, for messages and removal */
        bool made_base;  /* ours to remove at exit (root, no delegation) */
        struct cgroup_limits limits;
        struct cgroup_slot *slots; /* max_slots of them, made as needed */
        unsigned n_slots, max_slots;
        struct cgroup_slot *free;
};

/* What cgroup_pool_init() found beside its tree: a stale tree's path, and
 * 0 once removed or -errno. */
typedef void (*cgroup_stale_fn)(const char *path, int r, void *userdata);

/* Finds a subtree to use (see above) and prepares room for max_slots
 * commands with limits applied to each. -ENOENT, -EACCES, -EROFS: no cgroup
 * to be had here (why says so), and the pool stays off; -EOPNOTSUPP: a
 * limit was asked that no delegated controller can enforce (why names it).
 * Making its own tree nbnetd.PID/ (root without a delegation), it first
 * removes the trees nbnetd.PID/ beside it that an nbnetd of its PID
 * namespace made and left when it was killed (SIGKILL outside systemd):
 * each tree's xattr trusted.nbnet.owner names the PID namespace, pid and
 * start time of its nbnetd, and a tree is removed only when that namespace
 * is ours and that process is gone (its pid free, or another process's).
 * Their processes are killed (cgroup.kill), then the cgroups removed;
 * report (if not NULL) is told of each. */
int cgroup_pool_init(struct cgroup_pool *p, unsigned max_slots, const struct cgroup_limits *limits,
                     cgroup_stale_fn report, void *userdata, char *why, size_t why_size);

bool cgroup_pool_on(const struct cgroup_pool *p);

/* An empty slot for a command (made now when none is free); NULL with errno. */
struct cgroup_slot *cgroup_take(struct cgroup_pool *p);

/* The command is over; its slot is empty again, or dirty: checked before reuse. */
void cgroup_give_back(struct cgroup_pool *p, struct cgroup_slot *s);

/* SIGKILL to every process of the slot (cgroup.kill). */
int cgroup_kill(struct cgroup_slot *s);

/* 1 while a process is in the slot, 0 once it is empty, or -errno. */
int cgroup_populated(const struct cgroup_slot *s);

/* CPU time of the slot's processes since it was taken, in microseconds: read
 * once the command is over, which makes it the base of the next. */
int cgroup_cpu_usec(struct cgroup_slot *s, uint64_t *ret);

/* The slot's peak memory (memory.peak), with the memory controller; -ENOENT without. */
int cgroup_memory_peak(const struct cgroup_slot *s, uint64_t *ret);

/* Whether the slot's command was killed by the memory limit (memory.events
 * oom_kill): read once the command is over, as cgroup_cpu_usec. */
bool cgroup_oom_killed(struct cgroup_slot *s);

/* Removes the slots (with any cgroup a command made inside its own, its
 * processes killed first) and the subtree nbnetd made, and closes every
 * descriptor. */
void cgroup_pool_release(struct cgroup_pool *p);
