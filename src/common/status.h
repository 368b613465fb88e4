/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The NBNET statuses that a server gives itself (doc/protocol.md, the
 * status table), where the command's own status cannot be had. Every other
 * status is the command's, as the shell's $? is.
 */

#define NBNET_STATUS_TIMEOUT 124 /* killed at the command timeout */
#define NBNET_STATUS_NOT_RUN 125 /* could not run: bad request, busy, spawn failed */
#define NBNET_STATUS_REFUSED 126 /* refused by policy */
