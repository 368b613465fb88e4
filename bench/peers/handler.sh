#!/bin/bash
# A peer's per-connection handler, as a user would write it for inetd, socat,
# ncat or systemd's Accept=yes: the connection (or a pipe to it) on stdin and
# stdout. Reads the 10-digit length and the command, then runs it.
IFS= read -r -N 10 len || exit 1
[[ $len =~ ^[0-9]{10}$ ]] && ((10#$len > 0 && 10#$len <= 65536)) || exit 1
IFS= read -r -N "$((10#$len))" cmd || exit 1
exec /bin/sh -c "$cmd" </dev/null 2>&1
