/* SPDX-License-Identifier: MIT */
#pragma once

/* What the code that runs in a spawned child before it execs needs, shared by
 * spawn.c and direct.c and by no one else. */

#define CHILD_SHELL "/bin/sh"

/* The child's functions run on a stack that AddressSanitizer knows nothing
 * of and never return (execve, _exit): no shadow-memory bookkeeping there. */
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CHILD_SIDE __attribute__((no_sanitize("address")))
#endif
#endif
#if !defined(CHILD_SIDE) && defined(__SANITIZE_ADDRESS__)
#define CHILD_SIDE __attribute__((no_sanitize("address")))
#endif
#ifndef CHILD_SIDE
#define CHILD_SIDE
#endif
