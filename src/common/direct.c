/* SPDX-License-Identifier: MIT */
/* The direct path: plans a line that needs no shell and runs it as dash would. */
#include "direct.h"

#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "child.h"
#include "shsyntax.h"
#include "shenv.h"
#include "status.h"

/* The mini-shell's word when even the shell cannot be exec'd. */
#define DIRECT_NO_SHELL "nbnet: cannot run the command: execve " CHILD_SHELL " failed\n"
#define DIRECT_NOTE_SIGNALS 64 /* signals 1-64 */

struct direct_state {
        char **sh_order; /* the environment as dash exports it, per-command entries included */
        char **envp;     /* sh_order without the per-command entries a command lacks */
        const char *per_command[DIRECT_PER_COMMAND_MAX]; /* the caller's entries in sh_order */
        size_t n_per_command;
        const char *path;      /* PATH's value, which dash searches */
        const char *pwd_value; /* PWD from the environment, or NULL */
        const char *program;   /* the planned program: argv[0] or exe */
        char pwd[PATH_MAX + sizeof "PWD="];
        char exe[PATH_MAX];
        char *words; /* the words of the line, grown as needed */
        char **argv;
        size_t words_size;
        bool cwd_known; /* cwd holds stat("."): the server never chdirs */
        struct stat cwd;
        /* direct_signal_note() of each signal, for the mini-shell. */
        char notes[DIRECT_NOTE_SIGNALS][DIRECT_NOTE_SIZE];
        uint8_t notes_len[DIRECT_NOTE_SIGNALS];
};

/* Whether /bin/sh is the shell whose rules shsyntax.c and shenv.c follow. */
static bool direct_sh_is_dash(void) {
        char *real = realpath(CHILD_SHELL, NULL);
        bool dash;

        if (!real)
                return false;
        dash = strcmp(strrchr(real, '/') ? strrchr(real, '/') + 1 : real, "dash") == 0;
        free(real);
        return dash;
}

/* The environment dash would export, REMOTE_* included: with -EINVAL (an
 * environment dash rewrites, no PATH) the shell runs every command. */
int direct_init(char *const *envp, size_t count, char *const *per_command, size_t n_per_command,
                struct direct_state **ret) {
        struct direct_state *d;
        char **vars;
        int r;

        *ret = NULL;
        if (n_per_command > DIRECT_PER_COMMAND_MAX)
                return -E2BIG;
        if (!direct_sh_is_dash())
                return 0;
        d = calloc(1, sizeof *d);
        if (!d)
                return -ENOMEM;
        vars = calloc(count + n_per_command + 1, sizeof(char *));
        d->sh_order = calloc(count + n_per_command + 2, sizeof(char *));
        d->envp = calloc(count + n_per_command + 2, sizeof(char *));
        if (!vars || !d->sh_order || !d->envp) {
                free(vars);
                direct_release(d);
                return -ENOMEM;
        }
        memcpy(vars, envp, count * sizeof(char *));
        memcpy(vars + count, per_command, n_per_command * sizeof(char *));
        /* The name, for shenv_order(); direct_set_pwd() fills in the value. */
        memcpy(d->pwd, "PWD=", sizeof "PWD=");
        r = shenv_order(vars, d->pwd, d->sh_order, &d->pwd_value);
        free(vars);
        if (r < 0) {
                direct_release(d);
                return r == -EINVAL ? 0 : r;
        }
        memcpy(d->per_command, per_command, n_per_command * sizeof(char *));
        d->n_per_command = n_per_command;
        for (char **e = d->sh_order; *e; e++)
                if (strncmp(*e, "PATH=", 5) == 0)
                        d->path = *e + 5;
        for (int sig = 1; sig <= DIRECT_NOTE_SIGNALS; sig++) {
                siginfo_t si = {.si_code = CLD_KILLED, .si_status = sig};
                d->notes_len[sig - 1] = (uint8_t) direct_signal_note(&si, d->notes[sig - 1]);
        }
        *ret = d;
        return 0;
}

void direct_release(struct direct_state *d) {
        if (!d)
                return;
        free(d->sh_order);
        free(d->envp);
        free(d->words);
        free(d->argv);
        free(d);
}

