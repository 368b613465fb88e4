#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""An idle-connection attacker: holds N connections to HOST:PORT that never
send a byte, re-opens each one as soon as the server closes it (or it fails),
and exits by itself after --seconds. Prints "opened=N reopened=N" at the end.
Loopback tests only: it is as fast as the server lets it be."""

import argparse
import errno
import selectors
import socket
import sys
import time


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("--connections", type=int, default=2000)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--bind", default=None, help="source address, e.g. 127.0.0.2")
    ap.add_argument("--ready-file", default=None,
                    help="created once every connection has been started")
    args = ap.parse_args()

    sel = selectors.DefaultSelector()
    opened = reopened = 0

    def open_one():
        nonlocal opened
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        if args.bind:
            s.bind((args.bind, 0))
        rc = s.connect_ex((args.host, args.port))
        if rc not in (0, errno.EINPROGRESS):
            s.close()
            return False
        # Readable at EOF, at a reset, or when the connect fails.
        sel.register(s, selectors.EVENT_READ)
        opened += 1
        return True

    end = time.monotonic() + args.seconds
    for _ in range(args.connections):
        if not open_one():
            time.sleep(0.001)
    if args.ready_file:
        open(args.ready_file, "w").close()
    missing = 0
    while time.monotonic() < end:
        for key, _ in sel.select(timeout=0.1):
            s = key.fileobj
            sel.unregister(s)
            s.close()
            missing += 1
        while missing > 0 and time.monotonic() < end:
            if not open_one():
                break
            missing -= 1
            reopened += 1
    for key in list(sel.get_map().values()):
        key.fileobj.close()
    print(f"opened={opened} reopened={reopened}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
