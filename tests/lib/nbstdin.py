#!/usr/bin/env python3
"""A raw NBNET/1 client for the '<' flag: it sends a frame with the flags it
is given and the input right behind it (in the same send, so that a server
that reads ahead of the frame would eat it), then streams the rest of the
input while it reads the output, and half-closes at the input's end."""
import argparse
import socket
import struct
import sys
import threading
import time

import nbframe


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("port", type=int)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--flags", default="+<", help="the flags before the digits")
    p.add_argument("-c", "--command", required=True)
    p.add_argument("--input", default="", help="these bytes are the input")
    p.add_argument("--input-file", help="this file is the input (after --input)")
    p.add_argument("--keep-open", type=float, default=0.0, metavar="SEC",
                   help="wait SEC seconds after the input before the half-close")
    p.add_argument("--reset-after", type=float, metavar="SEC",
                   help="reset (SO_LINGER 0) SEC seconds after the input instead of half-closing")
    p.add_argument("--timeout", type=float, default=60.0)
    args = p.parse_args()

    head = nbframe.build(args.command, flags=args.flags) + args.input.encode()
    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    s = socket.create_connection((args.host, args.port), timeout=args.timeout)
    assert s.family == family
    out = sys.stdout.buffer
    result = {"error": None}

    def reader():
        try:
            while True:
                chunk = s.recv(1 << 20)
                if not chunk:
                    return
                out.write(chunk)
        except OSError as e:
            result["error"] = e

    # A daemon: after a reset, its recv() is not woken by our close(), and
    # the process ends without waiting for it.
    t = threading.Thread(target=reader, daemon=True)
    t.start()
    s.sendall(head)
    if args.input_file:
        with open(args.input_file, "rb") as f:
            while True:
                block = f.read(1 << 20)
                if not block:
                    break
                s.sendall(block)
    time.sleep(args.keep_open)
    if args.reset_after is not None:
        time.sleep(args.reset_after)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()
        return 0
    s.shutdown(socket.SHUT_WR)
    t.join(args.timeout)
    out.flush()
    if t.is_alive():
        print("nbstdin: timed out", file=sys.stderr)
        return 4
    if result["error"]:
        print("nbstdin: %s" % result["error"], file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