/* dash's find_command(): the first regular file NAME in a PATH directory (an
 * empty one is "."), whether executable or not; the shell tries that one. */
static bool direct_search_path(struct direct_state *d, const char *name) {
        struct stat st;

        for (const char *dir = d->path;; dir++) {
                size_t len = strcspn(dir, ":");
                int n = len ? snprintf(d->exe, sizeof d->exe, "%.*s/%s", (int) len, dir, name)
                            : snprintf(d->exe, sizeof d->exe, "%s", name);
                if (n > 0 && (size_t) n < sizeof d->exe && stat(d->exe, &st) == 0 &&
                    S_ISREG(st.st_mode))
                        return true;
                dir += len;
                if (*dir == '\0')
                        return false;
        }
}

/* stat(".") once: the working directory is the same inode for as long as
 * the server does not chdir (none does), even if it is renamed or removed. */
static bool direct_cwd_stat(struct direct_state *d, struct stat *st) {
        if (!d->cwd_known) {
                if (stat(".", &d->cwd) < 0)
                        return false;
                d->cwd_known = true;
        }
        *st = d->cwd;
        return true;
}

/* dash's PWD: the environment's when it names ".", else getcwd(). */
static bool direct_set_pwd(struct direct_state *d) {
        const size_t prefix = sizeof "PWD=" - 1;
        struct stat a, b;

        if (d->pwd_value && d->pwd_value[0] == '/' && stat(d->pwd_value, &a) == 0 &&
            direct_cwd_stat(d, &b) && a.st_dev == b.st_dev && a.st_ino == b.st_ino) {
                size_t len = strlen(d->pwd_value);
                if (len >= sizeof d->pwd - prefix)
                        return false;
                memcpy(d->pwd + prefix, d->pwd_value, len + 1);
                return true;
        }
        /* dash warns when getcwd() fails: leave that to it. */
        return getcwd(d->pwd + prefix, sizeof d->pwd - prefix) != NULL;
}

/* Whether entry e of sh_order goes to a command with the per-command entries PRESENT. */
static bool direct_has_entry(const struct direct_state *d, const char *e, unsigned present) {
        for (size_t i = 0; i < d->n_per_command; i++)
                if (e == d->per_command[i])
                        return present & (1u << i);
        return true;
}

bool direct_plan(struct direct_state *d, const char *line, unsigned present) {
        size_t len = strlen(line), k = 0;

        if (!d->path || strchr(d->path, '%'))
                return false;
        if (len + 1 > d->words_size) {
                char *words = realloc(d->words, len + 1);
                if (words)
                        d->words = words;
                char **argv = realloc(d->argv, SHSYNTAX_MAX_ARGV(len) * sizeof(char *));
                if (argv)
                        d->argv = argv;
                if (!words || !argv)
                        return false;
                d->words_size = len + 1;
        }
        if (shsyntax_split(line, d->words, d->argv) == 0)
                return false;
        if (strchr(d->argv[0], '/'))
                d->program = d->argv[0];
        else if (direct_search_path(d, d->argv[0]))
                d->program = d->exe;
        else
                return false; /* the shell says "not found", status 127 */
        if (!direct_set_pwd(d))
                return false;
        for (char **e = d->sh_order; *e; e++)
                if (direct_has_entry(d, *e, present))
                        d->envp[k++] = *e;
        d->envp[k] = NULL;
        return true;
}

/* What the program's child needs, on the mini-shell's stack, which it shares. */
struct direct_job {
        const struct direct_state *d;
        volatile bool exec_failed;
};

/* The mini-shell's child, vfork-like on the mini-shell's memory: the
 * program, or a flag that says the shell must try it its own way. */
CHILD_SIDE static int direct_program(void *arg) {
        struct direct_job *job = arg;
        sigset_t none;

        sigemptyset(&none);
        (void) sigprocmask(SIG_SETMASK, &none, NULL);
        execve(job->d->program, job->d->argv, job->d->envp);
        job->exec_failed = true;
        _exit(127);
}

/* The note for signal SIG: direct_signal_note()'s, made at direct_init()
 * (strsignal() is not for a forked child), with " (core dumped)" before its
 * newline when CORE. */
