/* SPDX-License-Identifier: MIT */
/* The pads spawned children start on, and the watch over them until they start (launchpad.h). */
#include "launchpad.h"

#include <errno.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "rawsys.h"

/* How long a child may be starting before it is looked at (stopped?). */
#define LAUNCHPAD_STOP_CHECK_NSEC 20000000L

static int64_t pads_now_nsec(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static size_t pads_page_size(void) {
        long n = sysconf(_SC_PAGESIZE);

        return n > 0 ? (size_t) n : 4096;
}

static size_t pads_map_size(const struct launchpad *lp) {
        size_t page = pads_page_size();

        return page + LAUNCHPAD_STACK_SIZE + (lp->data_size + page - 1) / page * page;
}

int launchpad_init(struct launchpad *lp, size_t data_size) {
        void *words;
        int r;

        *lp = (struct launchpad){.data_size = data_size};
        /* Ours to put back once no child that switched users shares our mm. */
        lp->dumpable = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
        words = mmap(NULL, LAUNCHPAD_MAX * sizeof *lp->words, PROT_READ | PROT_WRITE,
                     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (words == MAP_FAILED)
                return -errno;
        lp->words = words;
        for (size_t i = 0; i < LAUNCHPAD_MAX; i++)
                lp->pad[i].word = &lp->pad[i].own;
        r = launchpad_expect(lp, LAUNCHPAD_MAX);
        if (r < 0) {
                (void) munmap(lp->words, LAUNCHPAD_MAX * sizeof *lp->words);
                lp->words = NULL;
        }
        return r;
}

int launchpad_expect(struct launchpad *lp, size_t n) {
        struct pad_failure *failed = calloc(n + LAUNCHPAD_MAX, sizeof *failed);

        if (!failed)
                return -ENOMEM;
        /* Called before any start: nothing on the old record. */
        free(lp->failed);
        lp->failed = failed;
        lp->n_slots = n + LAUNCHPAD_MAX;
        lp->n_failed = lp->failed_next = 0;
        return 0;
}

/* The pad's memory: below the stack (which grows down) a page that
 * faults, so that an overflow is a crash, not a write into the data. */
static int pads_map(struct launchpad *lp, struct pad *f) {
        size_t page = pads_page_size(), size = pads_map_size(lp);
        char *map = mmap(NULL, size, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);

        if (map == MAP_FAILED)
                return -errno;
        if (mprotect(map, page, PROT_NONE) < 0) {
                int r = -errno;
                (void) munmap(map, size);
                return r;
        }
        f->map = map;
        f->stack_top = map + page + LAUNCHPAD_STACK_SIZE;
        f->data = f->stack_top;
        return 0;
}

/* FUTEX_WAIT on *word while it is val, at most *ts: 0, -ETIMEDOUT, -EAGAIN,
 * -EINTR. Raw: a CLONE_VM child shares our thread's errno. */
static long pads_futex_wait(pid_t *word, pid_t val, const struct timespec *ts) {
        return rawsys6(SYS_futex, (long) word, FUTEX_WAIT, val, (long) ts, 0, 0);
}

static void pads_free(struct launchpad *lp, struct pad *f) {
        if (f->switches && --lp->switching == 0 && (lp->dumpable == 0 || lp->dumpable == 1))
                /* Its setresuid() made our mm non-dumpable (fs.suid_dumpable 0):
                 * /proc/PID root's, no core dump. No child that switched
                 * shares it now. PR_SET_DUMPABLE takes 0 and 1 only. */
                (void) prctl(PR_SET_DUMPABLE, (unsigned long) lp->dumpable, 0, 0, 0);
        f->pid = 0;
        f->killed = 0;
        f->shares_mm = f->switches = f->collect = false;
}

/* Why f's child did not start, or 0: read once its word is 0, or once it is dead. */
static int pads_outcome(const struct pad *f) {
        if (f->killed)
                return f->killed;
        if (__atomic_load_n(&f->word->pending, __ATOMIC_ACQUIRE) != 0)
                return -ESRCH;
        return f->word->err;
}

/* A failed start, in the first empty slot from the cursor on; with none
 * (more than launchpad_expect said), in the cursor's. */
static void pads_record_failure(struct launchpad *lp, pid_t pid, int err) {
        size_t i = lp->failed_next;

        if (lp->n_slots == 0)
                return; /* launchpad_init made some: never so */
        for (size_t k = 0; k < lp->n_slots && lp->failed[i].pid != 0; k++)
                i = (i + 1) % lp->n_slots;
        if (lp->failed[i].pid == 0)
                lp->n_failed++;
        lp->failed[i] = (struct pad_failure){.pid = pid, .err = err};
        lp->failed_next = (i + 1) % lp->n_slots;
}

/* p's child is done with it: a failed start its caller will collect is kept apart. */
static void pads_settle(struct launchpad *lp, struct pad *f) {
        int r = pads_outcome(f);

        if (r < 0 && f->collect)
                pads_record_failure(lp, f->pid, r);
        pads_free(lp, f);
}

/* A child starting for a while: stopped (SIGSTOP from a process of the
 * command's user, which may signal it once it switched; or traced) is
 * killed at once, one past the deadline whatever its state; a fork dead
 * without a word (or reaped by someone) is done with its pad. Only an
 * unreaped child of ours is signalled: waitid() finds no other. */
static void pads_watch(struct pad *f, int64_t now) {
        siginfo_t si = {0};
        bool found;

        if (now - f->since_nsec < LAUNCHPAD_STOP_CHECK_NSEC)
                return;
        found = waitid(P_PID, (id_t) f->pid, &si, WEXITED | WSTOPPED | WNOHANG | WNOWAIT) == 0;
        if (!found || (si.si_pid != 0 && (si.si_code == CLD_EXITED || si.si_code == CLD_KILLED ||
                                          si.si_code == CLD_DUMPED))) {
                /* A CLONE_VM child's word is 0 before it can be waited for. */
                if (!found || !f->shares_mm) {
                        f->killed = f->killed ? f->killed : -ESRCH;
                        __atomic_store_n(&f->word->pending, 0, __ATOMIC_RELEASE);
                }
                return;
        }
        if (f->killed)
                return;
        if (now - f->since_nsec >= (int64_t) LAUNCHPAD_START_DEADLINE_SEC * 1000000000) {
                (void) kill(f->pid, SIGKILL);
                f->killed = -ETIMEDOUT;
        } else if (si.si_pid != 0 && (si.si_code == CLD_STOPPED || si.si_code == CLD_TRAPPED)) {
                (void) kill(f->pid, SIGKILL);
                f->killed = -ECANCELED;
        }
}

/* Frees every pad whose child is done with it and started (or whose start
 * nobody will collect); watches those still starting. */
static void pads_scan(struct launchpad *lp) {
        int64_t now = 0;

        for (size_t i = 0; i < LAUNCHPAD_MAX; i++) {
                struct pad *f = &lp->pad[i];
                if (f->pid == 0)
                        continue;
                if (__atomic_load_n(&f->word->pending, __ATOMIC_ACQUIRE) == 0) {
                        pads_settle(lp, f);
                        continue;
                }
                if (now == 0)
                        now = pads_now_nsec();
                pads_watch(f, now);
        }
}

/* Waits until f's child is done with its pad, or dead: the kernel clears
 * a CLONE_VM child's word at its exec or death, a fork clears its own, and
 * pads_watch() one that died without. */
static void pads_wait_word(struct pad *f) {
        const struct timespec slice = {0, LAUNCHPAD_STOP_CHECK_NSEC};
        pid_t v;

        while ((v = __atomic_load_n(&f->word->pending, __ATOMIC_ACQUIRE)) != 0)
                if (pads_futex_wait(&f->word->pending, v, &slice) == -ETIMEDOUT)
                        pads_watch(f, pads_now_nsec());
}

bool launchpad_watch(struct launchpad *lp) {
        pads_scan(lp);
        for (size_t i = 0; i < LAUNCHPAD_MAX; i++)
                if (lp->pad[i].pid != 0)
                        return true;
        return false;
}

struct pad *launchpad_take(struct launchpad *lp, bool fork) {
        struct pad *oldest = NULL, *f = NULL;

        pads_scan(lp);
        for (size_t i = 0; i < LAUNCHPAD_MAX && !f; i++)
                if (lp->pad[i].pid == 0)
                        f = &lp->pad[i];
                else if (!oldest || lp->pad[i].since_nsec < oldest->since_nsec)
                        oldest = &lp->pad[i];
        if (!f) {
                /* Every pad busy: the oldest child's start is waited for. */
                pads_wait_word(oldest);
                pads_settle(lp, oldest);
                f = oldest;
        }
        if (!f->map) {
                int r = pads_map(lp, f);
                if (r < 0) {
                        errno = -r;
                        return NULL;
                }
        }
        f->word = fork ? &lp->words[f - lp->pad] : &f->own;
        f->word->err = 0;
        __atomic_store_n(&f->word->pending, 1, __ATOMIC_RELEASE);
        return f;
}

void launchpad_started(struct launchpad *lp, struct pad *f, pid_t pid, bool shares_mm,
                       bool switches, bool collect) {
        if (pid < 0) {
                __atomic_store_n(&f->word->pending, 0, __ATOMIC_RELEASE);
                return;
        }
        f->pid = pid;
        f->since_nsec = pads_now_nsec();
        f->shares_mm = shares_mm;
        f->switches = shares_mm && switches;
        f->collect = collect;
        if (f->switches)
                lp->switching++;
}

int launchpad_wait(struct launchpad *lp, struct pad *f) {
        int r;

        pads_wait_word(f);
        r = pads_outcome(f);
        pads_free(lp, f);
        return r;
}

int launchpad_collect(struct launchpad *lp, int i, pid_t pid) {
        struct pad *f;
        int r;

        if (pid <= 0)
                return 0;
        if (i >= 0 && i < LAUNCHPAD_MAX && lp->pad[i].pid == pid) {
                /* It has exited: a CLONE_VM child's word is 0, a fork's may not be. */
                f = &lp->pad[i];
                r = pads_outcome(f);
                pads_free(lp, f);
                return r;
        }
        /* Its pad was freed: it started, unless it is on the record. */
        for (size_t k = 0; k < lp->n_slots && lp->n_failed > 0; k++)
                if (lp->failed[k].pid == pid) {
                        r = lp->failed[k].err;
                        lp->failed[k] = (struct pad_failure){0};
                        lp->n_failed--;
                        return r;
                }
        return 0;
}

int launchpad_index(const struct launchpad *lp, const struct pad *f) {
        return (int) (f - lp->pad);
}

void launchpad_release(struct launchpad *lp) {
        for (size_t i = 0; i < LAUNCHPAD_MAX; i++) {
                struct pad *f = &lp->pad[i];
                if (f->pid != 0)
                        (void) launchpad_wait(lp, f);
                if (f->map)
                        (void) munmap(f->map, pads_map_size(lp));
                f->map = NULL;
        }
        if (lp->words)
                (void) munmap(lp->words, LAUNCHPAD_MAX * sizeof *lp->words);
        lp->words = NULL;
        free(lp->failed);
        lp->failed = NULL;
        lp->n_slots = lp->n_failed = 0;
}
