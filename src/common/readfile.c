/* SPDX-License-Identifier: MIT */
/* A small configuration file read whole, never waited on, and its lines trimmed (readfile.h). */
#include "readfile.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

/* /proc and /sys list their files as regular and empty: reading one says
 * something else (or, /proc/kmsg, waits), and is never a configuration. */
static int readfile_check_fs(int fd) {
        struct statfs sfs;

        if (fstatfs(fd, &sfs) < 0)
                return -errno;
        if (sfs.f_type == PROC_SUPER_MAGIC || sfs.f_type == SYSFS_MAGIC)
                return -EMEDIUMTYPE;
        return 0;
}

int readfile_small(const char *path, size_t max, char **ret, size_t *ret_len) {
        struct stat st;
        char *buf = NULL;
        size_t got = 0;
        int fd, r = 0;

        /* O_NONBLOCK: open() of a FIFO with no writer would wait for one, and
         * the server with it; only a regular file gets past fstat(). */
        fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                r = -errno;
        else if (!S_ISREG(st.st_mode))
                r = -EINVAL;
        else
                r = readfile_check_fs(fd);
        if (r == 0 && (uintmax_t) st.st_size > max)
                r = -EFBIG;
        else if (r == 0 && !(buf = malloc((size_t) st.st_size + 1)))
                r = -ENOMEM;
        while (r == 0 && got < (size_t) st.st_size) {
                ssize_t n = read(fd, buf + got, (size_t) st.st_size - got);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        r = -errno;
                else if (n == 0)
                        break; /* shrunk meanwhile: what is there */
                else
                        got += (size_t) n;
        }
        close(fd);
        /* r == 0 means buf was allocated; clang 14's analyzer thinks fstat() or
         * read() may fail with errno 0. */
        /* NOLINTNEXTLINE(clang-analyzer-core.NonNullParamChecker) */
        if (r == 0 && memchr(buf, '\0', got))
                r = -EBADMSG;
        if (r < 0) {
                free(buf);
                return r;
        }
        /* NOLINTNEXTLINE(clang-analyzer-core.NullDereference): as above */
        buf[got] = '\0';
        *ret = buf;
        *ret_len = got;
        return 0;
}

const char *readfile_error(int r, const char *limit_text, char *buf, size_t size) {
        switch (r) {
        case -EINVAL:
                return "not a regular file";
        case -EMEDIUMTYPE:
                return "not a regular file (a file of /proc or /sys)";
        case -EFBIG:
                snprintf(buf, size, "larger than %s", limit_text);
                return buf;
        case -EBADMSG:
                return "contains a NUL byte";
        default:
                return strerror(-r);
        }
}

char *readfile_trim(char *s) {
        char *end;

        while (isspace((unsigned char) *s))
                s++;
        end = s + strlen(s);
        while (end > s && isspace((unsigned char) end[-1]))
                *--end = '\0';
        return s;
}
