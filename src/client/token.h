/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The stderr channel's token ('&'), for nbnet and nbnet-load: 16 random
 * bytes from getrandom(2) in lower-case hex, fresh for every request, so
 * that no other client can guess it and pair a channel of its own.
 */

#include "frame.h"

/* A fresh token into token (NUL-terminated). Returns 0 or -errno (getrandom). */
int token_make(char token[static FRAME_TOKEN_HEX + 1]);
