/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The client's side of MUNGE (nbnet --munge, nbnet-load --munge): the command
 * in a fresh credential from the local munged, framed with '@'. A credential
 * is good for one request only (the server's munged refuses a replay), so
 * every request needs its own.
 */

#include <stdbool.h>
#include <stddef.h>

#include "frame.h"

/* Where the clients find munged: NBNET_MUNGE_SOCKET when set, else libmunge's
 * default (NULL). */
const char *credential_socket(void);

/* NBNET_MUNGE=1 in the environment: as --munge (for pdsh -R exec). */
bool credential_wanted(void);

/* The words joined with single spaces (frame_join) in a credential, framed
 * with flags (FRAME_WANT_STATUS, FRAME_STDIN), names (NULL: none) and '@'. Returns the malloc'ed request and its
 * size, or NULL with errno: EINVAL (empty command), E2BIG (too long for any
 * server), ENOMEM, or EACCES when munged gave no credential (why then says
 * why: munged not running, its socket). */
char *credential_request(char *const *words, int count, unsigned flags,
                         const struct frame_names *names, const char *socket_path, size_t *ret_size,
                         char *why, size_t why_size);
