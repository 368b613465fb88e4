/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * A small configuration file read whole (a --commands table, a --config
 * file): a regular file only, never waited on, with a size limit. Never
 * logs, never exits.
 */

#include <stddef.h>

/* Reads path into a malloc'ed, NUL-terminated *ret (its length in *ret_len).
 * -EINVAL: not a regular file (a FIFO, a device, a directory: refused
 * without blocking); -EMEDIUMTYPE: a file of /proc or /sys, whose size says
 * nothing of what reading it gives (/proc/kmsg would wait for the kernel's
 * next message); -EFBIG: larger than max; -EBADMSG: a NUL byte; else -errno. */
int readfile_small(const char *path, size_t max, char **ret, size_t *ret_len);

/* What readfile_small's error means, for a message after the file's name;
 * -EFBIG gives "larger than " and the caller's limit's text. */
const char *readfile_error(int r, const char *limit_text, char *buf, size_t size);

/* s without its leading and trailing white space: the end cut in place. */
char *readfile_trim(char *s);
