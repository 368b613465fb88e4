/* SPDX-License-Identifier: MIT */
/*
 * The spawn limit: what nbnet does per request minus the network. Each worker
 * loops: a socketpair, spawn_command() of COMMAND onto one end (the servers'
 * own routine, src/common/spawn.c: `sh -c COMMAND`, or (direct.c) the program when the
 * line needs no shell, like /bin/true; -S: always the shell, as the servers'
 * --always-shell), close that end, wait on the pidfd, reap. WORKERS processes
 * run at once for SECONDS; prints one JSON object ("direct": how it ran).
 *
 * -P: with what nbnetd promises each command besides, through nbnetd's own
 * code: a TMPDIR of its own (src/server/tmpdir.c: made by the child, removed
 * on a worker thread) and, where the servers can have one, a cgroup of its
 * own (src/server/cgroup.c: a slot the child joins, its cpu.stat read and the
 * slot given back once the command is over). The spawn limit of a server
 * that keeps the same promises, to tell their cost from the server's own.
 *
 *     bench/spawn-limit [-S] [-P] [-w WORKERS] [-d SECONDS] [COMMAND]
 */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cgroup.h"
#include "clock.h"
#include "spawn.h"
#include "tmpdir.h"

extern char **environ;

static double now_s(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* -P: a worker's TMPDIRs and cgroups, kept as nbnetd keeps them. */
struct promises {
        bool on;
        sd_event *event; /* what tmpdir.c's thread could not remove comes back here */
        struct tmpdir_base tmpdirs;
        struct cgroup_pool cgroups; /* off (base_fd -1) where none can be had */
};

static void promises_tmpdir_stays(const char *path, int err) {
        fprintf(stderr, "spawn-limit: %s stays: %s\n", path, strerror(err));
}

static int promises_init(struct promises *p, struct spawn_env *env) {
        char why[256];
        int r;

        r = sd_event_new(&p->event);
        if (r < 0)
                return r;
        r = tmpdir_init(&p->tmpdirs, p->event, env, promises_tmpdir_stays, why, sizeof why);
        if (r < 0) {
                fprintf(stderr, "spawn-limit: TMPDIR: %s\n", why);
                return r;
        }
        if (cgroup_pool_init(&p->cgroups, 1, &(struct cgroup_limits){0}, NULL, NULL, why,
                             sizeof why) < 0)
                fprintf(stderr, "spawn-limit: no cgroup per spawn: %s\n", why);
        p->on = true;
        return 0;
}

static void promises_release(struct promises *p) {
        if (!p->on)
                return;
        cgroup_pool_release(&p->cgroups);
        (void) tmpdir_release(&p->tmpdirs, 5 * USEC_PER_SEC);
        p->event = sd_event_unref(p->event);
}

/* The command is over: what nbnetd does then with its cgroup and TMPDIR. */
static int promises_end(struct promises *p, struct cgroup_slot *slot, const char *tmpdir) {
        uint64_t cpu_usec;

        if (slot) {
                if (cgroup_populated(slot) != 0)
                        return -EBUSY; /* `true` leaves nothing behind */
                (void) cgroup_cpu_usec(slot, &cpu_usec);
                cgroup_give_back(&p->cgroups, slot);
        }
        (void) sd_event_run(p->event, 0);
        return tmpdir_remove(&p->tmpdirs, NULL, tmpdir, slot != NULL);
}

/* One request's worth of work; 0 or a negative errno. */
static int spawn_once(struct spawn_env *env, struct promises *p, const char *command, bool *direct) {
        struct spawn_io io = {.err_fd = -1, .cgroup_procs_fd = -1};
        struct cgroup_slot *slot = NULL;
        char tmpdir[SPAWN_TMPDIR_MAX];
        struct spawn_child child;
        struct pollfd pfd;
        siginfo_t si = {0};
        int sv[2], r;

        if (p->on) {
                r = tmpdir_take(&p->tmpdirs, NULL, tmpdir, sizeof tmpdir, &io.tmpdir_seal);
                if (r < 0)
                        return r;
                io.tmpdir_kept = r > 0;
                io.tmpdir = tmpdir;
                if (cgroup_pool_on(&p->cgroups)) {
                        slot = cgroup_take(&p->cgroups);
                        if (!slot)
                                return -errno;
                        io.cgroup_procs_fd = slot->procs_fd;
                }
        }
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
                return -errno;
        io.conn_fd = sv[0];
        r = spawn_command(env, command, &io, &child);
        (void) close(sv[0]);
        *direct = r >= 0 && child.direct;
        if (r < 0) {
                (void) close(sv[1]);
                return r;
        }
        pfd = (struct pollfd){.fd = child.pidfd, .events = POLLIN};
        while (poll(&pfd, 1, -1) < 0 && errno == EINTR)
                ;
        (void) waitid(P_PID, (id_t) child.pid, &si, WEXITED);
        r = spawn_child_started(env, &child);
        (void) close(child.pidfd);
        (void) close(sv[1]);
        if (r >= 0 && p->on)
                r = promises_end(p, slot, tmpdir);
        if (r < 0)
                return r;
        return si.si_code == CLD_EXITED && si.si_status == 0 ? 0 : -ECHILD;
}

/* The first spawns' times, for the median of one spawn. */
#define MAX_SAMPLES (1 << 16)
static double samples[MAX_SAMPLES];

static int cmp_double(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;

        return x < y ? -1 : x > y;
}

/* Spawns until the deadline; the count, how many ran without the shell and
 * the median microseconds of one spawn go to fd out as text. */
static int worker(const char *command, bool always_shell, bool promised, double deadline, int out) {
        struct promises promises = {0};
        struct spawn_env env;
        uint64_t n = 0, direct = 0;
        bool was_direct = false;
        double t, median = 0;
        char buf[80];
        int r, len;

        /* No change of user: the spawn's own cost, as the servers' without --run-as. */
        r = spawn_env_init(&env, &(struct spawn_login){.user = "bench"}, environ);
        if (r < 0)
                return 1;
        env.always_shell = always_shell;
        if (promised && promises_init(&promises, &env) < 0)
                r = -EIO;
        while (r >= 0 && (t = now_s()) < deadline) {
                r = spawn_once(&env, &promises, command, &was_direct);
                if (r < 0) {
                        fprintf(stderr, "spawn-limit: %s: %s\n", command, strerror(-r));
                        break;
                }
                if (n < MAX_SAMPLES)
                        samples[n] = (now_s() - t) * 1e6;
                n++;
                direct += was_direct;
        }
        /* Its cgroups and TMPDIRs go, whatever happened. */
        promises_release(&promises);
        spawn_env_release(&env);
        if (r < 0)
                return 1;
        if (n > 0) {
                size_t m = n < MAX_SAMPLES ? (size_t) n : MAX_SAMPLES;
                qsort(samples, m, sizeof samples[0], cmp_double);
                median = samples[m / 2];
        }
        len = snprintf(buf, sizeof buf, "%llu %llu %.1f\n", (unsigned long long) n,
                       (unsigned long long) direct, median);
        return write(out, buf, (size_t) len) == len ? 0 : 1;
}

int main(int argc, char **argv) {
        const char *command = "true";
        long workers = 1;
        double seconds = 3, start, elapsed, median;
        uint64_t total = 0, direct = 0;
        bool always_shell = false, promised = false;
        int opt, pipefd[2], failed = 0;
        FILE *in;

        while ((opt = getopt(argc, argv, "SPw:d:")) != -1) {
                switch (opt) {
                case 'S':
                        always_shell = true;
                        break;
                case 'P':
                        promised = true;
                        break;
                case 'w':
                        workers = strtol(optarg, NULL, 10);
                        break;
                case 'd':
                        seconds = strtod(optarg, NULL);
                        break;
                default:
                        fprintf(stderr, "usage: spawn-limit [-S] [-P] [-w WORKERS] [-d SECONDS] "
                                        "[COMMAND]\n");
                        return 2;
                }
        }
        if (optind < argc)
                command = argv[optind];
        if (workers < 1 || workers > 256 || !(seconds > 0 && seconds <= 600)) {
                fprintf(stderr, "spawn-limit: -w must be 1..256 and -d 0..600 seconds\n");
                return 2;
        }
        if (pipe(pipefd) < 0) {
                perror("spawn-limit: pipe");
                return 1;
        }
        start = now_s();
        for (long i = 0; i < workers; i++) {
                pid_t pid = fork();
                if (pid < 0) {
                        perror("spawn-limit: fork");
                        return 1;
                }
                if (pid == 0) {
                        (void) close(pipefd[0]);
                        _exit(worker(command, always_shell, promised, start + seconds, pipefd[1]));
                }
        }
        (void) close(pipefd[1]);
        in = fdopen(pipefd[0], "r");
        if (!in)
                return 1;
        /* The median of one spawn: the workers' medians, averaged. */
        double median_sum = 0;
        long medians = 0;
        for (unsigned long long n, d; fscanf(in, "%llu %llu %lf", &n, &d, &median) == 3; medians++) {
                total += n;
                direct += d;
                median_sum += median;
        }
        (void) fclose(in);
        for (int status; wait(&status) > 0;)
                if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                        failed = 1;
        elapsed = now_s() - start;
        if (failed)
                return 1;
        printf("{\"command\": \"%s%s\", \"direct\": %s, \"workers\": %ld, \"spawns\": %llu, "
               "\"elapsed_s\": %.3f, \"spawns_per_s\": %.1f, \"per_spawn_us\": %.1f, "
               "\"p50_spawn_us\": %.1f}\n",
               direct ? "" : "sh -c ", command, direct ? "true" : "false", workers,
               (unsigned long long) total, elapsed, (double) total / elapsed,
               total ? elapsed * 1e6 * (double) workers / (double) total : 0.0,
               medians ? median_sum / (double) medians : 0.0);
        return 0;
}
