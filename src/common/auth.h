/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Who is asking: a MUNGE credential (munge(7)) decoded by the local munged,
 * which vouches for the uid and gid of the process that made it and for its
 * payload. One credential is decoded once: munged refuses it the second time
 * (replay), so nothing may decode it to check and again to log. Each decode
 * is one blocking round trip over munged's Unix socket. Never logs, never
 * exits: what went wrong comes back as text (munge_strerror's and the
 * context's own).
 */

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "userdb.h"

/* How a decode ended. */
enum auth_result {
        AUTH_OK,          /* valid: the ids and the payload are the requester's */
        AUTH_REFUSED,     /* expired, rewound, replayed, invalid: the credential's fault */
        AUTH_UNAVAILABLE, /* munged could not be asked (or answered nonsense): ours */
};

struct auth_credential {
        uid_t uid;
        gid_t gid;
        char *payload; /* malloc'ed and NUL-terminated; NULL when there was none */
        size_t length; /* the payload's bytes, without the terminator */
};

/* A decode's whole outcome, in one piece that can change hands (nbnetd's
 * decoding thread hands it to its loop). */
struct auth_decoded {
        enum auth_result result;
        struct auth_credential cred; /* on AUTH_OK; empty otherwise */
        char reason[128];            /* munge_strerror's text: a short line for the client */
        char detail[512];            /* the context's, which may name the socket: for the log */
        /* The credential's uid on this host: not auth_decode's, which leaves
         * it empty; authq's thread looks it up after a valid decode. */
        struct userdb_user user;
};

/* Decodes cred (munge's text form, "MUNGE:...:") through munged at socket_path
 * (NULL: libmunge's default) into *out, and returns out->result. On AUTH_OK,
 * out->cred's payload is the caller's to free (auth_credential_release). Only
 * libmunge and snprintf: safe on a thread of its own. */
enum auth_result auth_decode(const char *socket_path, const char *cred, struct auth_decoded *out);

/* Encodes payload (length bytes) into a credential of this process's uid and
 * gid; ttl 0 is munged's default. Returns the malloc'ed credential, or NULL
 * with why filled (munged not running, its socket). */
char *auth_encode(const char *socket_path, const void *payload, size_t length, int ttl, char *why,
                  size_t why_size);

void auth_credential_release(struct auth_credential *c);
