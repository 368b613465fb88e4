/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * nbnet's per-user configuration file, read as ssh reads ~/.ssh/config's
 * Host, Port and User: "Host PATTERN..." opens a block that applies to the
 * hosts a pattern matches (shell wildcards * and ?, "!" negates), lines before
 * the first Host apply to every host, and the first value found for a
 * keyword wins. A keyword and its value are separated by spaces or '=';
 * keywords are case-insensitive; '#' starts a comment line. Never logs.
 */

#include <stdbool.h>
#include <stddef.h>

#include "frame.h"

struct config_host {
        char port[6]; /* "" when the file names none */
        char user[FRAME_USER_MAX + 1];
};

/* The file nbnet reads when -F names none: $XDG_CONFIG_HOME/nbnet/config
 * (~/.config/nbnet/config), else ~/.nbnet/config, the first that exists;
 * NULL when neither does (or there is no home). */
const char *config_default_path(char *buf, size_t size);

/* What path says for host. Returns 0, or -errno with a message in why:
 * "PATH:LINE: ..." for a line it cannot take, or the open's or read's error. */
int config_lookup(const char *path, const char *host, struct config_host *ret, char *why,
                  size_t why_size);
