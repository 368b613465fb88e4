/* SPDX-License-Identifier: MIT */
/* Who asks: MUNGE credentials through libmunge (auth.h). */
#include "auth.h"

#include <limits.h>
#include <munge.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The credential's fault, or ours (munged not there, out of memory, a bug). */
static bool auth_error_is_credential(munge_err_t e) {
        switch (e) {
        case EMUNGE_BAD_LENGTH:
        case EMUNGE_BAD_CRED:
        case EMUNGE_BAD_VERSION:
        case EMUNGE_BAD_CIPHER:
        case EMUNGE_BAD_MAC:
        case EMUNGE_BAD_ZIP:
        case EMUNGE_BAD_REALM:
        case EMUNGE_CRED_INVALID:
        case EMUNGE_CRED_EXPIRED:
        case EMUNGE_CRED_REWOUND:
        case EMUNGE_CRED_REPLAYED:
        case EMUNGE_CRED_UNAUTHORIZED:
                return true;
        default:
                return false;
        }
}

/* A context that talks to socket_path; NULL when out of memory or refused. */
static munge_ctx_t auth_context(const char *socket_path, munge_err_t *e) {
        munge_ctx_t ctx = munge_ctx_create();

        *e = EMUNGE_NO_MEMORY;
        if (!ctx)
                return NULL;
        *e = EMUNGE_SUCCESS;
        if (socket_path)
                *e = munge_ctx_set(ctx, MUNGE_OPT_SOCKET, socket_path);
        if (*e != EMUNGE_SUCCESS) {
                munge_ctx_destroy(ctx);
                return NULL;
        }
        return ctx;
}

/* The context's message says more than munge_strerror (which socket, why). */
static void auth_explain(munge_ctx_t ctx, munge_err_t e, char *buf, size_t size) {
        const char *s = ctx ? munge_ctx_strerror(ctx) : NULL;

        snprintf(buf, size, "%s", s ? s : munge_strerror(e));
}

enum auth_result auth_decode(const char *socket_path, const char *cred, struct auth_decoded *out) {
        munge_err_t e;
        munge_ctx_t ctx = auth_context(socket_path, &e);
        void *payload = NULL;
        int length = 0;
        uid_t uid = (uid_t) -1;
        gid_t gid = (gid_t) -1;

        *out = (struct auth_decoded){.result = AUTH_OK};
        if (ctx)
                e = munge_decode(cred, ctx, &payload, &length, &uid, &gid);
        if (e == EMUNGE_SUCCESS && length < 0)
                e = EMUNGE_SNAFU;
        if (e != EMUNGE_SUCCESS) {
                /* Expired, rewound and replayed credentials still come with their payload. */
                free(payload);
                snprintf(out->reason, sizeof out->reason, "%s", munge_strerror(e));
                auth_explain(ctx, e, out->detail, sizeof out->detail);
                if (ctx)
                        munge_ctx_destroy(ctx);
                out->result = auth_error_is_credential(e) ? AUTH_REFUSED : AUTH_UNAVAILABLE;
                return out->result;
        }
        munge_ctx_destroy(ctx);
        /* libmunge NUL-terminates the payload it allocates; NULL when empty. */
        out->cred = (struct auth_credential){
                .uid = uid, .gid = gid, .payload = payload, .length = (size_t) length};
        return AUTH_OK;
}

char *auth_encode(const char *socket_path, const void *payload, size_t length, int ttl, char *why,
                  size_t why_size) {
        munge_err_t e;
        munge_ctx_t ctx = auth_context(socket_path, &e);
        char *cred = NULL;

        if (ctx && ttl != 0)
                e = munge_ctx_set(ctx, MUNGE_OPT_TTL, ttl);
        if (ctx && e == EMUNGE_SUCCESS && length > (size_t) INT_MAX)
                e = EMUNGE_BAD_LENGTH;
        if (ctx && e == EMUNGE_SUCCESS)
                e = munge_encode(&cred, ctx, payload, (int) length);
        if (e != EMUNGE_SUCCESS) {
                auth_explain(ctx, e, why, why_size);
                free(cred);
                cred = NULL;
        }
        if (ctx)
                munge_ctx_destroy(ctx);
        return cred;
}

void auth_credential_release(struct auth_credential *c) {
        free(c->payload);
        *c = (struct auth_credential){0};
}