CHILD_SIDE static size_t direct_note_of(const struct direct_state *d, int sig, bool core,
                                        char note[static DIRECT_NOTE_SIZE]) {
        static const char dumped[] = " (core dumped)\n";
        size_t len;

        if (sig < 1 || sig > DIRECT_NOTE_SIGNALS)
                return 0;
        len = d->notes_len[sig - 1];
        if (len == 0)
                return 0;
        for (size_t i = 0; i < len; i++)
                note[i] = d->notes[sig - 1][i];
        if (core && len - 1 + sizeof dumped - 1 <= DIRECT_NOTE_SIZE) {
                for (size_t i = 0; i < sizeof dumped - 1; i++)
                        note[len - 1 + i] = dumped[i];
                len += sizeof dumped - 2;
        }
        return len;
}

/* What `sh -c LINE` does for a line that is one program, minus its own
 * execve(), in a plain fork of the server (its own copy of our memory: of
 * nbnetd's decoding thread's locks too, held or not) set up like the shell's
 * child: starts the program in a vfork-like child and waits for it, then
 * ends like dash: the program's exit status, or, for a signal N, dash's note
 * on fd 2 and status 128 + N. dash catches SIGINT in -c mode, waits for its
 * child and then dies of it: here SIGINT stays blocked for that wait. A
 * failed execve() (ENOENT, EACCES, ENOEXEC: a script without #!, or no
 * process left for the program) changes nothing yet: the mini-shell execs
 * `/bin/sh -c LINE` itself, which redoes it its own way, with its own
 * message and status. Only system calls: nothing of libc's state (locks,
 * the tid it caches) is to be trusted in a raw clone. */
CHILD_SIDE void direct_run(const struct direct_state *d, char *stack, char *const *sh_argv,
                           char *const *sh_envp) {
        struct direct_job job = {.d = d};
        sigset_t none, intr, pending;
        char note[DIRECT_NOTE_SIZE];
        int status = 0;
        pid_t pid;

        /* /proc/PID/comm as the shell's: "sh". */
        (void) prctl(PR_SET_NAME, "sh", 0, 0, 0);
        sigemptyset(&none);
        sigemptyset(&intr);
        sigaddset(&intr, SIGINT);
        (void) sigprocmask(SIG_SETMASK, &intr, NULL);
        pid = clone(direct_program, stack, CLONE_VM | CLONE_VFORK | SIGCHLD, &job);
        if (pid < 0 || job.exec_failed) {
                while (pid > 0 && waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                        continue;
                (void) sigprocmask(SIG_SETMASK, &none, NULL);
                execve(CHILD_SHELL, sh_argv, sh_envp);
                (void) !write(STDERR_FILENO, DIRECT_NO_SHELL, sizeof DIRECT_NO_SHELL - 1);
                _exit(NBNET_STATUS_NOT_RUN);
        }
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        _exit(NBNET_STATUS_NOT_RUN);
        if (WIFSIGNALED(status)) {
                int sig = WTERMSIG(status);
                size_t len = direct_note_of(d, sig, WCOREDUMP(status), note);
                if (len > 0)
                        (void) !write(STDERR_FILENO, note, len);
                status = 128 + sig;
        } else
                status = WEXITSTATUS(status);
        /* A SIGINT of ours: now it kills us, as it kills dash. */
        if (sigpending(&pending) == 0 && sigismember(&pending, SIGINT))
                (void) sigprocmask(SIG_SETMASK, &none, NULL);
        _exit(status);
}

/* dash's sprint_status(): strsignal() in the C locale (dash sets none),
 * at most 32 bytes of it, " (core dumped)", for all but SIGINT and SIGPIPE. */
size_t direct_signal_note(const siginfo_t *si, char note[static DIRECT_NOTE_SIZE]) {
        int n;

        if ((si->si_code != CLD_KILLED && si->si_code != CLD_DUMPED) || si->si_status == SIGINT ||
            si->si_status == SIGPIPE)
                return 0;
        n = snprintf(note, DIRECT_NOTE_SIZE, "%.32s%s\n", strsignal(si->si_status),
                     si->si_code == CLD_DUMPED ? " (core dumped)" : "");
        return n > 0 && n < DIRECT_NOTE_SIZE ? (size_t) n : 0;
}
