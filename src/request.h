/* SPDX-License-Identifier: MIT */
#pragma once

/* The client's side of a request (doc/protocol.md): "[+]" 10DIGIT command. */

#include <stdbool.h>
#include <stddef.h>

#define REQUEST_HEADER_MAX (1 + 10)

/* The words joined with single spaces, as ssh joins a remote command, framed;
 * with_status adds the '+'. Returns a malloc'ed request and its size, or NULL
 * with errno: EINVAL for an empty command, E2BIG for one over
 * FRAME_MAX_COMMAND_LIMIT (no server takes it), ENOMEM. */
char *request_build(char *const *words, int count, bool with_status, size_t *ret_size);
